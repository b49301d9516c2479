"""Run a trained checkpoint on images: what `workbench predict`, the detection viewer and
label QC call. Outputs are ``core.prediction.Prediction`` in the image's own pixels."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.core.input_range import InputRange
from workbench.core.keypoints import KeypointSchema
from workbench.core.prediction import DEFAULT_CONF as DEFAULT_CONF  # re-exported: kfold
from workbench.core.prediction import Prediction, predict_files
from workbench.qa.qc_reliability import Provenance
from workbench.train.checkpoint import read_checkpoint
from workbench.train.device import resolve_device
from workbench.train.metrics import MAP50
from workbench.train.models import get_spec, set_score_threshold
from workbench.train.weights import model_from_checkpoint


def outputs_to_predictions(output: dict[str, torch.Tensor], label_offset: int, conf: float = 0.0) -> list[Prediction]:
    """One image's torchvision output dict as Predictions (labels back to 0-based class ids).

    Keypoint scores are heatmap logits in torchvision; a sigmoid maps them to 0..1 so they
    can be thresholded like box scores.
    """
    boxes = output["boxes"].detach().float().cpu().numpy()
    scores = output["scores"].detach().float().cpu().numpy()
    labels = output["labels"].detach().cpu().numpy().astype(np.int64) - label_offset
    kps = output.get("keypoints")
    kp_scores = output.get("keypoints_scores")
    kps_np = kps.detach().float().cpu().numpy() if kps is not None else None
    kps_s = torch.sigmoid(kp_scores.detach().float()).cpu().numpy() if kp_scores is not None else None
    out = []
    for i in np.flatnonzero(scores >= conf):
        kp = None
        if kps_np is not None:
            point_scores = kps_s[i] if kps_s is not None else np.ones(len(kps_np[i]))
            kp = np.concatenate([kps_np[i, :, :2], point_scores[:, None]], axis=1)
        out.append(Prediction(int(labels[i]), boxes[i], float(scores[i]), kp))
    return out


class Predictor:
    """A checkpoint ready to predict; loads with ``weights_only=True``.

    ``classes`` and ``keypoints`` (the KeypointSchema, or None) come from the checkpoint,
    so predictions can be named and drawn without the dataset. So does ``input_range``:
    ``predict_paths`` and ``read_input`` map a 16-bit image exactly as training did.
    """

    input_range = InputRange()  # the checkpoint's replaces it; a checkpoint from before maps nothing

    def __init__(self, weights: str | Path, device: str = "auto", conf: float = DEFAULT_CONF) -> None:
        self.checkpoint_path = Path(weights)
        ckpt = read_checkpoint(self.checkpoint_path)
        self.device = resolve_device(device)
        self.model_name: str = ckpt["model_name"]
        self.spec = get_spec(self.model_name)
        self.classes: list[str] = list(ckpt["classes"])
        kp = ckpt.get("keypoints")
        self.keypoints: KeypointSchema | None = KeypointSchema.from_dict(kp) if kp else None
        self.imgsz: int = int(ckpt.get("imgsz", 640))
        self.input_range = InputRange.from_dict(ckpt.get("input_range"))
        self.conf = conf
        self.model = model_from_checkpoint(ckpt).to(self.device).eval()
        self.failed: dict[Path, str] = {}
        self.provenance = provenance_of(ckpt)
        del ckpt

    def _tensor(self, image_bgr: np.ndarray) -> torch.Tensor:
        rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
        return torch.from_numpy(rgb).to(self.device).permute(2, 0, 1).float().div_(255.0)

    @torch.inference_mode()
    def predict_batch(self, images_bgr: list[np.ndarray], conf: float | None = None) -> list[list[Prediction]]:
        conf = self.conf if conf is None else conf
        set_score_threshold(self.model, conf)  # the model drops the rest before NMS: faster
        outputs = self.model([self._tensor(im) for im in images_bgr])
        return [outputs_to_predictions(o, self.spec.label_offset, conf) for o in outputs]

    def predict(self, image_bgr: np.ndarray, conf: float | None = None) -> list[Prediction]:
        """Detections on one BGR model input (``read_input``'s, or an 8-bit image as OpenCV
        decodes it), best first."""
        return self.predict_batch([image_bgr], conf)[0]

    def read_input(self, path: str | Path) -> np.ndarray:
        """An image file as this model's input: 8-bit BGR through the checkpoint's input range."""
        return self.input_range.read(path)

    def predict_paths(
        self,
        paths: Iterable[str | Path],
        batch_size: int = 4,
        progress: Callable[[int, int], Any] | None = None,
        conf: float | None = None,
    ) -> dict[Path, list[Prediction]]:
        """Predictions per image file; ``progress(done, total)`` after each batch.

        An image that cannot be decoded gets no entry; ``failed`` maps it to the reason.
        """
        out, self.failed = predict_files(
            paths, self.read_input, lambda images: self.predict_batch(images, conf), batch_size, progress
        )
        return out


def provenance_of(ckpt: dict[str, Any]) -> Provenance:
    """What a checkpoint's model learned from, for label QC's in-sample marks and reliability."""
    cfg = ckpt.get("config") or {}
    trained = ckpt.get("trained_on")
    val = (ckpt.get("metrics") or {}).get(MAP50)
    return Provenance(
        frozenset(str(p) for p in trained) if isinstance(trained, list) and trained else None,
        str(cfg.get("train_split") or "train"),
        float(val) if isinstance(val, (int, float)) else None,
    )

"""An exported model run with onnxruntime: the same ``predict_paths`` as ``train.predictor.Predictor``.

No torch here, not even indirectly: ``workbench predict MODEL.onnx`` and the detection
viewer run an exported model on a machine that has onnxruntime only. Class names,
keypoint schema and the input convention come from the file's metadata
(``runtime.onnx_meta``); the image is prepared exactly as the exporter's verification
prepared it, so what was verified is what runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from workbench.core.image_io import read_image
from workbench.core.keypoints import KeypointSchema
from workbench.core.prediction import DEFAULT_CONF, Prediction, predict_files
from workbench.qa.qc_reliability import Provenance
from workbench.runtime.onnx_meta import LETTERBOX, NATIVE, InputSpec, OnnxMeta, OnnxModelError

ONNX_SUFFIX = ".onnx"


def is_onnx_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() == ONNX_SUFFIX


def prepare_image(image_bgr: np.ndarray, spec: InputSpec) -> tuple[np.ndarray, float, float]:
    """The model input for one BGR image, and the x/y factors from image pixels to input pixels.

    A fixed-size input gets the image scaled (longer side to the input size, as the PyTorch
    model's own transform scales it) and padded right and bottom with the normalization mean,
    which the graph turns into the 0 the PyTorch model pads with; SSDlite's is stretched, as
    its transform does. Resizing is done in float32, so no uint8 rounding sits between the
    two paths.
    """
    rgb = np.ascontiguousarray(image_bgr[:, :, ::-1]).astype(np.float32) / np.float32(255.0)
    h, w = rgb.shape[:2]
    if spec.resize == NATIVE or spec.size is None:
        return np.ascontiguousarray(rgb.transpose(2, 0, 1)), 1.0, 1.0
    th, tw = spec.size
    if spec.resize == LETTERBOX:
        s = min(th / h, tw / w)
        nh, nw = max(1, min(th, int(h * s))), max(1, min(tw, int(w * s)))
    else:
        nh, nw = th, tw
    resized = rgb if (nh, nw) == (h, w) else cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_LINEAR)
    canvas = np.empty((th, tw, 3), dtype=np.float32)
    canvas[:] = np.asarray(spec.pad, dtype=np.float32)
    canvas[:nh, :nw] = resized
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)), nw / w, nh / h


def outputs_to_predictions(
    outputs: dict[str, np.ndarray],
    label_offset: int,
    conf: float,
    scale: tuple[float, float] = (1.0, 1.0),
    image_size: tuple[int, int] | None = None,
) -> list[Prediction]:
    """One image's graph outputs as Predictions in the image's own pixels.

    As ``train.predictor.outputs_to_predictions``: labels back to 0-based ids, keypoint
    heatmap logits through a sigmoid. ``scale`` undoes ``prepare_image``; ``image_size``
    (h, w) clips boxes that reached into the letterbox padding.
    """
    sx, sy = scale
    boxes = np.asarray(outputs["boxes"], dtype=np.float64).reshape(-1, 4) / np.array([sx, sy, sx, sy])
    if image_size is not None:
        h, w = image_size
        boxes = np.clip(boxes, 0.0, np.array([w, h, w, h], dtype=np.float64))
    scores = np.asarray(outputs["scores"], dtype=np.float64).reshape(-1)
    labels = np.asarray(outputs["labels"]).reshape(-1).astype(np.int64) - label_offset
    kps = outputs.get("keypoints")
    kp_scores = outputs.get("keypoints_scores")
    if kps is not None:
        kps = np.asarray(kps, dtype=np.float64).copy()
        kps[..., 0] /= sx
        kps[..., 1] /= sy
    kps_s = None if kp_scores is None else 1.0 / (1.0 + np.exp(-np.asarray(kp_scores, dtype=np.float64)))
    out = []
    for i in np.flatnonzero(scores >= conf):
        kp = None
        if kps is not None:
            point_scores = kps_s[i] if kps_s is not None else np.ones(len(kps[i]))
            kp = np.concatenate([kps[i, :, :2], point_scores[:, None]], axis=1)
        out.append(Prediction(int(labels[i]), boxes[i], float(scores[i]), kp))
    return out


def providers_for(device: str) -> tuple[list[str], list[dict[str, Any]]]:
    """onnxruntime execution providers for ``--device`` (auto, cpu, cuda, cuda:N)."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device in ("auto", ""):
        names = [p for p in ("CUDAExecutionProvider", "CPUExecutionProvider") if p in available]
        return names, [{} for _ in names]
    if device == "cpu":
        return ["CPUExecutionProvider"], [{}]
    if device.startswith("cuda"):
        if "CUDAExecutionProvider" not in available:
            raise OnnxModelError(
                f"--device {device}: this onnxruntime has no CUDA provider (it has {', '.join(available)}); "
                "install onnxruntime-gpu, or use --device cpu"
            )
        index = device.partition(":")[2] or "0"
        if not index.isdigit():
            raise OnnxModelError(f"--device {device}: expected cuda or cuda:N")
        return ["CUDAExecutionProvider", "CPUExecutionProvider"], [{"device_id": int(index)}, {}]
    raise OnnxModelError(f"--device {device}: expected auto, cpu, cuda or cuda:N")


def open_session(path: str | Path, device: str = "cpu") -> Any:
    """An onnxruntime session, or OnnxModelError naming the file (not onnxruntime's own exception)."""
    try:
        import onnxruntime as ort
    except ImportError:
        raise OnnxModelError(f"{path}: running an ONNX model needs onnxruntime: pip install -e '.[export]'") from None
    p = Path(path)
    if not p.is_file():
        raise OnnxModelError(f"{p}: no such ONNX model file")
    names, options = providers_for(device)
    so = ort.SessionOptions()
    so.log_severity_level = 3  # onnxruntime's own warnings about unused initializers are not the user's business
    try:
        return ort.InferenceSession(str(p), sess_options=so, providers=names, provider_options=options)
    except Exception as e:  # onnxruntime raises its own classes (InvalidProtobuf, Fail, ...)
        first = (str(e).strip().splitlines() or [e.__class__.__name__])[0]
        raise OnnxModelError(f"{p}: not a readable ONNX model ({first[:300]})") from None


class OnnxPredictor:
    """An exported model ready to predict; ``classes``, ``keypoints`` and ``imgsz`` from its metadata."""

    def __init__(self, weights: str | Path, device: str = "auto", conf: float = DEFAULT_CONF) -> None:
        self.checkpoint_path = Path(weights)
        self.session = open_session(self.checkpoint_path, device)
        props = dict(self.session.get_modelmeta().custom_metadata_map)
        self.meta = OnnxMeta.from_props(props, str(self.checkpoint_path))
        inputs = [i.name for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        missing = [n for n in ("boxes", "labels", "scores") if n not in outputs]
        if inputs != [self.meta.input.name] or missing:
            raise OnnxModelError(
                f"{self.checkpoint_path}: the graph's inputs {inputs} / outputs {outputs} are not the ones its "
                f"metadata describes (input '{self.meta.input.name}', outputs boxes, labels, scores); export it again"
            )
        self.output_names = outputs
        self.model_name = self.meta.model_name
        self.classes: list[str] = list(self.meta.classes)
        self.keypoints: KeypointSchema | None = self.meta.keypoints
        self.imgsz = self.meta.imgsz
        self.conf = conf
        self.device = device
        self.failed: dict[Path, str] = {}
        val = self.meta.metrics.get("mAP50")  # train.metrics.MAP50, as provenance_of reads it
        self.provenance = Provenance(None, "train", val)

    def raw_outputs(self, tensor: np.ndarray) -> dict[str, np.ndarray]:
        """The graph's outputs by name for one prepared CHW input."""
        values = self.session.run(self.output_names, {self.meta.input.name: tensor})
        return dict(zip(self.output_names, values, strict=True))

    def predict(self, image_bgr: np.ndarray, conf: float | None = None) -> list[Prediction]:
        """Detections on one BGR image (as OpenCV decodes it), best first.

        Nothing below the threshold baked into the graph at export comes out, whatever ``conf`` says.
        """
        conf = self.conf if conf is None else conf
        tensor, sx, sy = prepare_image(image_bgr, self.meta.input)
        outputs = self.raw_outputs(tensor)
        return outputs_to_predictions(outputs, self.meta.label_offset, conf, (sx, sy), image_bgr.shape[:2])

    def predict_batch(self, images_bgr: list[np.ndarray], conf: float | None = None) -> list[list[Prediction]]:
        """One image at a time: the exported graph takes a single image."""
        return [self.predict(im, conf) for im in images_bgr]

    def predict_paths(
        self,
        paths: Iterable[str | Path],
        batch_size: int = 4,
        progress: Callable[[int, int], Any] | None = None,
        conf: float | None = None,
    ) -> dict[Path, list[Prediction]]:
        """Predictions per image file; ``progress(done, total)`` after each ``batch_size`` images.

        An image that cannot be decoded gets no entry; ``failed`` maps it to the reason.
        """
        out, self.failed = predict_files(
            paths, read_image, lambda images: self.predict_batch(images, conf), batch_size, progress
        )
        return out

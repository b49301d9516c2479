"""What a model says about one image, in the same coordinates as the labels.

The engine produces these, the detection viewer draws them and label QC compares
them with the ground truth, so all three agree on one plain shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# Low on purpose: viewers threshold interactively, QC wants the weak ones. Shared by the torch
# predictor and the onnxruntime one, so an exported model keeps the same weak detections.
DEFAULT_CONF = 0.01


@dataclass
class Prediction:
    """One detection: float pixel ``xyxy`` box, contiguous class id, score in 0..1.

    ``keypoints`` is ``(K, 3)``: x, y and the model's per-point score (not a 0/1/2
    visibility) so a viewer can threshold points as it thresholds boxes.
    """

    class_id: int
    box: np.ndarray
    score: float
    keypoints: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.box = np.asarray(self.box, dtype=np.float64).reshape(4)
        if self.keypoints is not None:
            self.keypoints = np.asarray(self.keypoints, dtype=np.float64).reshape(-1, 3)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "class_id": int(self.class_id),
            "box": [float(v) for v in self.box],
            "score": float(self.score),
        }
        if self.keypoints is not None:
            d["keypoints"] = [[float(v) for v in kp] for kp in self.keypoints]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Prediction:
        kps = d.get("keypoints")
        return cls(
            int(d["class_id"]), np.asarray(d["box"]), float(d["score"]), None if kps is None else np.asarray(kps)
        )


def predict_files(
    paths: Iterable[str | Path],
    read: Callable[[Path], np.ndarray],
    predict_batch: Callable[[list[np.ndarray]], list[list[Prediction]]],
    batch_size: int = 4,
    progress: Callable[[int, int], Any] | None = None,
) -> tuple[dict[Path, list[Prediction]], dict[Path, str]]:
    """The loop every predictor runs over image files: (predictions per file, unreadable files with why).

    ``read`` turns a file into the model's input, raising ``ImageReadError`` for one it
    cannot decode (that file gets no entry, and its reason goes to the failures);
    ``predict_batch`` runs up to ``batch_size`` inputs at once; ``progress(done, total)``
    follows each batch. The PyTorch and the ONNX predictor differ only in those two functions.
    """
    from workbench.core.image_io import ImageReadError

    files = [Path(p) for p in paths]
    step = max(1, batch_size)
    out: dict[Path, list[Prediction]] = {}
    failed: dict[Path, str] = {}
    for start in range(0, len(files), step):
        chunk, images = [], []
        for p in files[start : start + step]:
            try:
                images.append(read(p))
                chunk.append(p)
            except ImageReadError as e:
                failed[p] = str(e)
        if images:
            out.update(zip(chunk, predict_batch(images), strict=True))
        if progress is not None:
            progress(min(start + step, len(files)), len(files))
    return out, failed

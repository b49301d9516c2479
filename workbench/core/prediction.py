"""What a model says about one image, in the same coordinates as the labels.

The engine produces these, the detection viewer draws them and label QC compares
them with the ground truth, so all three agree on one plain shape.
"""

from __future__ import annotations

from dataclasses import dataclass
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

"""Rendered detections for `workbench predict --save-images`: class-colored boxes, label
and score, keypoints colored per index with the skeleton. Colors come from
``core.palette`` so an overlay matches the GUI."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from workbench.core.keypoints import KeypointSchema
from workbench.core.palette import class_color, keypoint_color
from workbench.core.prediction import Prediction


def _bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return rgb[2], rgb[1], rgb[0]


def draw_predictions(
    image_bgr: np.ndarray,
    predictions: Sequence[Prediction],
    classes: Sequence[str],
    schema: KeypointSchema | None = None,
    keypoint_conf: float = 0.5,
) -> np.ndarray:
    """A copy of ``image_bgr`` with the predictions drawn (lowest score first, best on top)."""
    out = image_bgr.copy()
    scale = max(out.shape[:2]) / 640.0
    thick = max(1, int(round(2 * scale)))
    font = 0.4 * max(scale, 0.75)
    for p in sorted(predictions, key=lambda q: q.score):
        color = _bgr(class_color(p.class_id))
        x1, y1, x2, y2 = (int(round(v)) for v in p.box)
        cv2.rectangle(out, (x1, y1), (x2, y2), color, thick, cv2.LINE_AA)
        name = classes[p.class_id] if 0 <= p.class_id < len(classes) else str(p.class_id)
        text = f"{name} {p.score:.2f}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font, 1)
        ty = y1 - 2 if y1 - th - base - 2 >= 0 else y1 + th + base + 2
        cv2.rectangle(out, (x1, ty - th - base), (x1 + tw + 2, ty + 1), color, -1)
        cv2.putText(out, text, (x1 + 1, ty - base + 1), cv2.FONT_HERSHEY_SIMPLEX, font, (0, 0, 0), 1, cv2.LINE_AA)
        if p.keypoints is not None:
            _draw_keypoints(out, p.keypoints, schema, keypoint_conf, thick)
    return out


def _draw_keypoints(out: np.ndarray, kps: np.ndarray, schema: KeypointSchema | None, conf: float, thick: int) -> None:
    shown = kps[:, 2] >= conf
    if schema is not None:
        for a, b in schema.skeleton:
            if a < len(kps) and b < len(kps) and shown[a] and shown[b]:
                pa = (int(round(kps[a, 0])), int(round(kps[a, 1])))
                pb = (int(round(kps[b, 0])), int(round(kps[b, 1])))
                cv2.line(out, pa, pb, _bgr(keypoint_color(a)), thick, cv2.LINE_AA)
    radius = max(2, thick + 1)
    for i, (x, y, _) in enumerate(kps):
        if shown[i]:
            cv2.circle(out, (int(round(x)), int(round(y))), radius, _bgr(keypoint_color(i)), -1, cv2.LINE_AA)

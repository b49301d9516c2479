"""Score threshold and class-wise non-maximum suppression over cached predictions, in numpy.

The detection viewer runs a model once at a low confidence and keeps everything it
said; moving the score or the NMS slider then only filters that list again, which
takes microseconds, instead of re-running the network. torchvision's ``batched_nms``
would do the same but lives in the torch layer the ``qa`` layer must not import.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.core.prediction import Prediction
from workbench.qa.qc_geometry import box_iou


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices of the boxes kept by greedy NMS, best score first.

    A box is dropped when it overlaps an already kept, higher-scoring box by more than
    ``iou``; ``iou >= 1`` keeps everything (NMS off).
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind="stable")
    if iou >= 1.0 or len(order) < 2:
        return order
    overlaps = box_iou(boxes[order], boxes[order])
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(order[i])
        suppressed |= overlaps[i] > iou
    return np.asarray(keep, dtype=np.int64)


def classwise_nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float) -> np.ndarray:
    """NMS within each class (a face and a robot may overlap); kept indices, best score first."""
    classes = np.asarray(classes).reshape(-1)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    kept = [
        np.flatnonzero(classes == c)[nms(np.asarray(boxes)[classes == c], scores[classes == c], iou)]
        for c in np.unique(classes)
    ]
    if not kept:
        return np.zeros(0, dtype=np.int64)
    idx = np.concatenate(kept)
    return idx[np.argsort(-scores[idx], kind="stable")]


def filter_predictions(preds: Sequence[Prediction], score: float, iou: float = 1.0) -> list[Prediction]:
    """The predictions at or above ``score`` that survive class-wise NMS at ``iou``, best first."""
    above = [p for p in preds if p.score >= score]
    if not above:
        return []
    boxes = np.stack([p.box for p in above])
    scores = np.array([p.score for p in above])
    classes = np.array([p.class_id for p in above])
    return [above[i] for i in classwise_nms(boxes, scores, classes, iou)]

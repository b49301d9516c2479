"""Box overlap and keypoint similarity, in numpy, for comparing labels with predictions.

Label QC lives in the Qt-free, torch-free ``qa`` layer, so it cannot borrow
``torchvision.ops.box_iou``; these are the two measures it needs, in the same
conventions as the rest of the program (pixel ``xyxy`` boxes, ``(K, 3)`` keypoints).
"""

from __future__ import annotations

import numpy as np

# COCO scores keypoints against the object's segment area; with only a box, Ultralytics
# takes this fraction of the box area as the segment area, and so do we.
BOX_TO_SEGMENT_AREA = 0.53


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (N, 4) with every box in ``b`` (M, 4): (N, M).

    Boxes with no area overlap nothing (IoU 0) instead of dividing by zero. Computed in
    blocks of rows, so the temporaries stay near ``_BLOCK`` pairs whatever N and M are
    (100k labels against 300 predictions: the 240 MB answer, not 2 GB of scratch).
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    rows = max(1, _BLOCK // max(len(b), 1))
    if len(a) <= rows:
        return _box_iou_block(a, b)
    out = np.empty((len(a), len(b)))
    for start in range(0, len(a), rows):
        out[start : start + rows] = _box_iou_block(a[start : start + rows], b)
    return out


_BLOCK = 1 << 20  # box pairs per block of box_iou


def _box_iou_block(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = np.clip(rb - lt, 0, None)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def keypoint_similarity(
    gt_xy: np.ndarray, pred_xy: np.ndarray, box: np.ndarray, sigmas: np.ndarray, tolerance: float = 1.0
) -> np.ndarray:
    """Per-point OKS term ``exp(-d^2 / (2 s^2 (2 sigma)^2))`` for matching rows of two (K, 2) arrays.

    ``s^2`` is the object's area estimated from its box; ``tolerance`` widens every
    sigma, because the question here is not "how precise is the model" but "is this
    label further off than the model's own imprecision could explain".
    """
    w = max(float(box[2] - box[0]), 1.0)
    h = max(float(box[3] - box[1]), 1.0)
    area = w * h * BOX_TO_SEGMENT_AREA
    d2 = np.sum((np.asarray(gt_xy, dtype=np.float64) - np.asarray(pred_xy, dtype=np.float64)) ** 2, axis=-1)
    k2 = (2.0 * np.asarray(sigmas, dtype=np.float64) * tolerance) ** 2
    return np.exp(-d2 / (2.0 * area * k2))

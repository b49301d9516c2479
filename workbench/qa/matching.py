"""Which predictions found a labeled object (TP), which did not (FP), which labels were missed (FN).

The detection viewer colors an image's predictions and labels by this, the way a
COCO evaluation counts them at one IoU threshold: predictions are taken best score
first and each claims the unclaimed label of its class it overlaps most, if that
overlap reaches ``iou``. Label QC asks a different question (which labels look
wrong) and matches differently, so this stays its own small module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from workbench.core.annotation import Instance
from workbench.core.prediction import Prediction
from workbench.qa.qc_geometry import box_iou


@dataclass
class MatchResult:
    """``pred_gt[i]``: the label index prediction i matched, or -1 (a false positive).

    ``gt_pred[j]``: the prediction index that matched label j, or -1 (a false negative).
    """

    pred_gt: np.ndarray
    gt_pred: np.ndarray

    @property
    def tp(self) -> int:
        return int((self.pred_gt >= 0).sum())

    @property
    def fp(self) -> int:
        return int((self.pred_gt < 0).sum())

    @property
    def fn(self) -> int:
        return int((self.gt_pred < 0).sum())

    def pred_status(self, i: int) -> str:
        return "tp" if self.pred_gt[i] >= 0 else "fp"


def match(
    gt_boxes: np.ndarray,
    gt_classes: np.ndarray,
    pred_boxes: np.ndarray,
    pred_classes: np.ndarray,
    pred_scores: np.ndarray,
    iou: float = 0.5,
) -> MatchResult:
    """Greedy one-to-one matching of predictions to labels of the same class (see the module doc)."""
    gt_boxes = np.asarray(gt_boxes, dtype=np.float64).reshape(-1, 4)
    pred_boxes = np.asarray(pred_boxes, dtype=np.float64).reshape(-1, 4)
    gt_classes = np.asarray(gt_classes).reshape(-1)
    pred_classes = np.asarray(pred_classes).reshape(-1)
    pred_gt = np.full(len(pred_boxes), -1, dtype=np.int64)
    gt_pred = np.full(len(gt_boxes), -1, dtype=np.int64)
    if len(pred_boxes) == 0 or len(gt_boxes) == 0:
        return MatchResult(pred_gt, gt_pred)
    overlaps = box_iou(pred_boxes, gt_boxes)
    overlaps[pred_classes[:, None] != gt_classes[None, :]] = -1.0
    for i in np.argsort(-np.asarray(pred_scores, dtype=np.float64), kind="stable"):
        row = np.where(gt_pred < 0, overlaps[i], -1.0)
        j = int(np.argmax(row))
        if row[j] >= iou:
            pred_gt[i], gt_pred[j] = j, i
    return MatchResult(pred_gt, gt_pred)


def match_instances(instances: Sequence[Instance], preds: Sequence[Prediction], iou: float = 0.5) -> MatchResult:
    """:func:`match` for an image's labels and a model's predictions on it."""
    return match(
        np.array([inst.box for inst in instances]).reshape(-1, 4),
        np.array([inst.class_id for inst in instances], dtype=np.int64),
        np.array([p.box for p in preds]).reshape(-1, 4),
        np.array([p.class_id for p in preds], dtype=np.int64),
        np.array([p.score for p in preds], dtype=np.float64),
        iou,
    )


def unlabeled(instances: Sequence[Instance], preds: Sequence[Prediction], iou: float = 0.5) -> list[int]:
    """Indices of the predictions (taken in order, best first) that overlap no label of any class
    and no prediction picked before them by ``iou``: the new objects to accept, once each."""
    taken = [np.asarray(inst.box, dtype=np.float64) for inst in instances]
    out = []
    for i, p in enumerate(preds):
        if taken and box_iou(p.box, np.array(taken)).max() >= iou:
            continue
        out.append(i)
        taken.append(np.asarray(p.box, dtype=np.float64))
    return out

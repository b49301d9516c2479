"""Model-assisted labeling: a prediction becomes a label through an undoable edit.

A predicted keypoint becomes a visible label point when the model is confident of it,
and a missing one otherwise (missing everywhere: 0, 0, 0), so an accepted label never
claims a point the model was guessing. Boxes are clipped to the image.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.core.arrays import clip_box
from workbench.core.prediction import Prediction
from workbench.gui.commands import EditNotifier, InstancesEdit

KEYPOINT_ACCEPT_SCORE = 0.5


def prediction_to_instance(
    pred: Prediction, ds: Dataset, rec: ImageRecord, keypoint_score: float = KEYPOINT_ACCEPT_SCORE
) -> Instance:
    box = clip_box(pred.box, rec.width, rec.height)
    kps = None
    if ds.keypoints is not None and pred.keypoints is not None and len(pred.keypoints) == ds.keypoints.num_keypoints:
        kps = np.zeros((len(pred.keypoints), 3))
        sure = pred.keypoints[:, 2] >= keypoint_score
        kps[sure, :2] = pred.keypoints[sure, :2]
        kps[sure, 2] = 2.0
    return Instance(int(pred.class_id), box, kps)


def accept_predictions(
    ds: Dataset, rec: ImageRecord, preds: Sequence[Prediction], notifier: EditNotifier
) -> InstancesEdit:
    """One undo step appending ``preds`` to ``rec``'s labels."""
    before = list(rec.ensure_loaded().instances)
    added = [prediction_to_instance(p, ds, rec) for p in preds]
    text = "Accept prediction" if len(added) == 1 else f"Accept {len(added)} predictions"
    return InstancesEdit(text, [(rec, before, before + added)], notifier)

"""How far a model can be trusted to judge labels, measured on images it never trained on.

Label QC turns a model's disagreements into suspects; whether a disagreement means "the
label is wrong" depends on how often the model is right. This module answers that from
out-of-sample predictions (the val split for a trained checkpoint, every image for
k-fold QC), the way a COCO evaluation counts them at IoU 0.5:

- a precision-by-score curve per class (a non-increasing envelope, so a higher score never
  means lower precision). It turns a suspect's evidence into ``p_wrong``, the probability
  that the label is wrong: a prediction of score s that no label explains is a real object
  as often as the model's detections of that class at s are right. A suspect is a *likely*
  mistake when ``p_wrong`` reaches ``LIKELY_P`` (more likely wrong than right); the rest
  are worth a look.
- per class: AP50, recall at the QC threshold (how rarely the model misses an object, the
  evidence behind "no trace of this label"), and the *likely score*: the lowest score from
  which the model's own detections are right ``TARGET_PRECISION`` (0.9) of the time, what
  the panel quotes as the score the model can be trusted from.
- ``judges_reliably``: the out-of-sample mAP50 reaches ``MIN_MAP50`` (0.5) over at least
  ``MIN_IMAGES`` images. Below it QC marks nothing as a likely mistake and offers no
  one-click fix: a 2-epoch model that finds nothing would otherwise call every label
  spurious. A class with fewer than ``MIN_MATCHES`` correct detections is not calibrated,
  and its suspects stay "worth a look" too.

Everything is numpy and torch-free, like the rest of ``qa``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.paths import path_key as _key
from workbench.core.prediction import Prediction
from workbench.qa.matching import match_instances

TARGET_PRECISION = 0.9  # the likely score: from here the model's detections are right 9 times in 10
LIKELY_P = 0.5  # a likely mistake: the label is more likely wrong than right
MIN_MAP50 = 0.5  # below this out-of-sample mAP50 the model is too weak to judge labels
MIN_IMAGES = 4  # fewer out-of-sample images say too little about the model
MIN_MATCHES = 3  # a class calibrates only with at least this many correct detections
LIKELY_RECALL = 0.95  # "no trace of this label" is likely only if the model misses this rarely


@dataclass(frozen=True)
class Provenance:
    """What the judging model learned from, as its checkpoint records it.

    ``trained_on``: its training images relative to the dataset root (None: a checkpoint
    from before they were recorded, when the training split's name is all there is).
    ``val_map50``: what training's own validation measured at the saved epoch.
    """

    trained_on: frozenset[str] | None = None
    train_split: str = "train"
    val_map50: float | None = None

    def in_sample(self, ds: Dataset, rec: ImageRecord) -> bool:
        """Whether the model trained on this image (its judgement of the labels is then weaker)."""
        if self.trained_on is not None:
            return (ds.rel(rec.path) or str(rec.path)) in self.trained_on
        return rec.split == self.train_split

    def held_out(self, ds: Dataset, records: Iterable[ImageRecord]) -> list[ImageRecord]:
        """The labeled records the model never trained on: where its reliability is measured."""
        return [r for r in records if r.has_labels and not self.in_sample(ds, r)]


OUT_OF_SAMPLE = Provenance(frozenset())  # k-fold: every image judged by a model that never saw it


@dataclass
class ClassReliability:
    """The model on one class, out of sample; ``likely_score`` None: it never reaches the target precision."""

    name: str
    labels: int
    ap50: float | None
    recall: float | None
    likely_score: float | None
    # (score, precision) pairs, scores descending, precision non-increasing as the score drops.
    curve: list[tuple[float, float]] = field(default_factory=list, repr=False)
    calibrated: bool = False  # enough correct detections (MIN_MATCHES) for the curve to mean something

    def precision_at(self, score: float) -> float:
        """The model's precision on this class for its detections scoring at least ``score``
        (above its best score: the precision of its best; 0 with no detections)."""
        if not self.curve:
            return 0.0
        best = self.curve[0][1]
        for s, p in self.curve:
            if s < score:
                break
            best = p
        return best

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "labels": self.labels,
            "ap50": _round(self.ap50),
            "recall": _round(self.recall),
            "likely_score": _round(self.likely_score),
            "calibrated": self.calibrated,
        }


@dataclass
class ModelReliability:
    """The verdict QC shows above its list, and the numbers behind it."""

    source: str  # where the numbers come from: "val split", "k-fold", "checkpoint metrics" or "none"
    images: int
    map50: float | None
    classes: list[ClassReliability]
    judges_reliably: bool
    reason: str  # one sentence for the user: why QC trusts the model or not
    classes_match: bool = True
    checkpoint_map50: float | None = None  # what training's own validation measured, when known

    def for_class(self, k: int) -> ClassReliability | None:
        return self.classes[k] if 0 <= k < len(self.classes) else None

    def likely_score(self, k: int) -> float | None:
        c = self.for_class(k)
        return None if c is None else c.likely_score

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "images": self.images,
            "val_mAP50": _round(self.map50 if self.map50 is not None else self.checkpoint_map50),
            "checkpoint_mAP50": _round(self.checkpoint_map50),
            "classes_match": self.classes_match,
            "judges_reliably": self.judges_reliably,
            "reason": self.reason,
            "min_mAP50": MIN_MAP50,
            "target_precision": TARGET_PRECISION,
            "classes": [c.to_dict() for c in self.classes],
        }


def _round(v: float | None) -> float | None:
    return None if v is None else round(float(v), 4)


MAX_REFERENCE_IMAGES = 300  # held-out images predicted to measure the model, at most


def reference_records(ds: Dataset, provenance: Provenance, limit: int = MAX_REFERENCE_IMAGES) -> list[ImageRecord]:
    """The labeled images the model never trained on, spread evenly over the dataset, at most
    ``limit``: enough to measure it, without predicting the whole val split of a huge dataset."""
    held = provenance.held_out(ds, ds.records)
    if len(held) <= limit:
        return held
    step = len(held) / limit
    return [held[int(i * step)] for i in range(limit)]


def measure_reliability(
    ds: Dataset,
    predictions: Mapping[Path, list[Prediction]],
    records: Iterable[ImageRecord],
    *,
    source: str,
    checkpoint_map50: float | None = None,
) -> ModelReliability:
    """The model's reliability from its ``predictions`` on ``records``, images it did not train on.

    ``predictions`` may hold more images than ``records`` (the whole QC run); only the
    records' own are counted. With fewer than ``MIN_IMAGES`` of them the verdict falls back
    to ``checkpoint_map50`` (training's own validation) without per-class calibration.
    """
    by_path = {_key(p): v for p, v in predictions.items()}
    judged = [(r.ensure_loaded(), by_path[_key(r.path)]) for r in records if _key(r.path) in by_path]
    if len(judged) < MIN_IMAGES:
        return _from_checkpoint_only(ds, len(judged), checkpoint_map50)
    classes = [_class_reliability(ds, k, judged) for k in range(ds.nc)]
    aps = [c.ap50 for c in classes if c.ap50 is not None]
    map50 = float(np.mean(aps)) if aps else 0.0
    good = map50 >= MIN_MAP50
    where = f"{len(judged)} images it did not train on ({source})"
    reason = (
        f"mAP50 {map50:.2f} on {where}: it judges labels reliably"
        if good
        else f"mAP50 {map50:.2f} on {where} is below {MIN_MAP50:.2f}: the model is too weak to judge labels"
    )
    return ModelReliability(source, len(judged), map50, classes, good, reason, checkpoint_map50=checkpoint_map50)


def unmeasured(ds: Dataset, reason: str) -> ModelReliability:
    """No verdict at all (classes that do not match, no model): nothing is likely."""
    classes = [ClassReliability(name, 0, None, None, None) for name in ds.classes]
    return ModelReliability("none", 0, None, classes, False, reason)


def _from_checkpoint_only(ds: Dataset, images: int, checkpoint_map50: float | None) -> ModelReliability:
    classes = [ClassReliability(name, 0, None, None, None) for name in ds.classes]
    if checkpoint_map50 is None:
        why = (
            f"only {images} of the judged images are out of sample (the model trained on the rest) and the "
            "checkpoint records no validation mAP: how good it is cannot be measured, so nothing is marked "
            "as a likely mistake; include the val split, or run k-fold QC"
        )
        return ModelReliability("none", images, None, classes, False, why)
    good = checkpoint_map50 >= MIN_MAP50
    why = (
        f"val mAP50 {checkpoint_map50:.2f} recorded at training"
        + (": it judges labels reliably" if good else f" is below {MIN_MAP50:.2f}: the model is too weak to judge")
        + "; without held-out images here, suspects are not calibrated per class"
    )
    return ModelReliability("checkpoint metrics", images, None, classes, good, why, checkpoint_map50=checkpoint_map50)


def _class_reliability(ds: Dataset, k: int, judged: list[tuple[ImageRecord, list[Prediction]]]) -> ClassReliability:
    scores: list[float] = []
    hits: list[bool] = []
    labels = found = 0
    for rec, preds in judged:
        gt = [inst for inst in rec.instances if inst.class_id == k and not inst.iscrowd]
        mine = [p for p in preds if int(p.class_id) == k]
        labels += len(gt)
        if not mine:
            continue
        m = match_instances(gt, mine, 0.5)
        scores.extend(float(p.score) for p in mine)
        hits.extend(bool(j >= 0) for j in m.pred_gt)
        found += int((m.gt_pred >= 0).sum())
    name = ds.classes[k]
    if labels == 0:
        return ClassReliability(name, 0, None, None, None)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    s = np.asarray(scores, dtype=np.float64)[order]
    tp = np.cumsum(np.asarray(hits, dtype=np.float64)[order]) if len(order) else np.zeros(0)
    n = np.arange(1, len(s) + 1)
    precision = tp / n if len(s) else np.zeros(0)
    recall = tp / labels if len(s) else np.zeros(0)
    # The envelope: precision at a score is the best precision at that score or lower, so
    # the curve only falls as the score falls (the interpolation COCO's AP uses).
    envelope = np.maximum.accumulate(precision[::-1])[::-1] if len(s) else precision
    ap = _ap(recall, envelope)
    calibrated = bool(len(tp) and tp[-1] >= MIN_MATCHES)
    likely = None
    reached = np.flatnonzero(envelope >= TARGET_PRECISION)
    if calibrated and len(reached):
        likely = float(s[reached[-1]])
    curve = [(float(a), float(b)) for a, b in zip(s, envelope, strict=True)]
    return ClassReliability(name, labels, ap, found / labels, likely, curve, calibrated)


def _ap(recall: np.ndarray, envelope: np.ndarray) -> float:
    """COCO's 101-point interpolated AP from a recall curve and its precision envelope."""
    if not len(recall):
        return 0.0
    points = np.linspace(0.0, 1.0, 101)
    idx = np.searchsorted(recall, points, side="left")
    vals = np.where(idx < len(envelope), envelope[np.minimum(idx, len(envelope) - 1)], 0.0)
    return float(np.mean(vals))

"""Model-assisted label QC: rank the labels a trained model disagrees with most.

Validation finds labels that are malformed; this finds labels that are well formed
but probably wrong, using the predictions of a model (run at a low confidence
threshold, e.g. 0.01, so that its doubts are visible too). Five kinds of suspects:

- ``class_swap``: a confident prediction of another class over the same box.
- ``missing_label``: a confident prediction that no label of any class overlaps.
- ``bad_box``: the model boxes the same object of the same class somewhere else.
- ``landmark_off``: a visible keypoint far from where the model confidently puts it.
- ``spurious_label``: a label the model finds no trace of, even at low confidence.

Scores must rank across kinds, so each one reads as "how confident is the model
that this label is wrong", built from the same pieces: a prediction's score, an
overlap weight ``w(IoU)`` that rises from 0 at ``cover_iou`` to 1 at ``good_iou``
(how surely a prediction is about this labeled object), and a penalty by the
model's support for the label as it stands:

- class swap: ``p(other class) * w(IoU) * (1 - p(labeled class))``
- missing label: ``p`` of the prediction (no label overlaps it at ``cover_iou``)
- bad box: ``p(same class) * (1 - w(IoU)) * (1 - p(same class, well placed))``
- landmark off: ``p * w(IoU) * p(point) * max(0, 1 - OKS term / kp_ok_similarity)``,
  with sigmas widened by ``kp_tolerance``: a point the model's own imprecision
  explains scores nothing, one on the mirror point's place scores nearly ``p``
- spurious label: ``spurious_weight * (1 - p(anything here) / 0.5)``, damped because
  detectors miss real objects far more often than annotators invent them.

Matching is per image and greedy by IoU: each prediction belongs to the label it
overlaps most (if at least ``cover_iou``), so a neighbour's prediction never judges
a label. Everything is numpy; predictions come in as ``core.prediction.Prediction``
from whatever engine made them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import AddInstance, DeleteInstance, FixAction, MoveKeypoint, SetBox, SetClass
from workbench.core.keypoints import KeypointSchema
from workbench.core.paths import path_key as _key
from workbench.core.prediction import Prediction
from workbench.core.wording import keypoint_label
from workbench.qa.qc_geometry import box_iou, keypoint_similarity
from workbench.qa.qc_reliability import LIKELY_P, LIKELY_RECALL, ModelReliability, Provenance

KINDS = ("class_swap", "missing_label", "bad_box", "landmark_off", "spurious_label")

# A prediction scoring this much is a "trace" of an object: spurious-label suspicion
# falls linearly from full at score 0 to nothing here.
_TRACE_SCORE = 0.5


@dataclass
class QCOptions:
    """Thresholds of the QC rules; the defaults suit a model run at conf 0.01."""

    cover_iou: float = 0.3  # below: the prediction is about another object (or an unlabeled one)
    good_iou: float = 0.7  # at or above: the prediction boxes the same object well
    dedup_iou: float = 0.5  # unlabeled predictions overlapping this much are one object
    kp_conf: float = 0.5  # predicted points below this score are no evidence
    kp_tolerance: float = 2.0  # OKS sigmas widened by this, to allow for the model's own error
    kp_ok_similarity: float = 0.5  # a point at least this similar (OKS term) to the model's is fine
    spurious_weight: float = 0.5  # the most a "no trace of it" suspect can score
    min_score: float = 0.05  # suspects scoring less are not reported

    def overlap_weight(self, iou: np.ndarray | float) -> np.ndarray:
        """0 at ``cover_iou``, 1 at ``good_iou``: how surely a prediction is about this object."""
        span = max(self.good_iou - self.cover_iou, 1e-9)
        return np.clip((np.asarray(iou, dtype=np.float64) - self.cover_iou) / span, 0.0, 1.0)


@dataclass
class Suspect:
    """One label the model disagrees with, ranked by ``score`` (0..1, higher = more likely wrong).

    ``image`` and ``label_file`` are relative to the dataset root; ``line`` is the
    1-based line of the instance (None for a missing label, which has no line yet);
    ``suggestion`` is the one-click fix as a typed action (``core.fix_actions``, never
    safe: a model's opinion is not certain) and ``evidence`` the numbers behind the message.
    """

    kind: str
    image: str
    label_file: str | None
    line: int | None
    instance: int | None
    score: float
    suggestion: FixAction
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    # With a measured model (qa.qc_reliability): the probability that the label is wrong,
    # from the model's out-of-sample precision at the evidence's score, and whether that
    # makes it a likely mistake (the default list) rather than one worth a look.
    p_wrong: float | None = None
    likely: bool = False
    # Whether the judging model trained on this image (None: not known). A model that
    # learned a label tends to repeat it, so an in-sample judgement is weaker evidence.
    in_sample: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["suggestion"] = self.suggestion.to_dict()
        d["score"] = round(float(self.score), 4)
        d["p_wrong"] = None if self.p_wrong is None else round(float(self.p_wrong), 4)
        return d

    def location(self) -> str:
        where = self.label_file or self.image
        return f"{where}:{self.line}" if self.line is not None else where

    def to_finding(self) -> Finding:
        """The same suspect as a finding, so the findings panel can list both side by side."""
        return Finding(
            Severity.WARNING,
            self.kind,
            f"{self.message} (QC score {self.score:.2f})",
            image=self.image,
            label_file=self.label_file,
            line=self.line,
            instance=self.instance,
            fix=self.suggestion,
        )


def find_label_issues(
    ds: Dataset,
    predictions: dict[Path, list[Prediction]],
    *,
    records: Iterable[ImageRecord] | None = None,
    options: QCOptions | None = None,
    reliability: ModelReliability | None = None,
    provenance: Provenance | None = None,
) -> list[Suspect]:
    """Suspects over the records that have predictions: likely mistakes first, then by score.

    ``predictions`` maps image paths (as in ``ImageRecord.path``) to everything the
    model found there; an image with no entry is not judged (no evidence), while an
    image mapped to an empty list is (the model looked and saw nothing).
    ``reliability`` (``qc_reliability.measure_reliability``) calibrates each suspect and
    decides which are likely; without it, or for a model that does not judge reliably,
    none is. ``provenance`` marks the judgements of images the model trained on.
    """
    opts = options or QCOptions()
    by_path = {_key(p): preds for p, preds in predictions.items()}
    out: list[Suspect] = []
    for rec in ds.records if records is None else records:
        preds = by_path.get(_key(rec.path))
        if preds is None:
            continue
        rec.ensure_loaded()
        in_sample = None if provenance is None else provenance.in_sample(ds, rec)
        out.extend(_ImageQC(ds, rec, preds, opts, reliability, in_sample).suspects())
    out = [s for s in out if s.score >= opts.min_score]
    out.sort(key=rank_key)
    return out


def rank_key(s: Suspect) -> tuple[object, ...]:
    """The order of every suspects list: likely mistakes first, most probably wrong first, then
    the rest by QC score; ties by place, so the order is stable."""
    lead = s.p_wrong if s.likely and s.p_wrong is not None else s.score
    return (not s.likely, -lead, s.image, s.line if s.line is not None else 0, s.kind)


def _rounded(values: Iterable[float]) -> list[float]:
    return [round(float(v), 2) for v in values]


class _ImageQC:
    """The comparison of one image's labels with its predictions."""

    def __init__(
        self,
        ds: Dataset,
        rec: ImageRecord,
        preds: list[Prediction],
        opts: QCOptions,
        reliability: ModelReliability | None = None,
        in_sample: bool | None = None,
    ) -> None:
        self.ds, self.rec, self.preds, self.opts = ds, rec, preds, opts
        self.reliability, self.in_sample = reliability, in_sample
        self.image = ds.rel(rec.path) or str(rec.path)
        self.gt = rec.instances
        gt_boxes = np.array([inst.box for inst in self.gt], dtype=np.float64).reshape(-1, 4)
        self.p_boxes = np.array([p.box for p in preds], dtype=np.float64).reshape(-1, 4)
        self.p_cls = np.array([int(p.class_id) for p in preds], dtype=np.int64)
        self.p_score = np.clip(np.array([float(p.score) for p in preds], dtype=np.float64), 0.0, 1.0)
        self.iou = box_iou(gt_boxes, self.p_boxes)  # (G, P)
        if len(self.gt) and len(preds):
            self.owner = np.argmax(self.iou, axis=0)
            self.owner_iou = self.iou[self.owner, np.arange(len(preds))]
        else:
            self.owner = np.full(len(preds), -1, dtype=np.int64)
            self.owner_iou = np.zeros(len(preds))
        self.weight = opts.overlap_weight(self.owner_iou)

    # ------------------------------------------------------------------ naming

    def class_name(self, k: int) -> str:
        return class_label(self.ds, k)

    def label_file(self, inst: Instance | None) -> str | None:
        path = inst.source.label_file if inst is not None and inst.source.label_file else self.rec.label_path
        return self.ds.rel(path)

    def suspect(
        self,
        kind: str,
        i: int | None,
        score: float,
        suggestion: FixAction,
        message: str,
        evidence: dict[str, Any],
        judge: Judgement,
    ) -> Suspect:
        inst = self.gt[i] if i is not None else None
        p_wrong, likely = judge.verdict(self.reliability)
        return Suspect(
            kind,
            self.image,
            self.label_file(inst),
            inst.source.line if inst is not None else None,
            i,
            float(np.clip(score, 0.0, 1.0)),
            suggestion,
            message,
            evidence,
            p_wrong,
            likely,
            self.in_sample,
        )

    # ------------------------------------------------------------------ rules

    def suspects(self) -> list[Suspect]:
        out = []
        for i, inst in enumerate(self.gt):
            if inst.iscrowd or inst.area <= 0:
                continue  # crowd regions still cover predictions; degenerate boxes are validation's
            mine = np.flatnonzero((self.owner == i) & (self.owner_iou >= self.opts.cover_iou))
            out.extend(self.class_swap(i, inst, mine))
            out.extend(self.bad_box(i, inst, mine))
            out.extend(self.landmarks_off(i, inst, mine))
            out.extend(self.spurious(i, inst, mine))
        out.extend(self.missing())
        return out

    def class_swap(self, i: int, inst: Instance, mine: np.ndarray) -> list[Suspect]:
        same = mine[self.p_cls[mine] == inst.class_id]
        other = mine[self.p_cls[mine] != inst.class_id]
        if not len(other):
            return []
        support = self.p_score[other] * self.weight[other]
        j = int(other[np.argmax(support)])
        p_label = float(np.max(self.p_score[same] * self.weight[same])) if len(same) else 0.0
        score = float(np.max(support)) * (1.0 - p_label)
        k = int(self.p_cls[j])
        message = (
            f"labeled {self.class_name(inst.class_id)} but the model sees {self.class_name(k)} here "
            f"with {self.p_score[j]:.2f} (IoU {self.owner_iou[j]:.2f}); "
            f"{self.class_name(inst.class_id)} scores {p_label:.2f}"
        )
        return [
            self.suspect(
                "class_swap",
                i,
                score,
                SetClass(i, k),
                message,
                {
                    "labeled_class": inst.class_id,
                    "predicted_class": k,
                    "predicted_score": round(float(self.p_score[j]), 4),
                    "iou": round(float(self.owner_iou[j]), 4),
                    "labeled_class_score": round(p_label, 4),
                    "prediction_box": _rounded(self.p_boxes[j]),
                },
                Judgement(k, float(self.p_score[j]), float(self.weight[j]) * (1.0 - p_label)),
            )
        ]

    def bad_box(self, i: int, inst: Instance, mine: np.ndarray) -> list[Suspect]:
        same = mine[self.p_cls[mine] == inst.class_id]
        if not len(same):
            return []
        j = int(same[np.argmax(self.p_score[same])])
        iou = float(self.owner_iou[j])
        if iou >= self.opts.good_iou:
            return []
        well = same[self.owner_iou[same] >= self.opts.good_iou]
        p_well = float(np.max(self.p_score[well])) if len(well) else 0.0
        score = float(self.p_score[j]) * (1.0 - float(self.weight[j])) * (1.0 - p_well)
        box = _rounded(self.p_boxes[j])
        message = (
            f"the model boxes this {self.class_name(inst.class_id)} elsewhere with {self.p_score[j]:.2f}: "
            f"IoU {iou:.2f} with the label; model box {box}"
        )
        return [
            self.suspect(
                "bad_box",
                i,
                score,
                SetBox(i, (box[0], box[1], box[2], box[3])),
                message,
                {
                    "predicted_score": round(float(self.p_score[j]), 4),
                    "iou": round(iou, 4),
                    "well_placed_score": round(p_well, 4),
                    "label_box": _rounded(inst.box),
                    "prediction_box": box,
                },
                Judgement(inst.class_id, float(self.p_score[j]), (1.0 - float(self.weight[j])) * (1.0 - p_well)),
            )
        ]

    def landmarks_off(self, i: int, inst: Instance, mine: np.ndarray) -> list[Suspect]:
        schema = self.ds.keypoints
        if schema is None or inst.keypoints is None or not len(mine):
            return []
        j = int(mine[np.argmax(self.p_score[mine] * self.weight[mine])])
        pk = self.preds[j].keypoints
        gk = inst.keypoints
        if pk is None or pk.shape != gk.shape or gk.shape[0] != schema.num_keypoints:
            return []
        sigmas = np.asarray(schema.sigmas, dtype=np.float64)
        sim = keypoint_similarity(gk[:, :2], pk[:, :2], inst.box, sigmas, self.opts.kp_tolerance)
        confident = np.clip(pk[:, 2], 0.0, 1.0) >= self.opts.kp_conf
        det = float(self.p_score[j] * self.weight[j])
        out = []
        for q in np.flatnonzero((gk[:, 2] > 0) & confident):
            q = int(q)
            off = max(0.0, 1.0 - float(sim[q]) / self.opts.kp_ok_similarity)
            score = det * float(pk[q, 2]) * off
            if score < self.opts.min_score:
                continue
            xy = _rounded(pk[q, :2])
            dist = float(np.hypot(*(gk[q, :2] - pk[q, :2])))
            name = _kp_name(schema, q)
            message = (
                f"{name} is {dist:.1f} px from where the model puts it ({xy}, point score "
                f"{pk[q, 2]:.2f}, box {self.p_score[j]:.2f})"
            )
            evidence: dict[str, Any] = {
                "keypoint": q,
                "name": schema.names[q] if q < len(schema.names) else name,
                "label_xy": _rounded(gk[q, :2]),
                "predicted_xy": xy,
                "distance_px": round(dist, 2),
                "similarity": round(float(sim[q]), 4),
                "point_score": round(float(pk[q, 2]), 4),
                "predicted_score": round(float(self.p_score[j]), 4),
            }
            twin = _flip_twin(schema, q, gk, pk, confident, inst.box, sigmas, self.opts)
            if twin is not None:
                message += f"; it sits where the model puts {_kp_name(schema, twin)}: left/right swapped?"
                evidence["swapped_with"] = twin
            fix = MoveKeypoint(i, q, (xy[0], xy[1]), swapped_with=twin)
            judge = Judgement(inst.class_id, float(self.p_score[j]), float(self.weight[j] * pk[q, 2]) * off)
            out.append(self.suspect("landmark_off", i, score, fix, message, evidence, judge))
        return out

    def spurious(self, i: int, inst: Instance, mine: np.ndarray) -> list[Suspect]:
        trace = float(np.max(self.p_score[mine])) if len(mine) else 0.0
        score = self.opts.spurious_weight * max(0.0, 1.0 - trace / _TRACE_SCORE)
        if score <= 0:
            return []
        message = (
            f"the model finds no trace of this {self.class_name(inst.class_id)}: best overlapping "
            f"prediction scores {trace:.2f}; delete it if nothing is there"
        )
        return [
            self.suspect(
                "spurious_label",
                i,
                score,
                DeleteInstance(i),
                message,
                {"best_overlapping_score": round(trace, 4)},
                Judgement(inst.class_id, trace, max(0.0, 1.0 - trace / _TRACE_SCORE), recall=True),
            )
        ]

    def missing(self) -> list[Suspect]:
        free = np.flatnonzero(self.owner_iou < self.opts.cover_iou)
        free = free[np.argsort(-self.p_score[free], kind="stable")]
        kept: list[int] = []
        for j in free:
            if kept and np.max(box_iou(self.p_boxes[j], self.p_boxes[kept])) >= self.opts.dedup_iou:
                continue  # a duplicate (or another class) of an unlabeled object already reported
            kept.append(int(j))
        out = []
        for j in kept:
            p = self.preds[j]
            k = int(p.class_id)
            box = _rounded(p.box)
            suggestion = AddInstance(
                k, (box[0], box[1], box[2], box[3]), _as_label_keypoints(p.keypoints, self.opts.kp_conf)
            )
            best = float(self.owner_iou[j])
            message = (
                f"the model sees {self.class_name(k)} at {box} with {self.p_score[j]:.2f} and no label "
                f"overlaps it (best IoU {best:.2f}): add it"
            )
            out.append(
                self.suspect(
                    "missing_label",
                    None,
                    float(self.p_score[j]),
                    suggestion,
                    message,
                    {
                        "predicted_class": k,
                        "predicted_score": round(float(self.p_score[j]), 4),
                        "best_label_iou": round(best, 4),
                        "prediction_box": box,
                    },
                    Judgement(k, float(self.p_score[j]), 1.0),
                )
            )
        return out


def class_label(ds: Dataset, k: int) -> str:
    """How messages name class ``k``: its quoted name, or ``class k`` when the id is outside the list."""
    return f"'{ds.classes[k]}'" if 0 <= k < ds.nc else f"class {k}"


def _kp_name(schema: KeypointSchema, q: int) -> str:
    return keypoint_label(q, schema.names)


def _flip_twin(
    schema: KeypointSchema,
    q: int,
    gk: np.ndarray,
    pk: np.ndarray,
    confident: np.ndarray,
    box: np.ndarray,
    sigmas: np.ndarray,
    opts: QCOptions,
) -> int | None:
    """The mirror point whose prediction sits on label point ``q``, if any (a left/right mix-up)."""
    t = schema.flip_idx[q] if q < len(schema.flip_idx) else q
    if t == q or not confident[t]:
        return None
    sim = keypoint_similarity(gk[q, :2], pk[t, :2], box, sigmas[[q]], opts.kp_tolerance)
    return t if float(np.squeeze(sim)) >= opts.kp_ok_similarity else None


def _as_label_keypoints(kps: np.ndarray | None, conf: float) -> tuple[tuple[float, float, float], ...] | None:
    """Predicted points as label points: confident ones visible, the rest missing (0, 0, 0)."""
    if kps is None:
        return None
    return tuple((round(float(x), 2), round(float(y), 2), 2.0) if s >= conf else (0.0, 0.0, 0.0) for x, y, s in kps)


@dataclass(frozen=True)
class Judgement:
    """What a suspect rests on, for calibration: the class whose detections are the evidence,
    the evidence's score, and how squarely it contradicts the label (0..1: overlap, the
    labeled class's own support, a keypoint's distance).

    ``recall``: the evidence is an absence (a label the model finds no trace of), judged
    by how rarely the model misses objects of the class, not by a detection's precision.
    """

    class_id: int
    score: float
    factor: float
    recall: bool = False

    def verdict(self, reliability: ModelReliability | None) -> tuple[float | None, bool]:
        """(probability the label is wrong, likely mistake) under ``reliability``; (None, False) without one."""
        if reliability is None:
            return None, False
        c = reliability.for_class(self.class_id)
        if c is None:
            return None, False
        if self.recall:
            if c.recall is None:
                return None, False
            p_wrong = float(np.clip(c.recall * self.factor, 0.0, 1.0))
            likely = c.recall >= LIKELY_RECALL
        else:
            if not c.curve:
                return None, False
            p_wrong = float(np.clip(c.precision_at(self.score) * self.factor, 0.0, 1.0))
            likely = c.calibrated
        return p_wrong, bool(likely and p_wrong >= LIKELY_P and reliability.judges_reliably)

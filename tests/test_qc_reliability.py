"""How far QC trusts a model: out-of-sample reliability, calibrated suspects, in-sample marks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_label_qc import _dataset, _predict, _truth

from workbench.core.prediction import Prediction
from workbench.qa.label_qc import find_label_issues
from workbench.qa.qc_reliability import (
    MIN_MAP50,
    OUT_OF_SAMPLE,
    ClassReliability,
    Provenance,
    measure_reliability,
    unmeasured,
)

INJECTED = {
    ("class_swap", "images/im02.jpg", 2),
    ("missing_label", "images/im04.jpg", None),
    ("bad_box", "images/im06.jpg", 1),
    ("landmark_off", "images/im08.jpg", 1),
}


def _labels_with_mistakes():
    truth = _truth()
    labels = [[(c, b.copy(), k.copy()) for c, b, k in heads] for heads in truth]
    c, b, k = labels[2][1]
    labels[2][1] = ((c + 1) % 3, b, k)
    labels[4].pop(0)
    c, b, k = labels[6][0]
    w = b[2] - b[0]
    labels[6][0] = (c, b + np.array([0.4 * w, 0, 0.4 * w, 0]), k)
    c, b, k = labels[8][0]
    labels[8][0] = (c, b, k[[1, 0, 2, 3, 4]])
    return truth, labels


@pytest.fixture
def good(tmp_path):
    truth, labels = _labels_with_mistakes()
    ds = _dataset(tmp_path, labels)
    preds = {rec.path: p for rec, p in zip(ds.records, _predict(truth), strict=True)}
    return ds, preds


def _weak_predictions(ds, seed: int = 3) -> dict[Path, list[Prediction]]:
    """A 2-epoch model: a few faint boxes anywhere, of any class."""
    rng = np.random.default_rng(seed)
    out = {}
    for rec in ds.records:
        preds = []
        for _ in range(6):
            x, y = rng.uniform(0, 340), rng.uniform(0, 150)
            preds.append(Prediction(int(rng.integers(0, 3)), [x, y, x + 50, y + 50], float(rng.uniform(0.01, 0.3))))
        out[rec.path] = preds
    return out


def test_a_good_model_judges_reliably_and_only_the_real_mistakes_are_likely(good):
    ds, preds = good
    rel = measure_reliability(ds, preds, ds.records, source="k-fold")
    assert rel.judges_reliably and rel.map50 > 0.8 and "judges labels reliably" in rel.reason
    assert [c.name for c in rel.classes] == ds.classes and all(c.calibrated for c in rel.classes)
    for c in rel.classes:
        assert c.ap50 > 0.7 and c.recall > 0.9 and 0.5 < c.likely_score < 1.0
    suspects = find_label_issues(ds, preds, reliability=rel, provenance=OUT_OF_SAMPLE)
    likely = {(s.kind, s.image, s.line) for s in suspects if s.likely}
    assert likely == INJECTED
    n_likely = sum(s.likely for s in suspects)
    assert all(s.likely for s in suspects[:n_likely])  # the likely ones come first
    assert all(0.5 <= s.p_wrong <= 1.0 for s in suspects if s.likely)
    assert all(s.in_sample is False for s in suspects)
    d = suspects[0].to_dict()
    assert d["likely"] is True and 0 < d["p_wrong"] <= 1 and d["in_sample"] is False


def test_a_weak_model_is_too_weak_to_judge_and_marks_nothing_likely(good):
    ds, _ = good
    weak = _weak_predictions(ds)
    rel = measure_reliability(ds, weak, ds.records, source="val split")
    assert not rel.judges_reliably and rel.map50 < MIN_MAP50
    assert "too weak to judge labels" in rel.reason and f"{MIN_MAP50:.2f}" in rel.reason
    suspects = find_label_issues(ds, weak, reliability=rel)
    assert suspects and not any(s.likely for s in suspects)
    assert rel.to_dict()["judges_reliably"] is False and rel.to_dict()["val_mAP50"] < MIN_MAP50


def test_without_reliability_nothing_is_likely_and_scores_rank_as_before(good):
    ds, preds = good
    plain = find_label_issues(ds, preds)
    assert not any(s.likely for s in plain) and all(s.p_wrong is None and s.in_sample is None for s in plain)
    assert [s.score for s in plain] == sorted((s.score for s in plain), reverse=True)
    rel = unmeasured(ds, "the checkpoint's classes do not match")
    assert not rel.judges_reliably and not any(s.likely for s in find_label_issues(ds, preds, reliability=rel))


def test_few_held_out_images_fall_back_to_the_checkpoints_own_validation(good):
    ds, preds = good
    few = ds.records[:2]
    rel = measure_reliability(ds, preds, few, source="val split", checkpoint_map50=0.8)
    assert rel.source == "checkpoint metrics" and rel.judges_reliably and rel.map50 is None
    assert rel.to_dict()["val_mAP50"] == 0.8 and "not calibrated" in rel.reason
    # Not calibrated per class: nothing is likely even though the model is good.
    assert not any(s.likely for s in find_label_issues(ds, preds, reliability=rel))
    unknown = measure_reliability(ds, preds, few, source="val split")
    assert not unknown.judges_reliably and "cannot be measured" in unknown.reason


def test_provenance_tells_trained_images_from_held_out_ones(good):
    ds, preds = good
    names = [ds.rel(r.path) for r in ds.records]
    prov = Provenance(frozenset(names[:8]))
    assert [prov.in_sample(ds, r) for r in ds.records] == [i < 8 for i in range(len(names))]
    assert prov.held_out(ds, ds.records) == ds.records[8:]
    suspects = find_label_issues(ds, preds, provenance=prov)
    assert {s.image for s in suspects if s.in_sample} <= set(names[:8])
    assert {s.image for s in suspects if s.in_sample is False} <= set(names[8:])
    # A checkpoint from before training images were recorded: the split is all there is.
    ds.records[0].split = "val"
    by_split = Provenance(None, "train")
    assert not by_split.in_sample(ds, ds.records[0]) and by_split.in_sample(ds, ds.records[1])


def test_precision_by_score_never_rises_as_the_score_falls():
    c = ClassReliability("x", 4, 1.0, 1.0, 0.8, [(0.9, 1.0), (0.8, 1.0), (0.5, 0.75), (0.2, 0.5)], True)
    assert c.precision_at(0.95) == 1.0 and c.precision_at(0.85) == 1.0
    assert c.precision_at(0.5) == 0.75 and c.precision_at(0.3) == 0.75 and c.precision_at(0.1) == 0.5
    assert ClassReliability("y", 0, None, None, None).precision_at(0.5) == 0.0


def test_a_perfect_model_has_ap_one_and_a_useless_one_ap_zero(good):
    ds, _ = good
    perfect = {r.path: [Prediction(i.class_id, i.box, 0.99) for i in r.instances] for r in ds.records}
    rel = measure_reliability(ds, perfect, ds.records, source="k-fold")
    assert rel.map50 == pytest.approx(1.0) and all(c.recall == 1.0 for c in rel.classes)
    blind = {r.path: [] for r in ds.records}
    rel = measure_reliability(ds, blind, ds.records, source="k-fold")
    assert rel.map50 == 0.0 and not rel.judges_reliably

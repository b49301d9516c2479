"""The real-model QC benchmark's pure parts, without training: its generator writes the
mistakes it says it does, and its scoring credits a judge that sees the truth.

Training belongs in ``benchmarks/qc_real.py`` itself; here the fold models are replaced
by canned predictions (the true objects, or a model that finds nothing).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import qc_real  # noqa: E402

from workbench.formats.registry import open_dataset  # noqa: E402
from workbench.qa.qc_geometry import box_iou  # noqa: E402
from workbench.qa.qc_reliability import Provenance, measure_reliability, reference_records  # noqa: E402


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("qc_real")
    bench = qc_real.make_bench(root / "data", n_images=40, size=96, seed=3, rate=0.06)
    return bench, open_dataset(bench.data)


def _record(ds, i):
    return next(r.ensure_loaded() for r in ds.records if r.path.name == f"img{i:04d}.png")


def test_generator_writes_a_pose_dataset_with_every_kind_of_mistake(bench):
    bench, ds = bench
    assert len(ds.records) == 40 and ds.classes == qc_real.CLASSES
    assert ds.keypoints is not None and ds.keypoints.flip_idx == [1, 0, 2]
    kinds = {m.kind for m in bench.mistakes}
    assert kinds == set(qc_real.MISTAKE_KINDS)
    assert {m.detail for m in bench.mistakes if m.kind == "landmark_off"} & {"left/right swapped"}
    missing = sum(m.kind == "missing_label" for m in bench.mistakes)
    labels = sum(len(_record(ds, i).instances) for i in range(40))
    assert labels == sum(len(t) for t in bench.truth) - missing
    for m in bench.mistakes:
        if m.instance is None:
            continue
        inst = _record(ds, m.image).instances[m.instance]
        iou = float(box_iou(inst.box, m.true_box[None])[0, 0])
        if m.kind == "class_swap":
            assert inst.class_id != m.true_class and iou > 0.8
        elif m.kind == "bad_box":
            # Shifted enough to be wrong, close enough that the model's box still owns the label.
            assert inst.class_id == m.true_class and 0.3 < iou < 0.65, iou
        else:
            truth = next(k for c, b, k in bench.truth[m.image] if np.allclose(b, m.true_box))
            if m.keypoints == (0, 1):  # left and right swapped
                assert np.abs(inst.keypoints[0, :2] - truth[1, :2]).max() < 4
            else:
                q, scale = m.keypoints[0], max(m.true_box[2:] - m.true_box[:2])
                assert np.hypot(*(inst.keypoints[q, :2] - truth[q, :2])) > 0.3 * scale


def test_a_judge_that_sees_the_truth_finds_the_injected_mistakes(bench):
    bench, ds = bench
    result = qc_real.evaluate(bench, ds, qc_real.perfect_predictions(bench, ds))
    assert set(result) >= {"n_images", "injected", "images_with_mistakes", "out_of_sample", "goals"}
    ours = result["out_of_sample"]["ours"]
    assert result["out_of_sample"]["model"]["judges_reliably"] is True
    assert ours["instance_level"]["all_kinds"]["precision"] >= 0.9, ours["instance_level"]
    for kind in ("class_swap", "bad_box", "missing_label"):
        assert ours["instance_level"][kind]["recall"] == 1.0, (kind, ours["instance_level"])
    assert ours["image_level"]["average_precision"] >= 0.9
    assert ours["likely"] > 0 and ours["likely_precision"] >= 0.9
    assert set(result["goals"]) == {
        "image_ap_ratio",
        "image_ap_1_5x_cleanlab",
        "instance_precision_at_k_0_8",
        "weak_model_zero_likely",
        "weak_model_not_reliable",
    }
    assert result["goals"]["instance_precision_at_k_0_8"] is True
    cl = result["out_of_sample"]["cleanlab"]
    if cl["available"]:
        assert 0.0 <= cl["image_level"]["average_precision"] <= 1.0
        assert result["goals"]["image_ap_ratio"] is not None


def test_a_model_that_finds_nothing_shows_nothing_as_likely(bench):
    """The weak-model check's scoring: a mostly in-sample model with mAP 0 on its held-out quarter."""
    bench, ds = bench
    names = sorted(r.path.name for r in ds.records)
    learned = frozenset(f"images/train/{n}" for i, n in enumerate(names) if i % 4)
    provenance = Provenance(learned, val_map50=0.0)
    nothing = {r.path: [] for r in ds.records}
    reliability = measure_reliability(ds, nothing, reference_records(ds, provenance), source="held-out images")
    weak = qc_real.WeakRun(nothing, provenance, reliability)
    result = qc_real.evaluate(bench, ds, qc_real.perfect_predictions(bench, ds), weak)
    assert result["weak"]["model"]["judges_reliably"] is False
    assert result["weak"]["ours"]["suspects"] > 0  # every label is "spurious" to it...
    assert result["weak"]["ours"]["likely"] == 0  # ...and none of that is shown as likely
    assert result["weak"]["ours"]["in_sample"] > 0
    assert result["goals"]["weak_model_zero_likely"] is True
    assert result["goals"]["weak_model_not_reliable"] is True

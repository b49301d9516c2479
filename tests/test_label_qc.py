"""Label QC on datasets and predictions built here: injected mistakes rank first, clean labels low."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workbench.core.annotation import Dataset, ImageRecord, Instance, Source
from workbench.core.fix_actions import AddInstance, DeleteInstance, SetBox, SetClass
from workbench.core.keypoints import KeypointSchema
from workbench.core.prediction import Prediction
from workbench.qa.label_qc import KINDS, QCOptions, Suspect, find_label_issues
from workbench.qa.qc_geometry import box_iou, keypoint_similarity
from workbench.qa.qc_kfold import kfold_predictions, kfold_splits

CLASSES = ["face", "robot", "alien"]
N_IMAGES = 12


def _face(rng: np.random.Generator, cls: int, cx: float, cy: float, w: float) -> tuple[int, np.ndarray, np.ndarray]:
    """A head: box and five face landmarks (eyes, nose, mouth corners) in face5 order."""
    h = w * 1.2
    box = np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    offsets = np.array([[-0.2, -0.15], [0.2, -0.15], [0.0, 0.05], [-0.15, 0.25], [0.15, 0.25]])
    kps = np.column_stack([cx + offsets[:, 0] * w, cy + offsets[:, 1] * h, np.full(5, 2.0)])
    kps[:, :2] += rng.normal(0, 0.5, (5, 2))
    return cls, box, kps


def _truth(seed: int = 0) -> list[list[tuple[int, np.ndarray, np.ndarray]]]:
    """Per image, two or three well separated heads of random classes."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(N_IMAGES):
        n = int(rng.integers(2, 4))
        images.append(
            [
                _face(rng, int(rng.integers(0, 3)), 60 + 100 * k, 80 + rng.uniform(-10, 10), rng.uniform(50, 70))
                for k in range(n)
            ]
        )
    return images


def _predict(truth: list[list[tuple[int, np.ndarray, np.ndarray]]], seed: int = 1) -> list[list[Prediction]]:
    """A good but imperfect model: jittered boxes and points, faint other-class echoes, a faint false positive."""
    rng = np.random.default_rng(seed)
    out = []
    for heads in truth:
        preds = []
        for cls, box, kps in heads:
            jit = box + rng.normal(0, 1.5, 4)
            pk = np.column_stack([kps[:, :2] + rng.normal(0, 1.0, (5, 2)), rng.uniform(0.85, 0.99, 5)])
            preds.append(Prediction(cls, jit, float(rng.uniform(0.8, 0.95)), pk))
            preds.append(Prediction((cls + 1) % 3, jit + rng.normal(0, 1, 4), float(rng.uniform(0.01, 0.05)), pk))
        preds.append(Prediction(int(rng.integers(0, 3)), [250, 180, 290, 225], float(rng.uniform(0.01, 0.04))))
        out.append(preds)
    return out


def _dataset(root: Path, labels: list[list[tuple[int, np.ndarray, np.ndarray]]]) -> Dataset:
    records = []
    for i, heads in enumerate(labels):
        lf = root / "labels" / f"im{i:02d}.txt"
        insts = [Instance(c, b.copy(), k.copy(), Source(lf, n + 1)) for n, (c, b, k) in enumerate(heads)]
        records.append(ImageRecord(root / "images" / f"im{i:02d}.jpg", "train", lf, True, 400, 200, insts))
    return Dataset(root, list(CLASSES), records, KeypointSchema.face5(), "yolo-pose")


@pytest.fixture
def scene(tmp_path):
    """Labels with four injected mistakes, and predictions of a model that saw the truth."""
    truth = _truth()
    labels = [[(c, b.copy(), k.copy()) for c, b, k in heads] for heads in truth]
    c, b, k = labels[2][1]
    labels[2][1] = ((c + 1) % 3, b, k)  # class swap on im02 line 2
    missing = labels[4].pop(0)  # im04 loses its first label
    c, b, k = labels[6][0]
    w = b[2] - b[0]
    labels[6][0] = (c, b + np.array([0.4 * w, 0, 0.4 * w, 0]), k)  # im06 line 1: box shifted by 40 %
    c, b, k = labels[8][0]
    labels[8][0] = (c, b, k[[1, 0, 2, 3, 4]])  # im08 line 1: left/right eyes swapped
    ds = _dataset(tmp_path, labels)
    preds = {rec.path: p for rec, p in zip(ds.records, _predict(truth), strict=True)}
    return ds, preds, truth, missing


def _by_key(suspects: list[Suspect]) -> dict[tuple[str, str, int | None], Suspect]:
    out: dict[tuple[str, str, int | None], Suspect] = {}
    for s in suspects:
        out.setdefault((s.kind, s.image, s.line), s)
    return out


def test_injected_mistakes_rank_first_with_the_right_fix(scene):
    ds, preds, truth, missing = scene
    suspects = find_label_issues(ds, preds)
    top = {(s.kind, s.image, s.line) for s in suspects[:5]}
    assert top == {
        ("class_swap", "images/im02.jpg", 2),
        ("missing_label", "images/im04.jpg", None),
        ("bad_box", "images/im06.jpg", 1),
        ("landmark_off", "images/im08.jpg", 1),  # both eyes: two suspects on the same line
    }
    found = _by_key(suspects)

    swap = found[("class_swap", "images/im02.jpg", 2)]
    assert swap.suggestion == SetClass(1, truth[2][1][0])
    assert swap.label_file == "labels/im02.txt" and swap.instance == 1 and swap.score > 0.7
    assert (
        f"labeled '{CLASSES[(truth[2][1][0] + 1) % 3]}' but the model sees '{CLASSES[truth[2][1][0]]}'" in swap.message
    )

    add = found[("missing_label", "images/im04.jpg", None)]
    assert isinstance(add.suggestion, AddInstance) and add.suggestion.class_id == missing[0]
    assert box_iou(np.array(add.suggestion.box), missing[1])[0, 0] > 0.85
    assert len(add.suggestion.keypoints) == 5 and add.instance is None
    assert add.label_file == "labels/im04.txt"

    box = found[("bad_box", "images/im06.jpg", 1)]
    assert isinstance(box.suggestion, SetBox) and box.suggestion.instance == box.instance
    assert box_iou(np.array(box.suggestion.box), truth[6][0][1])[0, 0] > 0.85
    assert 0.3 < box.evidence["iou"] < 0.5 and box.score > 0.5

    eyes = [s for s in suspects if s.kind == "landmark_off" and s.image == "images/im08.jpg"]
    assert {s.suggestion.keypoint for s in eyes} == {0, 1}
    for s in eyes:
        q = s.suggestion.keypoint
        assert np.hypot(*(np.array(s.suggestion.xy) - truth[8][0][2][q, :2])) < 5
        assert s.evidence["swapped_with"] == 1 - q and "left/right swapped?" in s.message


def test_clean_labels_score_low(scene):
    ds, preds, _, _ = scene
    suspects = find_label_issues(ds, preds, options=QCOptions(min_score=0.0))
    injected = {("images/im02.jpg", 2), ("images/im04.jpg", None), ("images/im06.jpg", 1), ("images/im08.jpg", 1)}
    rest = [s for s in suspects if (s.image, s.line) not in injected]
    assert rest, "the faint echoes and the faint false positive must be scored, just low"
    assert max(s.score for s in rest) < 0.1
    assert {s.kind for s in suspects} <= set(KINDS)
    assert [s.score for s in suspects] == sorted((s.score for s in suspects), reverse=True)


def test_clean_dataset_has_no_confident_suspects(tmp_path):
    truth = _truth(3)
    ds = _dataset(tmp_path, truth)
    preds = {rec.path: p for rec, p in zip(ds.records, _predict(truth, 4), strict=True)}
    assert all(s.score < 0.1 for s in find_label_issues(ds, preds))


def test_only_images_with_predictions_are_judged(scene):
    ds, preds, _, _ = scene
    some = {p: v for p, v in preds.items() if p.name in ("im02.jpg", "im03.jpg")}
    assert {s.image for s in find_label_issues(ds, some)} == {"images/im02.jpg"}
    assert find_label_issues(ds, preds, records=[ds.records[0]]) == []
    # An empty list means the model looked and saw nothing: every label there is suspect.
    nothing = find_label_issues(ds, {ds.records[0].path: []})
    assert [s.kind for s in nothing] == ["spurious_label"] * len(ds.records[0].instances)
    assert nothing[0].suggestion == DeleteInstance(0) and nothing[0].score == pytest.approx(0.5)


def test_confident_support_for_the_label_cancels_a_swap(tmp_path):
    box = np.array([10.0, 10, 60, 70])
    ds = _dataset(tmp_path, [[(0, box, np.zeros((5, 3)))]])
    both = [Prediction(0, box, 0.9), Prediction(1, box + 1, 0.6)]
    swaps = [s for s in find_label_issues(ds, {ds.records[0].path: both}) if s.kind == "class_swap"]
    assert swaps == [] or swaps[0].score < 0.1
    only_other = [Prediction(1, box + 1, 0.6)]
    (swap,) = [s for s in find_label_issues(ds, {ds.records[0].path: only_other}) if s.kind == "class_swap"]
    assert swap.score == pytest.approx(0.6 * QCOptions().overlap_weight(box_iou(box, box + 1)[0, 0]))


def test_neighbours_prediction_does_not_judge_a_label(tmp_path):
    """Two touching objects: each prediction belongs to the label it overlaps most."""
    a, b = np.array([0.0, 0, 50, 50]), np.array([30.0, 0, 80, 50])
    ds = _dataset(tmp_path, [[(0, a, np.zeros((5, 3))), (1, b, np.zeros((5, 3)))]])
    preds = {ds.records[0].path: [Prediction(0, a, 0.9), Prediction(1, b, 0.9)]}
    assert find_label_issues(ds, preds) == []


def test_crowd_and_degenerate_labels_are_not_suspects_but_cover_predictions(tmp_path):
    ds = _dataset(
        tmp_path,
        [[(0, np.array([0.0, 0, 50, 50]), np.zeros((5, 3))), (1, np.array([5.0, 5, 5, 40]), np.zeros((5, 3)))]],
    )
    ds.records[0].instances[0].iscrowd = True
    preds = {ds.records[0].path: [Prediction(2, [0, 0, 50, 50], 0.9)]}
    assert find_label_issues(ds, preds) == []


def test_missing_label_duplicates_are_one_suspect(tmp_path):
    ds = _dataset(tmp_path, [[]])
    box = np.array([100.0, 50, 160, 120])
    preds = {ds.records[0].path: [Prediction(0, box, 0.9), Prediction(1, box + 2, 0.4), Prediction(0, box - 1, 0.3)]}
    (s,) = find_label_issues(ds, preds)
    assert s.kind == "missing_label" and s.suggestion.class_id == 0 and s.score == pytest.approx(0.9)
    assert s.suggestion.keypoints is None and s.line is None


def test_suspect_serializes_and_becomes_a_finding(scene):
    ds, preds, _, _ = scene
    suspects = find_label_issues(ds, preds)
    d = json.loads(json.dumps([s.to_dict() for s in suspects]))
    assert {"kind", "image", "label_file", "line", "score", "suggestion", "message", "evidence"} <= set(d[0])
    f = suspects[0].to_finding()
    assert f.kind == suspects[0].kind and f.line == suspects[0].line
    assert f.fix is suspects[0].suggestion and f.fix.safe is False
    assert str(f).startswith(suspects[0].location())


def test_keypoint_similarity_matches_oks():
    box = np.array([0.0, 0, 100, 100])
    sim = keypoint_similarity(
        np.array([[10.0, 10], [10, 10]]), np.array([[10.0, 10], [13, 14]]), box, np.array([0.05, 0.05])
    )
    assert sim[0] == pytest.approx(1.0)
    assert sim[1] == pytest.approx(np.exp(-25 / (2 * 10000 * 0.53 * 0.1**2)))


# ---------------------------------------------------------------------- k-fold


def test_kfold_predictions_never_judge_a_memorized_label(scene):
    ds, _, _, _ = scene
    trained_on: list[set[Path]] = []

    def train(records):
        seen = {r.path for r in records}
        trained_on.append(seen)
        return seen

    def predict(model, records):
        assert not model & {r.path for r in records}, "held-out images must not be in the training folds"
        return {r.path: [Prediction(i.class_id, i.box, 0.9) for i in r.instances] for r in records}

    out = kfold_predictions(ds, 3, train, predict)
    assert set(out) == {r.path for r in ds.records} and len(trained_on) == 3
    assert all(len(seen) == 8 for seen in trained_on)
    folds = kfold_splits(ds.records, 3, seed=7)
    assert sorted(r.path for f in folds for r in f) == sorted(r.path for r in ds.records)
    assert kfold_splits(ds.records, 3, seed=7) == folds


def test_kfold_rejects_bad_arguments(scene):
    ds, _, _, _ = scene
    with pytest.raises(ValueError, match="at least 2"):
        kfold_predictions(ds, 1, lambda r: None, lambda m, r: {})
    with pytest.raises(ValueError, match="12 images"):
        kfold_predictions(ds, 13, lambda r: None, lambda m, r: {})
    with pytest.raises(ValueError, match="not in the held-out fold"):
        kfold_predictions(ds, 2, lambda r: None, lambda m, r: {ds.records[0].path: []})


# ---------------------------------------------------------------------- the bundled sample


def test_finds_the_samples_injected_mistakes(tmp_path, monkeypatch):
    """A model that learned the truth (the sample drawn without its mistakes) exposes every one of them."""
    import workbench.sample_data as sample_data
    from workbench.formats import open_dataset

    ds = open_dataset(sample_data.write_sample(tmp_path / "sample")).load_all()
    monkeypatch.setattr(sample_data, "_MISTAKE_PLAN", [])  # same drawing, labels without the mistakes
    truth = {r.path.name: r for r in open_dataset(sample_data.write_sample(tmp_path / "clean")).load_all()}
    rng = np.random.default_rng(0)
    preds = {
        rec.path: [
            Prediction(
                i.class_id,
                i.box + rng.normal(0, 1, 4),
                0.9,
                np.column_stack(
                    [i.keypoints[:, :2] + rng.normal(0, 0.7, (5, 2)), np.where(i.keypoints[:, 2] > 0, 0.9, 0.1)]
                ),
            )
            for i in truth[rec.path.name].instances
        ]
        for rec in ds
    }

    suspects = find_label_issues(ds, preds)
    expected = {"class_out_of_range": "class_swap"}  # QC names the class the model sees for the bad id
    found = {(s.kind, Path(s.image).name, s.line) for s in suspects[:9]}
    for m in sample_data.INJECTED_MISTAKES:
        assert (expected.get(m.kind, m.kind), m.image, m.line) in found, m
    assert len(suspects) == 9  # 4 landmark suspects on the flipped face, one for each other mistake
    assert all(s.score >= 0.7 for s in suspects)
    swapped = [s for s in suspects if s.kind == "landmark_off"]
    assert sorted(s.evidence["swapped_with"] for s in swapped) == [0, 1, 3, 4]


def test_benchmark_runs_and_reports(capsys, monkeypatch):
    """benchmarks/qc.py stays runnable, and says so when cleanlab is absent (as on most machines)."""
    import runpy
    import sys

    monkeypatch.setitem(sys.modules, "cleanlab", None)  # also keeps the slow pandas/sklearn import out
    bench = runpy.run_path(str(Path(__file__).resolve().parents[1] / "benchmarks" / "qc.py"))
    assert bench["main"](["--json", "--images", "60", "--detector", "confident"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["n_images"] == 60 and out["injected"]["class_swap"] > 0 and out["injected"]["missing_label"] > 0
    res = out["detectors"]["confident"]
    assert res["ours"]["image_level"]["precision"] > 0.5
    assert res["ours"]["instance_level"]["missing_label"]["recall"] > 0.5
    assert res["cleanlab"] == {"available": False, "reason": res["cleanlab"]["reason"]}
    assert "pip install -e '.[bench]'" in res["cleanlab"]["reason"]

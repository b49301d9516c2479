"""k-fold QC keeps its fold predictions beside the fold runs and reuses them until the labels change."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _dataset_builders import yolo_det

from workbench.core.prediction import Prediction
from workbench.formats import open_dataset
from workbench.qa.qc_kfold import (
    PREDICTIONS_FILE,
    labels_fingerprint,
    load_kfold_predictions,
    reusable_kfold_run,
    save_kfold_predictions,
)

LABELS = {"train": {f"im{i}": f"{i % 2} 0.5 0.5 0.25 0.25\n" for i in range(6)}}


@pytest.fixture
def ds(tmp_path):
    return open_dataset(yolo_det(tmp_path / "ds", ["a", "b"], LABELS)).load_all()


def _canned(ds) -> dict[Path, list[Prediction]]:
    return {r.path: [Prediction(i.class_id, i.box + 1, 0.9) for i in r.instances] for r in ds.records}


def test_the_fingerprint_changes_with_any_label_edit(ds):
    before = labels_fingerprint(ds, ds.records)
    assert labels_fingerprint(ds, ds.records) == before
    rec = ds.records[2]
    inst = rec.instances[0].copy()
    inst.box = inst.box + np.array([0.5, 0, 0.5, 0])
    rec.set_instances([inst])
    moved = labels_fingerprint(ds, ds.records)
    assert moved != before
    inst = rec.instances[0].copy()
    inst.class_id = 1 - inst.class_id
    rec.set_instances([inst])
    assert labels_fingerprint(ds, ds.records) not in (before, moved)
    assert labels_fingerprint(ds, ds.records[:-1]) != labels_fingerprint(ds, ds.records)  # an image fewer
    ds.classes[0] = "renamed"
    assert labels_fingerprint(ds, ds.records[:-1]) != moved


def test_saved_predictions_come_back_only_for_the_same_labels_folds_and_settings(ds, tmp_path):
    runs = tmp_path / "runs"
    root = runs / "qc_kfold"
    root.mkdir(parents=True)
    preds = _canned(ds)
    fp = labels_fingerprint(ds, ds.records)
    settings = {"epochs": 5, "imgsz": 64}
    save_kfold_predictions(root, ds, preds, 3, fp, settings)
    assert (root / PREDICTIONS_FILE).is_file()
    back = load_kfold_predictions(root, ds, fp)
    assert set(back) == set(preds)
    for p in preds:
        assert [(q.class_id, list(q.box), q.score) for q in back[p]] == [
            (q.class_id, list(q.box), q.score) for q in preds[p]
        ]
    assert reusable_kfold_run(runs, "qc_kfold", ds, fp, 3, settings) == root
    assert reusable_kfold_run(runs, "qc_kfold", ds, fp, 2, settings) is None  # other folds
    assert reusable_kfold_run(runs, "qc_kfold", ds, fp, 3, {**settings, "epochs": 6}) is None
    assert reusable_kfold_run(runs, "qc_kfold", ds, "other labels", 3, settings) is None
    assert load_kfold_predictions(root, ds, "other labels") is None
    (root / PREDICTIONS_FILE).write_text("{not json")
    assert load_kfold_predictions(root, ds, fp) is None and reusable_kfold_run(runs, "qc_kfold", ds, fp, 3) is None


def test_kfold_engine_reuses_its_fold_predictions_until_a_label_changes(ds, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from workbench.train import kfold
    from workbench.train.config import TrainConfig

    trained: list[int] = []

    def fake_train(self, records):
        trained.append(len(records))
        return kfold.FoldModel(len(self.models) + 1, self.root / "f", [r.path for r in records], [], {})

    def fake_predict(self, model, records):
        return {r.path: [Prediction(0, [1, 1, 9, 9], 0.5)] for r in records}

    monkeypatch.setattr(kfold.EngineFolds, "train", fake_train)
    monkeypatch.setattr(kfold.EngineFolds, "predict", fake_predict)
    base = TrainConfig(data=str(ds.source), out=str(tmp_path / "runs"), epochs=1, weights="none")
    lines: list[str] = []
    first = kfold.kfold_engine_predictions(ds, 2, base, log=lines.append)
    assert not first.reused and trained == [3, 3] and (first.root / PREDICTIONS_FILE).is_file()
    again = kfold.kfold_engine_predictions(ds, 2, base, log=lines.append)
    assert again.reused and again.root == first.root and trained == [3, 3]
    assert set(again.predictions) == set(first.predictions) and "reusing the fold predictions" in lines[-1]
    # A label edit: new fold models.
    rec = ds.records[0]
    inst = rec.instances[0].copy()
    inst.class_id = 1
    rec.set_instances([inst])
    third = kfold.kfold_engine_predictions(ds, 2, base)
    assert not third.reused and third.root != first.root and trained == [3, 3, 3, 3]
    assert not kfold.kfold_engine_predictions(ds, 2, base, reuse=False).reused

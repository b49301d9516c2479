"""k-fold label QC with the real engine: each fold model trains on exactly the other folds (CPU, seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _train_data import light_config, write_rect_dataset

from workbench.formats import open_dataset
from workbench.train import engine, kfold
from workbench.train.config import TrainConfig
from workbench.train.engine import train
from workbench.train.runs import read_config


def _config(data: Path, out: Path, **kw) -> TrainConfig:
    return light_config(data, out, **kw)


class _Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def on_log(self, event) -> None:
        self.lines.append(event.message)


@pytest.fixture
def data(tmp_path) -> Path:
    return write_rect_dataset(tmp_path / "ds", n_train=4, n_val=2, size=64)


@pytest.fixture
def trained_on(monkeypatch) -> list[list[Path]]:
    """The image paths of every training dataset the engine builds, in order: what each run really learned."""
    seen: list[list[Path]] = []

    class Spy(engine.DetectionDataset):
        def __init__(self, records, *args, **kwargs) -> None:
            seen.append([r.path for r in records])
            super().__init__(records, *args, **kwargs)

    monkeypatch.setattr(engine, "DetectionDataset", Spy)
    return seen


def test_train_images_pick_records_from_any_split(data, tmp_path, trained_on):
    ds = open_dataset(data)
    val0 = next(r.path for r in ds.records if r.path.name == "val0.png")
    # Absolute, or relative to the dataset root; the split does not matter.
    cfg = _config(
        data,
        tmp_path / "runs",
        train_images=[str(val0), "images/train/train1.png"],
        val_images=["images/train/train0.png"],
        max_iterations_per_epoch=1,
    )
    log = _Log()
    result = train(cfg, [log])
    assert result.reason == "finished", result.message
    assert [p.name for p in trained_on[0]] == ["val0.png", "train1.png"]
    assert any("2 training / 1 validation images" in line for line in log.lines), log.lines
    saved = read_config(result.run_dir)
    assert saved["train_images"] == cfg.train_images and saved["val_images"] == cfg.val_images


def test_train_images_missing_from_the_dataset_are_an_error(data, tmp_path):
    cfg = _config(data, tmp_path / "runs", train_images=["images/train/train0.png", "images/train/gone.png"])
    result = train(cfg)
    assert result.reason == "error"
    assert "1 of the 2 listed images are not in this dataset (e.g. images/train/gone.png)" in result.message


def test_every_image_is_judged_by_a_fold_model_that_never_trained_on_it(data, tmp_path, trained_on, monkeypatch):
    predicted_by: dict[Path, list[Path]] = {}  # image -> checkpoints that predicted it

    class RecordingPredictor(kfold.Predictor):
        def predict_paths(self, paths, *args, **kwargs):
            paths = list(paths)
            for p in paths:
                predicted_by.setdefault(Path(p), []).append(self.checkpoint_path)
            return super().predict_paths(paths, *args, **kwargs)

    monkeypatch.setattr(kfold, "Predictor", RecordingPredictor)
    ds = open_dataset(data)
    every = {r.path for r in ds.records}
    lines: list[str] = []
    result = kfold.kfold_engine_predictions(ds, 2, _config(data, tmp_path / "runs"), log=lines.append)

    assert set(result.predictions) == every and len(result.folds) == 2
    assert result.root == tmp_path / "runs" / "qc_kfold"
    for fold, learned in zip(result.folds, trained_on, strict=True):
        # The engine built its training set from exactly the other folds, and validated on the held-out one.
        assert set(learned) == set(fold.trained_on) and not set(fold.trained_on) & set(fold.held_out)
        assert set(fold.trained_on) | set(fold.held_out) == every
        assert fold.run_dir == result.root / f"fold{fold.fold}" and fold.weights.is_file()
        assert read_config(fold.run_dir)["train_images"] == [str(p) for p in fold.trained_on]
    for image, checkpoints in predicted_by.items():
        assert len(checkpoints) == 1, f"{image} was predicted {len(checkpoints)} times"
        fold = next(f for f in result.folds if f.weights == checkpoints[0])
        assert image in fold.held_out and image not in trained_on[fold.fold - 1]
    assert set(predicted_by) == every
    assert [line.split(":")[0] for line in lines] == ["fold 1/2"] * 2 + ["fold 2/2"] * 2


def test_a_fold_that_cannot_train_says_why_before_any_run_folder(data, tmp_path):
    ds = open_dataset(data)
    with pytest.raises(ValueError, match="cannot make 7 folds from 6 images"):
        kfold.kfold_engine_predictions(ds, 7, _config(data, tmp_path / "runs"))
    assert not (tmp_path / "runs").exists()
    with pytest.raises(kfold.FoldTrainingError, match="fold 1/2: training ended \\(error\\)") as e:
        kfold.kfold_engine_predictions(ds, 2, _config(data, tmp_path / "runs", weights=str(tmp_path / "nope.pt")))
    assert e.value.reason == "error" and "nope.pt" in str(e.value)

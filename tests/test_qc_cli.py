"""`workbench qc`: the ranking headless, with a fake predictor standing in for the engine."""

from __future__ import annotations

import json
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import yaml

from workbench.cli.main import main
from workbench.core.prediction import Prediction
from workbench.formats import open_dataset


class _FakePredictor:
    """The engine's Predictor API (``classes``, ``keypoints``, ``predict_paths``) over canned predictions."""

    canned: dict[Path, list[Prediction]] = {}
    classes: list[str] = []
    made: list[dict] = []

    def __init__(self, weights, device="auto", conf=0.01):
        type(self).made.append({"weights": Path(weights), "device": device, "conf": conf})
        self.classes = list(type(self).classes)
        self.keypoints = None
        self.failed: dict[Path, str] = {}

    def predict_paths(self, paths, batch_size=4, conf=None, progress=None):
        out = {}
        for p in paths:
            p = Path(p)
            if p.resolve() in self.canned:
                out[p] = self.canned[p.resolve()]
            else:
                self.failed[p] = "cannot decode"
        return out


@pytest.fixture
def fake_engine(monkeypatch, sample_yaml):
    """The sample dataset, a checkpoint file, and predictions that echo its labels except in two places."""
    ds = open_dataset(sample_yaml).load_all()
    canned: dict[Path, list[Prediction]] = {}
    for rec in ds.records:
        canned[rec.path.resolve()] = [
            Prediction(
                i.class_id,
                i.box + 1.0,
                0.9,
                None if i.keypoints is None else np.column_stack([i.keypoints[:, :2], np.full(5, 0.9)]),
            )
            for i in rec.instances
        ]
    swap = next(r for r in ds.split("val") if r.instances and r.instances[0].class_id == 0)
    canned[swap.path.resolve()][0].class_id = 2  # the model says 'alien' where line 1 says 'face'
    unlabeled = ds.split("val")[-1]
    canned[unlabeled.path.resolve()].append(Prediction(1, [2, 2, 40, 50], 0.85))

    _FakePredictor.canned, _FakePredictor.classes, _FakePredictor.made = canned, list(ds.classes), []
    module = types.ModuleType("workbench.train.predictor")
    module.Predictor = _FakePredictor
    module.DEFAULT_CONF = 0.01
    monkeypatch.setitem(sys.modules, "workbench.train.predictor", module)
    weights = sample_yaml.parent / "model.pt"
    weights.write_bytes(b"fake")
    return sample_yaml, weights, ds.rel(swap.path), ds.rel(unlabeled.path)


def test_json_ranks_the_disagreements(fake_engine, capsys):
    data, weights, swapped, unlabeled = fake_engine
    assert main(["qc", str(weights), str(data), "--json", "--split", "val", "--conf", "0.05"]) == 0
    out = json.loads(capsys.readouterr().out)
    # The model echoes the val split's labels: measured there it judges reliably, and both
    # disagreements are likely mistakes (ranked by the probability that the label is wrong).
    model = out["model"]
    assert model["judges_reliably"] is True and model["source"] == "held-out images" and model["images"] == 12
    assert model["val_mAP50"] > 0.9 and model["classes_match"] is True
    assert [c["name"] for c in model["classes"]] == ["face", "robot", "alien"]
    top = sorted(out["suspects"][:2], key=lambda s: s["kind"])
    assert [(s["kind"], s["image"]) for s in top] == [("class_swap", swapped), ("missing_label", unlabeled)]
    assert out["likely"] == 2 and all(s["likely"] and s["p_wrong"] > 0.5 and s["in_sample"] is False for s in top)
    assert top[0]["line"] == 1 and top[0]["label_file"] == swapped.replace("images", "labels").replace(".jpg", ".txt")
    assert top[0]["suggestion"] == {"action": "set_class", "value": 2}
    assert "labeled 'face' but the model sees 'alien'" in top[0]["message"]
    assert top[1]["suggestion"]["box"] == [2.0, 2.0, 40.0, 50.0] and top[1]["line"] is None
    # The labels the model echoes are not suspects at all; only the val split was predicted.
    assert len(out["suspects"]) == out["total"] == 2 and out["images"] == 12
    assert _FakePredictor.made == [{"weights": weights, "device": "auto", "conf": 0.05}]


def test_table_and_top(fake_engine, capsys):
    data, weights, swapped, _ = fake_engine
    assert main(["qc", str(weights), str(data), "--top", "1"]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].startswith("model: mAP50 ") and "judges labels reliably" in lines[0]
    assert lines[1].split() == ["#", "p", "kind", "where", "message"]
    label_file = swapped.replace("images", "labels").replace(".jpg", ".txt")
    row = lines[2].split()
    assert row[:2] == ["1", "!"] and 0.5 < float(row[2]) <= 1.0
    assert row[3:5] in (["class_swap", f"{label_file}:1"], ["missing_label", row[4]])
    assert lines[-1].startswith("top 1 of 2 suspects in 48 images (class_swap 1, missing_label 1); 2 likely")


def test_run_folder_prefers_best_then_last(fake_engine, tmp_path, capsys):
    data, _, _, _ = fake_engine
    run = tmp_path / "run"
    run.mkdir()
    assert main(["qc", str(run), str(data)]) == 2
    assert "holds no best.pt or last.pt" in capsys.readouterr().err
    (run / "last.pt").write_bytes(b"x")
    assert main(["qc", str(run), str(data), "--json"]) == 0
    (run / "best.pt").write_bytes(b"x")
    assert main(["qc", str(run), str(data), "--json"]) == 0
    assert [m["weights"].name for m in _FakePredictor.made] == ["last.pt", "best.pt"]


def test_clear_errors(fake_engine, tmp_path, capsys):
    data, weights, _, _ = fake_engine
    assert main(["qc", str(tmp_path / "nope.pt"), str(data)]) == 2
    assert "nope.pt: no such checkpoint file or run folder" in capsys.readouterr().err
    assert main(["qc", str(weights), str(data), "--split", "test"]) == 2
    assert "no images in split 'test' (splits: train, val)" in capsys.readouterr().err
    _FakePredictor.classes = ["person"]
    assert main(["qc", str(weights), str(data)]) == 2
    err = capsys.readouterr().err
    assert f"{weights}: checkpoint classes [person] do not match the dataset's [face, robot, alien] ({data})" in err
    _FakePredictor.classes = ["a", "b", "c"]  # same count, other names: no longer compared by id
    assert main(["qc", str(weights), str(data), "--json"]) == 2
    assert "--class-map" in capsys.readouterr().err


def test_with_the_real_engine(sample_yaml, tmp_path, capsys):
    """An untrained checkpoint from the real engine on two images: the command runs end to end on CPU."""
    torch = pytest.importorskip("torch")
    try:
        from workbench.train.checkpoint import make_checkpoint, save_checkpoint
        from workbench.train.models import build_model
    except ImportError as e:  # the engine is written in parallel and may be absent
        pytest.skip(f"workbench.train is not available: {e}")
    small = tmp_path / "small"
    for sub in ("images", "labels"):
        (small / sub / "val").mkdir(parents=True)
    for stem in ("val_000", "val_001"):
        shutil.copy(sample_yaml.parent / "images" / "val" / f"{stem}.jpg", small / "images" / "val")
        shutil.copy(sample_yaml.parent / "labels" / "val" / f"{stem}.txt", small / "labels" / "val")
    config = yaml.safe_load(sample_yaml.read_text())
    config["train"] = config["val"] = "images/val"
    (small / "data.yaml").write_text(yaml.safe_dump(config))
    ds = open_dataset(small / "data.yaml")
    name = "ssdlite320_mobilenet_v3_large"  # the quickest of the engine's models on CPU
    torch.manual_seed(0)
    model = build_model(name, ds.nc, imgsz=320)
    ckpt = make_checkpoint(
        model_state=model.state_dict(),
        model_name=name,
        classes=ds.classes,
        keypoints=None,
        imgsz=320,
        frozen_bn=False,
        epoch=0,
        model_options=None,
        best_fitness=None,
        config={},
    )
    weights = save_checkpoint(tmp_path / "run" / "last.pt", ckpt)
    assert main(["qc", str(weights.parent), str(small), "--json", "--device", "cpu", "--top", "0"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["images"] == 2 and len(out["suspects"]) == out["total"] > 0
    assert {s["kind"] for s in out["suspects"]} <= {"spurious_label", "missing_label", "class_swap", "bad_box"}
    assert all(s["image"].startswith("images/val/val_00") for s in out["suspects"])


# ----------------------------------------------------------------------------- --kfold

KFOLD_FLAGS = ["--epochs", "1", "--imgsz", "64", "--batch", "2", "--weights", "none", "--device", "cpu"]


@pytest.fixture
def rect_data(tmp_path) -> Path:
    from _train_data import write_rect_dataset

    return write_rect_dataset(tmp_path / "ds", n_train=4, n_val=2, size=64)


def test_kfold_json_is_out_of_sample(rect_data, tmp_path, monkeypatch, capsys):
    """The real engine trains both fold models; each trains on the other fold's images only."""
    pytest.importorskip("torch")
    import dataclasses

    from _train_data import LIGHT

    from workbench.train import kfold

    configs = []
    real_train = kfold.train

    def light_train(config, *args, **kwargs):  # the CLI's flags, plus the options that keep CPU training quick
        config = dataclasses.replace(config, model_options=dict(LIGHT), workers=0, frozen_bn=True)
        configs.append(config)
        return real_train(config, *args, **kwargs)

    monkeypatch.setattr(kfold, "train", light_train)
    runs = tmp_path / "runs"
    assert main(["qc", str(rect_data), "--kfold", "2", *KFOLD_FLAGS, "--out", str(runs), "--json", "--top", "0"]) == 0
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert report["images"] == 6 and len(report["suspects"]) == report["total"] > 0
    assert {"kind", "image", "score", "message"} <= set(report["suspects"][0])
    oos = report["out_of_sample"]
    assert oos["k"] == 2 and oos["runs"] == str(runs / "qc_kfold")
    assert [(f["fold"], f["trained_on"], f["held_out"]) for f in oos["folds"]] == [(1, 3, 3), (2, 3, 3)]
    assert "mAP50" in oos["folds"][0]["metrics"]
    # A 1-epoch model at 64 px finds next to nothing: measured on every image (out of sample),
    # it is too weak to judge, and no suspect is shown as a likely mistake.
    model = report["model"]
    assert model["source"] == "k-fold" and model["images"] == 6 and model["judges_reliably"] is False
    assert "too weak" in model["reason"] and report["likely"] == 0
    assert not any(s["likely"] for s in report["suspects"]) and all(s["in_sample"] is False for s in report["suspects"])
    # The fold models got the command's flags, and between them learned every image exactly once.
    assert [(c.epochs, c.imgsz, c.weights, c.batch, c.device) for c in configs] == [(1, 64, "none", 2, "cpu")] * 2
    images = open_dataset(rect_data).records
    assert sorted(configs[0].train_images + configs[1].train_images) == sorted(str(r.path) for r in images)
    assert set(configs[0].train_images) == set(configs[1].val_images)
    assert "fold 1/2: training on 3 images, 3 held out" in out.err and "fold 2/2: trained in" in out.err


def _fake_kfold(monkeypatch, fake_engine) -> dict:
    """kfold_engine_predictions replaced by the canned predictions of ``fake_engine``: the CLI side alone."""
    # kfold imports the real predictor (through evaluate): import it past the fake one, then
    # put the fake back, so the test passes alone as in the whole run.
    fake = sys.modules.pop("workbench.train.predictor")
    from workbench.train import kfold

    monkeypatch.setitem(sys.modules, "workbench.train.predictor", fake)

    calls: dict = {}

    def fake(ds, k, base, *, records=None, conf=0.01, log=None, **kw):
        calls.update(k=k, base=base, records=[r.path for r in records], conf=conf)
        log("fold 1/2: training on ...")
        canned = _FakePredictor.canned
        predictions = {r.path: canned[r.path.resolve()] for r in records}
        root = Path(base.out) / "qc_kfold"
        return kfold.KFoldResult(predictions, [], root, {})

    monkeypatch.setattr(kfold, "kfold_engine_predictions", fake)
    return calls


def test_kfold_table_and_split(fake_engine, monkeypatch, capsys):
    data, _, swapped, _ = fake_engine
    calls = _fake_kfold(monkeypatch, fake_engine)
    assert main(["qc", str(data), "--kfold", "3", "--split", "val", "--conf", "0.05", "--epochs", "2"]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0].startswith("model: mAP50 ") and "(k-fold)" in lines[0]
    assert lines[1].split() == ["#", "p", "kind", "where", "message"]
    assert {lines[2].split()[3], lines[3].split()[3]} == {"class_swap", "missing_label"}
    assert lines[-2].startswith("2 suspects in 12 images")
    assert lines[-1].startswith("out-of-sample: each image judged by the one of 3 fold models")
    assert "fold 1/2" in out.err
    # Unset training flags keep `workbench train`'s defaults.
    base = calls["base"]
    assert (calls["k"], calls["conf"], len(calls["records"])) == (3, 0.05, 12)
    assert (base.epochs, base.imgsz, base.weights, base.model, base.out, base.data) == (
        2,
        640,
        "default",
        "",
        "runs",
        str(data),
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "qc needs a model and a dataset"),
        (["DATA"], "qc needs a model and a dataset"),
        (["WEIGHTS", "DATA", "--epochs", "3"], "--epochs only applies with --kfold K"),
        (["WEIGHTS", "DATA", "--out", "r", "--model", "m"], "--model, --out only apply with --kfold K"),
        (["WEIGHTS", "DATA", "--kfold", "2"], "--kfold 2 trains its own fold models and takes only DATA, but got both"),
        (["--kfold", "2"], "takes only DATA, but got no DATA"),
        (["DATA", "--kfold", "1"], "--kfold 1: k-fold needs at least 2 folds"),
        (
            ["DATA", "--kfold", "13", "--split", "val"],
            "--kfold 13: {data} has only 12 images to split in 'val'; use --kfold 2..12",
        ),
    ],
)
def test_kfold_bad_invocations(fake_engine, monkeypatch, capsys, argv, message):
    data, weights, _, _ = fake_engine
    calls = _fake_kfold(monkeypatch, fake_engine)
    argv = [{"DATA": str(data), "WEIGHTS": str(weights)}.get(a, a) for a in argv]
    assert main(["qc", *argv]) == 2
    assert message.format(data=data) in capsys.readouterr().err
    assert not calls


def test_kfold_fold_that_cannot_train_exits_2(rect_data, tmp_path, capsys):
    pytest.importorskip("torch")
    nope = tmp_path / "nope.pt"
    assert (
        main(
            [
                "qc",
                str(rect_data),
                "--kfold",
                "2",
                *KFOLD_FLAGS[:-4],
                "--weights",
                str(nope),
                "--out",
                str(tmp_path / "runs"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "fold 1/2: training ended (error)" in err and "nope.pt" in err

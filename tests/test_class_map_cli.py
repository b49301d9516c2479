"""`qc`, `eval` and `predict` refuse a checkpoint of other classes (exit 2, both lists), unless
``--class-map`` says how the names correspond; the same names in another order are remapped."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from workbench.cli.main import main
from workbench.core.prediction import Prediction
from workbench.formats import open_dataset

# ----------------------------------------------------------------------------- qc (fake predictor)


class _Echo:
    """The Predictor API over canned predictions in the checkpoint's own class ids."""

    classes: list[str] = []
    canned: dict[Path, list[Prediction]] = {}

    def __init__(self, weights, device="auto", conf=0.01):
        self.classes = list(type(self).classes)
        self.keypoints = None
        self.failed: dict[Path, str] = {}

    def predict_paths(self, paths, batch_size=4, conf=None, progress=None):
        return {
            Path(p): [Prediction(x.class_id, x.box, x.score) for x in self.canned[Path(p).resolve()]] for p in paths
        }


@pytest.fixture
def echo_engine(monkeypatch, sample_yaml):
    """The sample (face, robot, alien) and a model that sees every label, with its classes named as the test says."""
    ds = open_dataset(sample_yaml).load_all()
    module = types.ModuleType("workbench.train.predictor")
    module.Predictor = _Echo
    module.DEFAULT_CONF = 0.01
    monkeypatch.setitem(sys.modules, "workbench.train.predictor", module)
    weights = sample_yaml.parent / "model.pt"
    weights.write_bytes(b"fake")

    def model(classes: list[str], ids: dict[int, int]) -> None:
        """The model calls class ``c`` of the dataset ``ids[c]`` of its own."""
        _Echo.classes = classes
        _Echo.canned = {
            r.path.resolve(): [Prediction(ids[i.class_id], i.box + 1.0, 0.9) for i in r.instances if i.class_id in ids]
            for r in ds.records
        }

    return sample_yaml, weights, model


def _qc(weights: Path, data: Path, *extra: str) -> tuple[int, dict | None, str]:
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(["qc", str(weights), str(data), "--json", "--split", "val", "--top", "0", *extra])
    return rc, json.loads(out.getvalue()) if rc == 0 else None, err.getvalue()


def test_qc_refuses_other_classes_with_both_lists(echo_engine):
    data, weights, model = echo_engine
    model(["face", "hand", "robot"], {0: 0, 1: 2, 2: 1})
    rc, _, err = _qc(weights, data)
    assert rc == 2
    assert (
        f"{weights}: checkpoint classes [face, hand, robot] do not match the dataset's "
        f"[face, robot, alien] ({data})" in err
    )
    assert "--class-map" in err and "Traceback" not in err


def test_qc_maps_reordered_names_without_being_asked(echo_engine):
    """A checkpoint [alien, face, robot]: its id 0 is the dataset's 2. Mapped by name, the echo agrees."""
    data, weights, model = echo_engine
    model(["alien", "face", "robot"], {0: 1, 1: 2, 2: 0})
    rc, out, err = _qc(weights, data)
    assert rc == 0 and out["total"] == 0, out["suspects"][:3]  # by id, every label would be a class swap
    assert "classes reordered by name" in err


def test_qc_class_map(echo_engine):
    data, weights, model = echo_engine
    model(["person", "bot", "et"], {0: 0, 1: 1, 2: 2})
    rc, out, _ = _qc(weights, data, "--class-map", "person=face,bot=robot,et=alien")
    assert rc == 0 and out["total"] == 0
    # Alien ignored: its labels look unseen by the model, which is what the user asked for.
    rc, out, err = _qc(weights, data, "--class-map", "person=face,bot=robot,et=ignore")
    assert rc == 0 and out["total"] > 0 and set(out["by_kind"]) == {"spurious_label"}
    assert "et ignored" in err
    rc, _, err = _qc(weights, data, "--class-map", "persn=face")
    assert rc == 2 and "--class-map: 'persn' is not a class of" in err and "[person, bot, et]" in err
    rc, _, err = _qc(weights, data, "--class-map", "person")
    assert rc == 2 and "is not CKPT_NAME=DATASET_NAME" in err


# ----------------------------------------------------------------------------- eval / predict (real engine)


@pytest.fixture(scope="module")
def untrained(tmp_path_factory) -> dict[str, Path]:
    """A tiny box dataset (box, bar) and untrained checkpoints of the quickest model, under other class names."""
    torch = pytest.importorskip("torch")
    from _train_data import write_rect_dataset

    from workbench.train.checkpoint import make_checkpoint, save_checkpoint
    from workbench.train.models import build_model

    root = tmp_path_factory.mktemp("class_map")
    data = write_rect_dataset(root / "ds", n_train=1, n_val=2, size=64)
    name = "ssdlite320_mobilenet_v3_large"
    torch.manual_seed(0)
    state = build_model(name, 2, imgsz=320).state_dict()
    out = {"data": data}
    for key, classes in {"other": ["face", "hand"], "reordered": ["bar", "box"]}.items():
        ckpt = make_checkpoint(
            model_state=state,
            model_name=name,
            classes=classes,
            keypoints=None,
            imgsz=320,
            frozen_bn=False,
            epoch=0,
            model_options=None,
            best_fitness=None,
            config={},
        )
        out[key] = save_checkpoint(root / key / "best.pt", ckpt)
    return out


def test_eval_refuses_then_maps(untrained, capsys):
    data, weights = untrained["data"], untrained["other"]
    assert main(["eval", str(weights), str(data), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert f"{weights}: checkpoint classes [face, hand] do not match the dataset's [box, bar] ({data})" in err
    assert "--class-map" in err
    argv = ["eval", str(weights), str(data), "--device", "cpu", "--json", "--class-map", "face=box,hand=bar"]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["per_class"]) == {"box", "bar"}  # scored in the dataset's classes


def test_predict_on_a_dataset_writes_its_class_ids(untrained, tmp_path, capsys):
    data = untrained["data"]
    assert main(["predict", str(untrained["other"]), str(data), "--out", str(tmp_path / "o"), "--conf", "0"]) == 2
    assert "do not match the dataset's [box, bar]" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
    argv = ["predict", str(untrained["reordered"]), str(data), "--out", str(tmp_path / "r"), "--conf", "0"]
    assert main([*argv, "--device", "cpu"]) == 0
    results = json.loads((tmp_path / "r" / "predictions.json").read_text())
    assert results, "an untrained model at conf 0 still says something"
    names = ["box", "bar"]
    assert all(names[r["category_id"]] == r["category_name"] for r in results)
    # On bare images the checkpoint's own ids (0 = bar); on the dataset the same detections in its ids (bar = 1).
    images = data.parent / "images" / "val"
    assert (
        main(["predict", str(untrained["reordered"]), str(images), "--out", str(tmp_path / "raw"), "--conf", "0"]) == 0
    )
    raw = json.loads((tmp_path / "raw" / "predictions.json").read_text())

    val = [r for r in results if r["file_name"].startswith("images/val/")]

    def by_box(entries):
        return sorted((Path(r["file_name"]).name, r["bbox"], r["score"], r["category_name"]) for r in entries)

    assert by_box(raw) == by_box(val)  # each detection keeps its class name
    assert {(r["category_name"], r["category_id"]) for r in raw} <= {("bar", 0), ("box", 1)}
    assert {(r["category_name"], r["category_id"]) for r in val} <= {("bar", 1), ("box", 0)}


def test_predict_class_map_needs_a_dataset(untrained, tmp_path, capsys):
    images = untrained["data"].parent / "images" / "val"
    argv = ["predict", str(untrained["other"]), str(images), "--out", str(tmp_path / "o"), "--class-map", "face=box"]
    assert main(argv) == 2
    assert "is not a dataset" in capsys.readouterr().err

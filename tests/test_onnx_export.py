"""`workbench export --format onnx`, its verification, and running the export without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import onnx  # noqa: E402
import torch  # noqa: E402

from workbench.cli.main import main  # noqa: E402
from workbench.core.keypoints import KeypointSchema  # noqa: E402
from workbench.core.prediction import Prediction  # noqa: E402
from workbench.runtime.agreement import compare_detections  # noqa: E402
from workbench.runtime.onnx_meta import OnnxMeta  # noqa: E402
from workbench.runtime.onnx_predictor import OnnxPredictor  # noqa: E402
from workbench.train import onnx_export  # noqa: E402
from workbench.train.checkpoint import make_checkpoint, save_checkpoint  # noqa: E402
from workbench.train.models import build_model  # noqa: E402

IMGSZ = 128
CLASSES = ["cat", "dog"]
REPO = Path(__file__).resolve().parents[1]


def _checkpoint(path: Path, name: str, keypoints: KeypointSchema | None = None) -> Path:
    """An untrained model whose weights are shaken a little: an untrained torchvision detector
    gives near-equal scores, and tied boxes make any comparison of two runs arbitrary."""
    torch.manual_seed(0)
    model = build_model(name, len(CLASSES), keypoints.num_keypoints if keypoints else None, IMGSZ)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.02)
    ckpt = make_checkpoint(
        model_state=model.state_dict(),
        model_name=name,
        classes=CLASSES,
        keypoints=None if keypoints is None else keypoints.to_dict(),
        imgsz=IMGSZ,
        frozen_bn=False,
        epoch=0,
        model_options=None,
        best_fitness=None,
        config={},
        metrics={"mAP50": 0.5},
    )
    return save_checkpoint(path, ckpt)


def _images(folder: Path, sizes: list[tuple[int, int]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    for i, (h, w) in enumerate(sizes):
        img = (rng.random((h, w, 3)) * 255).astype(np.uint8)
        img[h // 4 : h // 2, w // 4 : w // 2] = (20, 200, 40)
        ok, buf = cv2.imencode(".png", img)
        assert ok
        (folder / f"img{i}.png").write_bytes(buf.tobytes())
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A box model's checkpoint and its fixed-size export, made through the CLI."""
    root = tmp_path_factory.mktemp("onnx")
    ckpt = _checkpoint(root / "best.pt", "fasterrcnn_mobilenet_v3_large_fpn")
    out = root / "model.onnx"
    assert main(["export", str(ckpt), "--format", "onnx", "--out", str(out)]) == 0
    return ckpt, out


def test_export_writes_metadata_that_round_trips(exported, capsys):
    _ckpt, out = exported
    proto = onnx.load(str(out))
    props = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(props["classes"]) == CLASSES
    assert props["model_name"] == "fasterrcnn_mobilenet_v3_large_fpn"
    assert json.loads(props["keypoints"]) is None
    spec = json.loads(props["input"])
    assert spec["size"] == [IMGSZ, IMGSZ] and spec["channels"] == "RGB" and spec["resize"] == "letterbox"
    assert spec["normalize_in_graph"]["mean"] == pytest.approx([0.485, 0.456, 0.406])
    meta = OnnxMeta.from_props(props, str(out))
    assert meta.to_props() == props
    assert meta.outputs == ["boxes", "labels", "scores"] and meta.label_offset == 1
    assert not list(out.parent.glob(".*.tmp"))  # the temporary sibling is gone


def test_onnx_predict_writes_the_same_json_as_torch(exported, tmp_path):
    ckpt, model = exported
    images = _images(tmp_path / "imgs", [(IMGSZ, IMGSZ), (IMGSZ, IMGSZ)])  # square: letterboxing is a no-op
    assert main(["predict", str(ckpt), str(images), "--out", str(tmp_path / "pt"), "--conf", "0.05"]) == 0
    assert main(["predict", str(model), str(images), "--out", str(tmp_path / "ox"), "--conf", "0.05"]) == 0
    pt = json.loads((tmp_path / "pt" / "predictions.json").read_text())
    ox = json.loads((tmp_path / "ox" / "predictions.json").read_text())
    assert pt, "the shaken model must detect something for the comparison to mean anything"
    assert [sorted(e) for e in ox] == [sorted(e) for e in pt]
    assert [(e["file_name"], e["category_name"]) for e in ox] == [(e["file_name"], e["category_name"]) for e in pt]
    np.testing.assert_allclose([e["bbox"] for e in ox], [e["bbox"] for e in pt], atol=0.05)
    np.testing.assert_allclose([e["score"] for e in ox], [e["score"] for e in pt], atol=1e-3)


def test_onnx_predict_does_not_import_torch(exported, tmp_path):
    _ckpt, model = exported
    images = _images(tmp_path / "imgs", [(100, 140)])
    code = (
        "import sys\n"
        "from workbench.cli.main import main\n"
        f"rc = main(['predict', {str(model)!r}, {str(images)!r}, '--out', {str(tmp_path / 'out')!r}, "
        "'--save-images', '--conf', '0.01'])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision'))\n"
        "print('LOADED', loaded)\n"
        "sys.exit(rc)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env)
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout, done.stdout
    entries = json.loads((tmp_path / "out" / "predictions.json").read_text())
    assert all(0 <= e["bbox"][0] and e["bbox"][0] + e["bbox"][2] <= 140.01 for e in entries)  # clipped to the image
    assert (tmp_path / "out" / "img0.jpg").is_file()


def test_a_disagreeing_export_fails_and_leaves_no_file(exported, tmp_path, monkeypatch, capsys):
    ckpt, _model = exported
    real = onnx_export.open_session

    class Shifted:
        """onnxruntime's answers with every score raised by 0.01."""

        def __init__(self, session):
            self.session = session

        def get_outputs(self):
            return self.session.get_outputs()

        def run(self, names, feeds):
            values = self.session.run(names, feeds)
            return [v + 0.01 if n == "scores" else v for n, v in zip(names, values, strict=True)]

    monkeypatch.setattr(onnx_export, "open_session", lambda path, device="cpu": Shifted(real(path, device)))
    out = tmp_path / "bad.onnx"
    assert main(["export", str(ckpt), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "failed verification" in err and "PyTorch detection" in err and "not written" in err
    assert not out.exists()
    assert not list(tmp_path.glob(".*"))


def test_keypoint_model_exports_dynamic_and_predicts_landmarks(tmp_path, capsys):
    schema = KeypointSchema.face5()
    ckpt = _checkpoint(tmp_path / "kp.pt", "keypointrcnn_mobilenet_v3_large_fpn", schema)
    out = tmp_path / "kp.onnx"
    assert main(["export", str(ckpt), "--dynamic", "--out", str(out)]) == 0
    assert "5 keypoints" in capsys.readouterr().out
    predictor = OnnxPredictor(out, device="cpu", conf=0.01)
    assert predictor.keypoints is not None
    assert predictor.keypoints.to_dict() == schema.to_dict()
    assert predictor.meta.input.size is None
    images = _images(tmp_path / "imgs", [(90, 150), (160, 120)])
    found = predictor.predict_paths(sorted(images.iterdir()))
    assert len(found) == 2
    preds = [p for ps in found.values() for p in ps]
    assert preds and all(p.keypoints is not None and p.keypoints.shape == (5, 3) for p in preds)
    assert all(0.0 <= p.keypoints[:, 2].min() and p.keypoints[:, 2].max() <= 1.0 for p in preds)


def test_unusable_onnx_files_are_one_line_errors(exported, tmp_path, capsys):
    _ckpt, model = exported
    images = _images(tmp_path / "imgs", [(64, 64)])
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf at all")
    assert main(["predict", str(junk), str(images), "--out", str(tmp_path / "o1")]) == 2
    err = capsys.readouterr().err
    assert str(junk) in err and "not a readable ONNX model" in err and len(err.strip().splitlines()) == 1
    # A valid ONNX graph without Workbench's metadata: no class names to speak.
    proto = onnx.load(str(model))
    del proto.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(proto, str(bare))
    assert main(["predict", str(bare), str(images), "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err
    assert str(bare) in err and "not an ONNX model exported by Workbench" in err
    # Damaged metadata: the entry is named.
    proto = onnx.load(str(model))
    for p in proto.metadata_props:
        if p.key == "classes":
            p.value = "[not json"
    damaged = tmp_path / "damaged.onnx"
    onnx.save(proto, str(damaged))
    assert main(["predict", str(damaged), str(images), "--out", str(tmp_path / "o3")]) == 2
    assert "damaged Workbench ONNX metadata" in capsys.readouterr().err


def test_export_refuses_bad_targets_and_eval_refuses_onnx(exported, tmp_path, capsys):
    ckpt, model = exported
    assert main(["export", str(ckpt), "--out", str(tmp_path)]) == 2
    assert "this is a folder" in capsys.readouterr().err
    assert main(["export", str(ckpt), "--out", str(tmp_path / "model.pt")]) == 2
    assert "ends in .onnx" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.pt")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "data.yaml").write_text("path: .\ntrain: images\nval: images\nnames: [cat, dog]\n")
    _images(data / "images", [(64, 64)])
    assert main(["eval", str(model), str(data / "data.yaml")]) == 2
    assert "needs the PyTorch checkpoint" in capsys.readouterr().err


def test_yolo_checkpoints_are_named_as_a_later_step(tmp_path, capsys):
    ckpt = tmp_path / "yolo.pt"
    torch.save({"model_name": "yolo11n", "model": {"w": torch.zeros(1)}}, ckpt)
    assert main(["export", str(ckpt)]) == 2
    assert "YOLO models is not supported yet" in capsys.readouterr().err


def _p(cls: int, box: list[float], score: float) -> Prediction:
    return Prediction(cls, np.array(box, dtype=float), score)


def test_compare_detections_rules():
    ref = [_p(0, [0, 0, 10, 10], 0.9), _p(1, [20, 20, 40, 40], 0.5)]
    assert compare_detections(ref, list(reversed(ref)), 0.01) == []
    moved = [_p(0, [1, 0, 11, 10], 0.9), ref[1]]  # IoU 0.82
    assert any("IoU" in p for p in compare_detections(ref, moved, 0.01))
    rescored = [_p(0, [0, 0, 10, 10], 0.8985), ref[1]]
    assert compare_detections(ref, rescored, 0.01)
    relabeled = [_p(1, [0, 0, 10, 10], 0.9), ref[1]]
    assert compare_detections(ref, relabeled, 0.01)
    extra = [*ref, _p(0, [50, 50, 60, 60], 0.3)]
    problems = compare_detections(ref, extra, 0.01)
    assert problems[0].startswith("2 PyTorch against 3 ONNX")
    # A detection at the threshold may fall on either side of it in the other run.
    border = [*ref, _p(0, [50, 50, 60, 60], 0.0105)]
    assert compare_detections(ref, border, 0.01) == []


def test_detection_viewer_factory_picks_onnxruntime_by_suffix(exported):
    pytest.importorskip("PySide6")
    from workbench.gui.predictions.runner import default_factory
    from workbench.train.predictor import Predictor

    ckpt, model = exported
    onnx_predictor = default_factory(model)
    assert isinstance(onnx_predictor, OnnxPredictor) and onnx_predictor.classes == CLASSES
    assert onnx_predictor.provenance.val_map50 == pytest.approx(0.5)
    assert isinstance(default_factory(ckpt), Predictor)


def test_runtime_layer_imports_neither_torch_nor_train_nor_qt():
    """``workbench.runtime`` runs exported models where torch is not installed: not even a lazy import."""
    import ast

    banned = ("torch", "torchvision", "PySide6", "workbench.train", "workbench.gui", "workbench.cli")
    for path in sorted((REPO / "workbench" / "runtime").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            bad = [n for n in names if any(n == b or n.startswith(b + ".") for b in banned)]
            assert not bad, f"{path.name}:{node.lineno} imports {bad}"


def test_ssdlite_input_size_cannot_be_changed(tmp_path, capsys):
    ckpt = _checkpoint(tmp_path / "ssd.pt", "ssdlite320_mobilenet_v3_large")
    assert main(["export", str(ckpt), "--imgsz", "256", "--out", str(tmp_path / "ssd.onnx")]) == 2
    assert "always works at 320 px" in capsys.readouterr().err
    assert not (tmp_path / "ssd.onnx").exists()


def test_verification_runs_on_the_images_it_is_given_or_the_training_images(exported, tmp_path, capsys):
    ckpt, _model = exported
    images = _images(tmp_path / "imgs", [(100, 128), (128, 90)])
    out = tmp_path / "m.onnx"
    assert main(["export", str(ckpt), "--out", str(out), "--verify-on", str(images)]) == 0
    assert "verified against PyTorch on 2 images" in capsys.readouterr().out
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["export", str(ckpt), "--out", str(out), "--verify-on", str(empty)]) == 2
    assert "no images found" in capsys.readouterr().err
    # A checkpoint records its training images relative to the dataset root (the config's data).
    data = torch.load(ckpt, weights_only=True)
    data["config"] = {"data": str(tmp_path / "data.yaml")}
    data["trained_on"] = ["imgs/img0.png", "imgs/img1.png", "imgs/gone.png"]
    assert [p.name for p in onnx_export._trained_on_paths(data)] == ["img0.png", "img1.png"]
    found = onnx_export.verification_images(data, IMGSZ)
    assert [name for name, _ in found] == [str(images / "img0.png"), str(images / "img1.png")]


def test_onnx_predict_on_a_dataset_maps_classes_by_name(exported, tmp_path, capsys):
    ckpt, model = exported
    data = tmp_path / "data"
    _images(data / "images", [(IMGSZ, IMGSZ)])
    (data / "labels").mkdir()
    (data / "data.yaml").write_text("path: .\ntrain: images\nval: images\nnames: [dog, cat]\n")
    for weights, out in ((ckpt, "pt"), (model, "ox")):
        assert (
            main(["predict", str(weights), str(data / "data.yaml"), "--out", str(tmp_path / out), "--conf", "0.05"])
            == 0
        )
    pt = json.loads((tmp_path / "pt" / "predictions.json").read_text())
    ox = json.loads((tmp_path / "ox" / "predictions.json").read_text())
    assert pt and [(e["category_id"], e["category_name"]) for e in ox] == [
        (e["category_id"], e["category_name"]) for e in pt
    ]
    assert all(["dog", "cat"][e["category_id"]] == e["category_name"] for e in ox)


def test_an_exporter_failure_is_one_line_naming_the_checkpoint(exported, tmp_path, monkeypatch, capsys):
    ckpt, _model = exported

    def broken(*args, **kwargs):
        raise RuntimeError("Exporting the operator 'aten::frobnicate' to ONNX opset version 17 is not supported.\nmore")

    monkeypatch.setattr(torch.onnx, "export", broken)
    out = tmp_path / "m.onnx"
    assert main(["export", str(ckpt), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert str(ckpt) in err and "aten::frobnicate" in err and len(err.splitlines()) == 1
    assert not out.exists() and not list(tmp_path.glob(".*"))

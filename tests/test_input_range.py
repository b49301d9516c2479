"""The one input normalization for 16-bit data: resolved once, applied by the data pipeline,
stored in the checkpoint, and applied the same way by Predictor and evaluation. No model is
trained here (an untrained checkpoint predicts deterministically, which is all it takes)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from workbench.core.image_io import read_image, read_raw_image
from workbench.core.input_range import InputRange, InputRangeError, check_setting, dataset_range, resolve

W, H = 96, 80
LO, HI = 7000, 8020


def write_thermal(path, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = rng.integers(LO, 7600, (H, W)).astype(np.uint16)
    img[20:50, 30:70] = rng.integers(7800, HI + 1, (30, 40))
    img[0, 0], img[-1, -1] = LO, HI
    ok, buf = cv2.imencode(".png", img)
    assert ok
    path.write_bytes(buf.tobytes())
    return img


@pytest.fixture
def thermal_yolo(tmp_path):
    root = tmp_path / "thermal"
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    for i in range(3):
        write_thermal(root / "images" / "train" / f"t{i}.png", i)
        (root / "labels" / "train" / f"t{i}.txt").write_text("0 0.5 0.4375 0.4167 0.375\n")
    (root / "data.yaml").write_text("train: images/train\nval: images/train\nnames: [warm]\n")
    return root / "data.yaml"


def test_settings_are_checked_and_resolved(tmp_path, thermal_yolo):
    for ok in ("auto", "percentile", "none", "7000,8000", [7000, 8000.5]):
        check_setting(ok)
    for bad in ("fast", [1], [5, 5], "8000,7000", [float("nan"), 1], True):
        with pytest.raises(InputRangeError, match="input"):
            check_setting(bad)
    paths = sorted((thermal_yolo.parent / "images" / "train").glob("*.png"))
    auto = resolve("auto", paths)
    assert auto.mode == "fixed" and LO <= auto.lo < 7100 and 7950 < auto.hi <= HI
    assert (auto.lo, auto.hi) == dataset_range(paths)
    assert resolve("7000, 8000", paths) == InputRange("fixed", 7000, 8000)
    assert resolve("percentile", paths) == InputRange("percentile")
    eight = tmp_path / "e.png"
    eight.write_bytes(cv2.imencode(".png", np.zeros((8, 8, 3), np.uint8))[1].tobytes())
    assert resolve("auto", [eight]) == InputRange()  # 8-bit data: as read, exactly as before
    assert InputRange.from_dict(None) == InputRange()
    assert InputRange.from_dict(auto.to_dict()) == auto
    from workbench.train.config import ConfigError, TrainConfig

    with pytest.raises(ConfigError, match="input_range"):
        TrainConfig(data="x", input_range="bright").check()


def test_mapping_replicates_one_channel_and_spans_the_range():
    raw = np.array([[LO, 7510], [HI, 9000]], np.uint16)
    out = InputRange("fixed", LO, HI).apply(raw)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8
    assert (out[..., 0] == out[..., 2]).all()
    assert out[0, 0, 0] == 0 and out[1, 0, 0] == 255 and out[1, 1, 0] == 255 and 120 < out[0, 1, 0] < 135


@pytest.mark.parametrize("setting", ["auto", "percentile", "none"])
def test_training_tensors_span_the_chosen_range(thermal_yolo, setting):
    """What the model is fed: a full 0..1 span with hundreds of levels, never five grey levels."""
    from workbench.formats.registry import open_dataset
    from workbench.train.data import DetectionDataset

    ds = open_dataset(thermal_yolo)
    records = ds.split("train")
    chosen = resolve(setting, [r.path for r in records])
    data = DetectionDataset(records, None, 1, train=False, input_range=chosen)
    for i in range(len(records)):
        image, target = data[i]
        assert tuple(image.shape) == (3, H, W)
        assert float(image.min()) <= 0.02 and float(image.max()) >= 0.98
        assert len(np.unique(image.numpy())) > 100
        assert len(target["boxes"]) == 1
    if setting == "auto":
        raw = read_raw_image(records[0].path)
        expect = np.clip((raw.astype(np.float32) - chosen.lo) * (255 / (chosen.hi - chosen.lo)), 0, 255)
        got = data[0][0][0].numpy() * 255
        assert np.abs(got - expect).max() <= 1.0


def test_8_bit_images_reach_the_model_exactly_as_before(tmp_path):
    from workbench.core.annotation import ImageRecord
    from workbench.train.data import DetectionDataset

    img = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)
    path = tmp_path / "c.png"
    path.write_bytes(cv2.imencode(".png", img)[1].tobytes())
    tensor = DetectionDataset([ImageRecord(path)], None, 1, train=False)[0][0]
    assert np.array_equal(
        (tensor.numpy() * 255).round().astype(np.uint8), read_image(path)[:, :, ::-1].transpose(2, 0, 1)
    )


def test_checkpoint_carries_the_mapping_to_predictor_and_evaluation(tmp_path, thermal_yolo):
    torch = pytest.importorskip("torch")
    from workbench.formats.registry import open_dataset
    from workbench.train.checkpoint import CheckpointError, make_checkpoint, read_checkpoint, save_checkpoint
    from workbench.train.evaluate import EVAL_CONF, predict_records
    from workbench.train.models import build_model, get_spec
    from workbench.train.predictor import Predictor

    ds = open_dataset(thermal_yolo)
    records = ds.split("train")
    chosen = resolve("auto", [r.path for r in records])
    name = "ssdlite320_mobilenet_v3_large"
    torch.manual_seed(0)
    state = build_model(name, 1, imgsz=320).state_dict()
    common = dict(
        model_state=state,
        model_name=name,
        classes=["warm"],
        keypoints=None,
        imgsz=320,
        frozen_bn=False,
        epoch=0,
        model_options=None,
        best_fitness=None,
        config={},
    )
    weights = save_checkpoint(tmp_path / "best.pt", make_checkpoint(**common, input_range=chosen.to_dict()))
    predictor = Predictor(weights, device="cpu", conf=0.0)
    assert predictor.input_range == chosen
    path = records[0].path
    first = predictor.predict_paths([path])[path]
    second = predictor.predict_paths([path])[path]
    by_hand = predictor.predict(chosen.apply(read_raw_image(path)))
    assert first, "an untrained SSD still scores its anchors"
    for a, b in ((first, second), (first, by_hand)):
        assert np.array_equal(np.stack([p.box for p in a]), np.stack([p.box for p in b]))
    flat = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)  # the five-grey-level image
    assert len(np.unique(flat)) <= 5
    assert not np.array_equal(predictor.read_input(path), flat)
    evaluated = predict_records(
        predictor.model, get_spec(name), records[:1], None, predictor.device, 1, input_range=predictor.input_range
    )[0]
    strong = [p for p in first if p.score >= EVAL_CONF]  # evaluation keeps these
    assert evaluated and len(evaluated) == len(strong)
    np.testing.assert_allclose(
        np.stack([p.box for p in evaluated]), np.stack([p.box for p in strong]), rtol=1e-4, atol=1e-3
    )
    damaged = make_checkpoint(**common, input_range={"mode": "fixed", "lo": 5, "hi": 1})
    bad = save_checkpoint(tmp_path / "bad.pt", damaged)
    with pytest.raises(CheckpointError, match="input_range"):
        read_checkpoint(bad)
    old = save_checkpoint(tmp_path / "old.pt", make_checkpoint(**common))
    assert Predictor(old, device="cpu").input_range == InputRange()


def test_a_run_resolves_its_range_once_and_resume_keeps_the_checkpoints(thermal_yolo):
    """The engine's choice, without building a model: config.yaml then holds the [lo, hi] it chose."""
    from workbench.formats.registry import open_dataset
    from workbench.train.config import TrainConfig
    from workbench.train.engine import _input_range

    records = open_dataset(thermal_yolo).split("train")
    config = TrainConfig(data=str(thermal_yolo))
    chosen = _input_range(config, None, records)
    assert chosen.mode == "fixed" and config.input_range == [chosen.lo, chosen.hi]
    TrainConfig.from_dict(config.to_dict()).check()  # the resolved value is a valid setting again
    stored = {"input_range": InputRange("fixed", 1, 2).to_dict()}
    assert _input_range(TrainConfig(data="x"), stored, records) == InputRange("fixed", 1, 2)
    assert _input_range(TrainConfig(data="x"), {}, records) == InputRange()  # a checkpoint from before


def test_thermal_benchmark_feeds_the_16_bit_and_windowed_copies_the_same_numbers(tmp_path):
    """benchmarks/thermal.py's premise, checked without training: the 16-bit frames through the
    run's range and the windowed 8-bit copy reach the model as the same tensors; OpenCV's cut does not."""
    import importlib.util
    from pathlib import Path

    from workbench.formats.registry import open_dataset
    from workbench.train.data import DetectionDataset

    spec = importlib.util.spec_from_file_location(
        "bench_thermal", Path(__file__).parents[1] / "benchmarks" / "thermal.py"
    )
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    copies = bench.prepare(tmp_path)
    tensors = {}
    for name, data in copies.items():
        records = open_dataset(data).split("train")
        chosen = resolve("auto", [r.path for r in records])
        assert chosen.mode == ("fixed" if name == "raw16" else "none")
        tensors[name] = DetectionDataset(records, None, 1, train=False, input_range=chosen)[0][0].numpy()
    assert np.array_equal(tensors["raw16"], tensors["windowed8"])
    assert len(np.unique(tensors["cut8"])) <= 5 < len(np.unique(tensors["raw16"]))

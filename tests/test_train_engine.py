"""The training loop end to end on tiny generated datasets (CPU, seconds per test)."""

from __future__ import annotations

import os
import socket
import urllib.error
from pathlib import Path

import pytest
import torch
from _train_data import light_config, write_rect_dataset

from workbench.train import engine
from workbench.train.checkpoint import read_checkpoint
from workbench.train.config import TrainConfig
from workbench.train.engine import train
from workbench.train.models import build_model
from workbench.train.run_log import ITERATIONS, read_iterations
from workbench.train.runs import read_results
from workbench.train.weights import WeightsError, expected_weights_file, load_matching, pretrained_state


def _config(data: Path, out: Path, **kw) -> TrainConfig:
    # Two short epochs, validation only after the last one (val_every beyond it).
    base = dict(epochs=2, warmup_epochs=0.5, max_iterations_per_epoch=2, val_every=100, device="auto")
    base.update(kw)
    return light_config(data, out, **base)


class Recorder:
    def __init__(self) -> None:
        self.events: list = []

    def on_event(self, ev) -> None:
        self.events.append(ev)

    def of(self, kind: str) -> list:
        return [e for e in self.events if e.type == kind]


@pytest.fixture(scope="module")
def box_data(tmp_path_factory) -> Path:
    return write_rect_dataset(tmp_path_factory.mktemp("boxes"), n_train=4, n_val=2)


def rows_best_epoch(rows: list[dict]) -> int:
    """0-based epoch of the best mAP50-95 (the first one on ties), as best.pt records it."""
    best = max(r["val/mAP50-95"] for r in rows)
    return next(i for i, r in enumerate(rows) if r["val/mAP50-95"] == best)


def test_run_folder_checkpoints_and_results(box_data, tmp_path):
    rec = Recorder()
    result = train(_config(box_data, tmp_path, val_every=1), [rec])
    assert result.reason == "finished", result.message
    run = result.run_dir
    assert {p.name for p in run.iterdir()} >= {"last.pt", "best.pt", "results.csv", "config.yaml"}
    rows = read_results(run)
    assert [r["epoch"] for r in rows] == [1, 2]
    assert {"train/loss", "train/loss_classifier", "lr", "val/mAP50", "val/mAP50-95"} <= set(rows[-1])
    for name in ("last.pt", "best.pt"):
        ckpt = torch.load(run / name, weights_only=True)  # plain tensors and data only
        assert ckpt["model_name"] == "fasterrcnn_mobilenet_v3_large_fpn"
        assert ckpt["classes"] == ["box", "bar"] and ckpt["keypoints"] is None and ckpt["imgsz"] == 64
        assert ckpt["epoch"] == (1 if name == "last.pt" else rows_best_epoch(rows)) and ckpt["optimizer"]
        assert name == "best.pt" or ckpt["scheduler"]["last_epoch"] == 4  # optimizer steps so far
    its = rec.of("iteration")
    assert len(its) == 4 and {"loss", "loss_objectness"} <= set(its[0].losses) and its[0].images_per_s > 0
    assert [e.epoch for e in rec.of("epoch")] == [0, 1] and rec.of("end")[0].reason == "finished"
    # a second run never overwrites the first
    again = train(_config(box_data, tmp_path, epochs=1))
    assert again.run_dir != run and again.run_dir.parent == run.parent


def test_resume_continues_the_same_schedule(box_data, tmp_path):
    def lrs(events) -> dict:
        return {(e.epoch, e.iteration): e.lr for e in events if e.type == "iteration"}

    full = Recorder()
    assert train(_config(box_data, tmp_path / "a", epochs=3, scheduler="cosine"), [full]).reason == "finished"

    first = Recorder()
    stop_after_first_epoch = lambda: bool(first.of("epoch"))  # noqa: E731
    r1 = train(_config(box_data, tmp_path / "b", epochs=3), [first], should_stop=stop_after_first_epoch)
    assert r1.reason == "stopped" and "--resume" in r1.message
    assert read_checkpoint(r1.run_dir / "last.pt")["epoch"] == 0
    second = Recorder()
    r2 = train(TrainConfig(resume=str(r1.run_dir), workers=0), [second])
    assert r2.reason == "finished" and r2.run_dir == r1.run_dir
    assert [e.epoch for e in second.of("epoch")] == [1, 2]
    assert lrs(first.events) | lrs(second.events) == pytest.approx(lrs(full.events))
    assert [r["epoch"] for r in read_results(r1.run_dir)] == [1, 2, 3]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(box_data, tmp_path, monkeypatch):
    real_build = engine.build_model

    def diverging_model(*args, **kwargs):
        model = real_build(*args, **kwargs)
        forward, calls = model.forward, [0]

        def forward_then_diverge(images, targets=None):
            out = forward(images, targets)
            if model.training:
                calls[0] += 1
                if calls[0] > 2:  # epoch 1 (two iterations) is fine, epoch 2 blows up
                    out = {k: v * float("nan") for k, v in out.items()}
            return out

        model.forward = forward_then_diverge
        return model

    monkeypatch.setattr(engine, "build_model", diverging_model)
    rec = Recorder()
    result = train(_config(box_data, tmp_path, epochs=3), [rec])
    assert result.reason == "nan"
    assert "not finite at epoch 2" in result.message and "last.pt (epoch 1)" in result.message
    assert read_checkpoint(result.run_dir / "last.pt")["epoch"] == 0
    assert rec.of("end")[0].reason == "nan"


def test_bad_setup_ends_with_a_message_not_a_traceback(box_data, tmp_path):
    result = train(_config(box_data, tmp_path, model="keypointrcnn_resnet50_fpn"))
    assert result.reason == "error" and "has none" in result.message
    result = train(_config(box_data, tmp_path, weights=str(tmp_path / "missing.pt")))
    assert result.reason == "error" and "missing.pt" in result.message


def test_changing_the_class_count_keeps_the_backbone_and_resets_the_heads(tmp_path, monkeypatch):
    """Pretrained weights through torchvision's weights API, from a TORCH_HOME file (offline)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    enum = "FasterRCNN_MobileNet_V3_Large_FPN_Weights"
    target = expected_weights_file(enum)
    assert target.parent == tmp_path / "torch" / "hub" / "checkpoints"
    target.parent.mkdir(parents=True)
    coco_like = build_model("fasterrcnn_mobilenet_v3_large_fpn", 90)  # 91 outputs, as torchvision's COCO head
    torch.save(coco_like.state_dict(), target)

    model = build_model("fasterrcnn_mobilenet_v3_large_fpn", 3)
    report = load_matching(model, pretrained_state(enum), enum)
    reset = set(report.reset)
    assert reset == {
        "roi_heads.box_predictor.cls_score.weight",
        "roi_heads.box_predictor.cls_score.bias",
        "roi_heads.box_predictor.bbox_pred.weight",
        "roi_heads.box_predictor.bbox_pred.bias",
    }
    assert any(k.startswith("backbone.body.") for k in report.loaded)
    assert any(k.startswith("rpn.") for k in report.loaded)
    key = "backbone.body.0.0.weight"
    assert torch.equal(model.state_dict()[key], coco_like.state_dict()[key])
    assert "reset (new shape or missing): roi_heads.box_predictor.cls_score" in "\n".join(report.summary_lines())

    # The keypoint model on the same file: box predictor and the whole keypoint head reset.
    kp_model = build_model("keypointrcnn_mobilenet_v3_large_fpn", 1, 5, options={"keypoint_layers": [32, 32]})
    kp_report = load_matching(kp_model, pretrained_state(enum), enum)
    assert any(k.startswith("roi_heads.keypoint_head.") for k in kp_report.reset)
    assert any(k.startswith("roi_heads.box_head.") for k in kp_report.loaded)


def test_offline_without_the_file_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(WeightsError) as e:
        pretrained_state("FasterRCNN_MobileNet_V3_Large_FPN_Weights")
    text = str(e.value)
    assert str(expected_weights_file("FasterRCNN_MobileNet_V3_Large_FPN_Weights")) in text
    assert "--weights none" in text and "--weights PATH" in text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_path_world_size_one_on_gloo(box_data, tmp_path, monkeypatch):
    import torch.distributed as dist

    for k, v in {
        "RANK": "0",
        "WORLD_SIZE": "1",
        "LOCAL_RANK": "0",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(_free_port()),
    }.items():
        monkeypatch.setenv(k, v)
    seen = {}
    real_wrap = engine.ddp.wrap

    def spy(model, info, device):
        wrapped = real_wrap(model, info, device)
        seen["wrapped"] = type(wrapped).__name__
        seen["backend"] = dist.get_backend()
        return wrapped

    monkeypatch.setattr(engine.ddp, "wrap", spy)
    rec = Recorder()
    result = train(_config(box_data, tmp_path, epochs=1), [rec])
    assert result.reason == "finished", result.message
    assert seen == {"wrapped": "DistributedDataParallel", "backend": "gloo"}
    assert not dist.is_initialized()  # the engine cleaned up the group it created
    ckpt = read_checkpoint(result.run_dir / "last.pt")
    assert not any(k.startswith("module.") for k in ckpt["model"])  # rank 0 saved the bare model
    assert "1 processes" in rec.of("log")[-1].message
    assert os.environ["WORLD_SIZE"] == "1"


def _iteration_keys(events) -> list[tuple[int, int]]:
    return [(e.epoch, e.iteration) for e in events]


def test_every_run_streams_its_iterations_into_the_run_folder(box_data, tmp_path):
    """The engine's default callback, not the caller, writes iterations.jsonl: one line per iteration event."""
    rec = Recorder()
    result = train(_config(box_data, tmp_path), [rec])
    assert result.reason == "finished", result.message
    logged = read_iterations(result.run_dir)
    assert _iteration_keys(logged) == [(0, 0), (0, 1), (1, 0), (1, 1)] == _iteration_keys(rec.of("iteration"))
    assert logged == rec.of("iteration")  # the very events, losses and lr included (JSON keeps floats exact)
    # a caller that keeps its own record can leave the default out
    quiet = train(_config(box_data, tmp_path, epochs=1), default_callbacks=False)
    assert quiet.reason == "finished" and not (quiet.run_dir / ITERATIONS).exists()


def test_a_run_that_raises_mid_epoch_keeps_the_curve_so_far(box_data, tmp_path, monkeypatch):
    real_build = engine.build_model

    def crashing_model(*args, **kwargs):
        model = real_build(*args, **kwargs)
        forward, calls = model.forward, [0]

        def forward_then_crash(images, targets=None):
            if model.training:
                calls[0] += 1
                if calls[0] > 3:  # epoch 1 and the first iteration of epoch 2 run, then a bug
                    raise RuntimeError("a bug in the model")
            return forward(images, targets)

        model.forward = forward_then_crash
        return model

    monkeypatch.setattr(engine, "build_model", crashing_model)
    rec = Recorder()
    with pytest.raises(RuntimeError, match="a bug"):
        train(_config(box_data, tmp_path, epochs=3), [rec])
    (end,) = rec.of("end")
    assert end.reason == "error" and end.run_dir
    assert _iteration_keys(read_iterations(end.run_dir)) == [(0, 0), (0, 1), (1, 0)]


def test_a_resumed_run_continues_its_iteration_record(box_data, tmp_path):
    """Stopped in epoch 2: epoch 1's lines stay, epoch 2's partial lines give way to the redone epoch."""
    first = Recorder()
    r1 = train(_config(box_data, tmp_path, epochs=3), [first], should_stop=lambda: len(first.of("iteration")) >= 3)
    assert r1.reason == "stopped", r1.message
    assert _iteration_keys(read_iterations(r1.run_dir)) == [(0, 0), (0, 1), (1, 0)]
    second = Recorder()
    r2 = train(TrainConfig(resume=str(r1.run_dir), workers=0), [second])
    assert r2.reason == "finished", r2.message
    logged = read_iterations(r1.run_dir)
    assert _iteration_keys(logged) == [(e, i) for e in range(3) for i in range(2)]
    assert logged[:2] == first.of("iteration")[:2] and logged[2:] == second.of("iteration")

"""The event vocabulary (end reasons, loss labels, the epoch summary), the run folder's
iteration record, the one best/last checkpoint choice and the DDP loss mean."""

from __future__ import annotations

import io
import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from workbench.formats.base import DatasetError
from workbench.train import ddp
from workbench.train.console import TrainProgress
from workbench.train.events import (
    LOSS_LABELS,
    METRIC_LABELS,
    EndEvent,
    EndReason,
    EpochEvent,
    IterationEvent,
    epoch_summary,
    event_from_dict,
    loss_label,
)
from workbench.train.metrics import KPT_AP, MAP50, MAP50_95, fitness_key
from workbench.train.run_log import ITERATIONS, IterationLog, read_iterations, run_folder_callbacks
from workbench.train.runs import BEST, LAST, NoCheckpointError, run_checkpoint


def test_end_reasons_are_plain_words_on_the_pipe():
    ev = EndEvent(EndReason.OOM, "out of memory", "/r")
    d = ev.to_dict()
    assert json.loads(json.dumps(d))["reason"] == "oom" and type(d["reason"]) is str
    back = event_from_dict(json.loads(json.dumps(d)))
    assert back == ev and back.reason is EndReason.OOM
    assert EndEvent("stopped").reason is EndReason.STOPPED  # the word is accepted and becomes the member
    assert f"{EndReason.NAN}: x" == "nan: x" and {"finished": 0}[EndReason.FINISHED] == 0
    assert [r for r in EndReason if r.clean] == [EndReason.FINISHED, EndReason.STOPPED]
    with pytest.raises(ValueError):
        event_from_dict({"type": "end", "reason": "exploded"})


def test_loss_labels_cover_torchvision_losses_and_fall_back_to_the_name():
    assert loss_label("loss_objectness").short == "obj" and loss_label("loss_objectness").plot == "objectness"
    assert loss_label("train/loss_rpn_box_reg").plot == "rpn box"  # results.csv column names too
    assert loss_label("loss").plot == "total"
    assert loss_label("loss_something_new").short == loss_label("loss_something_new").plot == "something_new"
    assert all(label.short and label.plot for label in LOSS_LABELS.values())


def test_metric_keys_come_from_metrics():
    assert list(METRIC_LABELS) == [MAP50, MAP50_95, KPT_AP]
    assert fitness_key(True) == KPT_AP and fitness_key(False) == MAP50_95


def test_one_epoch_summary_for_console_and_gui():
    ev = EpochEvent(
        2,
        30,
        {"train/loss": 0.8123, "train/loss_classifier": 0.3, "train/loss_objectness": 0.1, MAP50: 0.41, MAP50_95: 0.2},
        0.2,
        True,
    )
    line = epoch_summary(ev)
    assert line == "epoch 3/30: loss 0.812 (cls 0.300, obj 0.100)  mAP50 0.410  mAP50-95 0.200 (best)"
    assert epoch_summary(EpochEvent(0, 1, {})) == "epoch 1/1:"
    out = io.StringIO()
    TrainProgress(out).on_epoch(ev)
    assert out.getvalue() == line + "\n"


def test_iteration_log_is_on_disk_after_each_event(tmp_path):
    """Flushed per line: a reader (or a crash) sees every iteration so far, not only after the run."""
    (log,) = run_folder_callbacks(tmp_path)
    assert isinstance(log, IterationLog)
    log.on_iteration(IterationEvent(0, 0, 2, {"loss": 1.0}, 0.01, 3.0))
    assert [e.losses["loss"] for e in read_iterations(tmp_path)] == [1.0]
    log.on_iteration(IterationEvent(0, 1, 2, {"loss": 0.5}, 0.01, 3.0))
    assert len(read_iterations(tmp_path)) == 2
    log.on_end(EndEvent("finished"))
    log.on_iteration(IterationEvent(1, 0, 2, {"loss": 0.1}, 0.01, 3.0))  # after the end: ignored, no crash
    assert len(read_iterations(tmp_path)) == 2


def test_resuming_drops_redone_epochs_and_torn_lines_only(tmp_path):
    events = [IterationEvent(e, i, 2, {"loss": 1.0}, 0.01, 1.0) for e in range(2) for i in range(2)]
    lines = [json.dumps(ev.to_dict()) for ev in events]
    path = tmp_path / ITERATIONS
    path.write_text("\n".join(lines) + "\n" + '{"epoch": 1, "iter')  # killed while writing a line
    assert read_iterations(tmp_path) == events and read_iterations(tmp_path, before_epoch=1) == events[:2]
    IterationLog(tmp_path, start_epoch=1).close()
    assert path.read_text() == lines[0] + "\n" + lines[1] + "\n"
    before = path.stat().st_mtime_ns
    IterationLog(tmp_path, start_epoch=1).close()  # nothing to drop: the file is not rewritten
    assert path.stat().st_mtime_ns == before


def test_run_checkpoint_prefers_best_then_last_and_names_the_folder(tmp_path):
    with pytest.raises(NoCheckpointError, match=str(tmp_path).replace("\\", "\\\\")) as e:
        run_checkpoint(tmp_path)
    assert isinstance(e.value, DatasetError)  # the CLI prints it as one line, exit 2
    (tmp_path / LAST).write_bytes(b"")
    assert run_checkpoint(tmp_path) == tmp_path / LAST
    (tmp_path / BEST).write_bytes(b"")
    assert run_checkpoint(str(tmp_path)) == tmp_path / BEST


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mean_on_rank(rank: int, world: int, port: int, out: dict) -> None:
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        info = ddp.DistInfo(rank, world)
        out[rank] = ddp.mean_over_ranks(info, {"loss_b": 2.0 * rank, "loss_a": 1.0 + rank}, torch.device("cpu"))
    finally:
        dist.destroy_process_group()


def test_logged_losses_are_the_mean_over_ranks():
    assert ddp.mean_over_ranks(ddp.DistInfo(), {"loss": 3.0}, torch.device("cpu")) == {"loss": 3.0}
    with mp.Manager() as manager:
        out = manager.dict()
        mp.spawn(_mean_on_rank, args=(2, _free_port(), out), nprocs=2, join=True)
        got = dict(out)
    assert got[0] == got[1] == {"loss_b": 1.0, "loss_a": 1.5}
    assert list(got[0]) == ["loss_b", "loss_a"]  # the caller's key order is kept

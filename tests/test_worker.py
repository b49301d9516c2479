"""The training worker process: JSON lines out, ``stop`` in, exactly one end event whatever happens."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from tests._train_data import write_rect_dataset
from workbench.train import engine
from workbench.train.config import TrainConfig
from workbench.train.events import EndEvent, IterationEvent, LogEvent, event_from_dict
from workbench.train.run_log import ITERATIONS, read_iterations
from workbench.train.worker import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    StopRequest,
    run_worker,
)

ROOT = Path(__file__).resolve().parents[1]


def _events(text: str) -> list:
    return [event_from_dict(json.loads(line)) for line in text.splitlines() if line.strip()]


def _config_file(tmp_path: Path, **kw) -> Path:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(TrainConfig(**kw).to_dict()))
    return path


def test_unreadable_options_end_with_an_error_event(tmp_path):
    out = io.StringIO()
    assert run_worker(str(tmp_path / "nope.json"), out, None) == EXIT_BAD_INPUT
    (end,) = _events(out.getvalue())
    assert isinstance(end, EndEvent) and end.reason == "error" and "nope.json" in end.message


def test_an_exception_becomes_one_end_event(tmp_path, monkeypatch):
    def boom(config, callbacks, should_stop):
        for cb in callbacks:  # the engine reports the error itself, then raises it
            cb.on_event(EndEvent("error", "RuntimeError: boom\ntraceback"))
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "train", boom)
    out = io.StringIO()
    assert run_worker(str(_config_file(tmp_path, data="d.yaml")), out, None) == EXIT_FAILED
    events = _events(out.getvalue())
    assert [e.type for e in events] == ["end"] and "boom" in events[0].message


def test_a_missing_dataset_ends_with_its_message(tmp_path):
    out = io.StringIO()
    code = run_worker(str(_config_file(tmp_path, data=str(tmp_path / "missing.yaml"), device="cpu")), out, None)
    assert code in (EXIT_FAILED, EXIT_BAD_INPUT)
    (end,) = [e for e in _events(out.getvalue()) if e.type == "end"]
    assert end.reason == "error" and "missing.yaml" in end.message


def test_events_stream_and_the_worker_leaves_the_iteration_record_to_the_engine(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    run_dir.mkdir()

    def fake_train(config, callbacks, should_stop):
        for cb in callbacks:
            cb.on_event(LogEvent("hello"))
            for i in range(3):
                cb.on_event(IterationEvent(0, i, 3, {"loss": 1.0 / (i + 1)}, 0.01, 5.0))
            cb.on_event(EndEvent("finished", "done", str(run_dir)))
        return engine.RunResult(run_dir, "finished")

    monkeypatch.setattr(engine, "train", fake_train)
    out = io.StringIO()
    assert run_worker(str(_config_file(tmp_path, data="d.yaml")), out, None) == EXIT_OK
    assert [e.type for e in _events(out.getvalue())] == ["log", "iteration", "iteration", "iteration", "end"]
    # The engine's default callback streams iterations.jsonl; a worker writing it too would double every line.
    assert not (run_dir / ITERATIONS).exists()


def test_stop_request_reads_a_stop_line_or_eof(tmp_path):
    r, w = os.pipe()
    stop = StopRequest(r)
    os.write(w, b"hello\n")
    assert not stop()
    os.write(w, b"stop\n")
    for _ in range(200):
        if stop():
            break
        __import__("time").sleep(0.01)
    assert stop()
    r2, w2 = os.pipe()
    eof = StopRequest(r2)
    os.close(w2)
    for _ in range(200):
        if eof():
            break
        __import__("time").sleep(0.01)
    assert eof()
    flag = tmp_path / "stop"
    by_file = StopRequest(None, flag)
    assert not by_file()
    flag.touch()
    assert by_file()


def test_real_worker_process_trains_and_stops_on_request(tmp_path):
    """Through a real process with a forked data-loader worker (which must not deadlock on stdin)."""
    data = write_rect_dataset(tmp_path / "rects", n_train=4, n_val=1, size=64)
    cfg = _config_file(
        tmp_path,
        data=str(data),
        model="fasterrcnn_mobilenet_v3_large_fpn",
        weights="none",
        epochs=50,
        imgsz=64,
        batch=2,
        device="cpu",
        workers=1,
        out=str(tmp_path / "runs"),
        model_options={"box_batch_size_per_image": 16, "rpn_post_nms_top_n_test": 20},
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench.train.worker", str(cfg)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    events = []
    assert proc.stdout is not None and proc.stdin is not None
    for line in proc.stdout:
        events.append(event_from_dict(json.loads(line)))  # every stdout line is an event
        if events[-1].type == "epoch":
            proc.stdin.write("stop\n")
            proc.stdin.flush()
    assert proc.wait(timeout=60) == EXIT_OK, proc.stderr.read() if proc.stderr else ""
    types = [e.type for e in events]
    assert types[0] == "log" and "iteration" in types and "epoch" in types
    end = events[-1]
    assert end.type == "end" and end.reason == "stopped", end.message
    assert types.count("end") == 1 and types.count("epoch") <= 2
    assert len(read_iterations(end.run_dir)) == types.count("iteration")


def test_children_run_as_workbench_commands_installed_or_frozen(monkeypatch, tmp_path, capsys):
    """The frozen app's executable cannot run `-m`: every child the GUI starts goes through one rule."""
    from workbench.cli.main import build_parser
    from workbench.core.child_command import WORKER_COMMAND, workbench_command

    assert workbench_command("qc", "d.yaml") == (sys.executable, ["-m", "workbench", "qc", "d.yaml"])
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert workbench_command(WORKER_COMMAND, "c.json") == (sys.executable, [WORKER_COMMAND, "c.json"])
    monkeypatch.delattr(sys, "frozen")
    # `workbench _worker CONFIG` is the worker itself: an unreadable config ends with its end event.
    program, args = workbench_command(WORKER_COMMAND, str(tmp_path / "missing.json"))
    done = subprocess.run([program, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == EXIT_BAD_INPUT
    end = json.loads(done.stdout.strip().splitlines()[-1])
    assert end["type"] == "end" and end["reason"] == "error" and "missing.json" in end["message"]
    assert WORKER_COMMAND not in build_parser().format_help()  # hidden: not a command users see

"""The train panel end to end: blocked by validation errors, a real one-epoch CPU run through
the worker process with live plots, stop, resume, a killed worker, and the run history."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._gui_window import open_window
from workbench.gui import commands
from workbench.gui.training.panel import Progress, TrainPanel
from workbench.train.events import EpochEvent, IterationEvent
from workbench.train.run_log import read_iterations
from workbench.train.runs import LAST, read_results

pytest.importorskip("pytestqt")
pytest_plugins = ["tests._gui_fixtures"]  # the gui_sample fixture

# A model small enough to train an epoch of the sample in seconds on a CPU.
FAST = {
    "max_iterations_per_epoch": 2,
    "workers": 0,
    "val_every": 1,
    "model_options": {
        "keypoint_layers": [16, 16],
        "box_batch_size_per_image": 32,
        "rpn_batch_size_per_image": 32,
        "rpn_pre_nms_top_n_train": 300,
        "rpn_post_nms_top_n_train": 100,
        "rpn_pre_nms_top_n_test": 100,
        "rpn_post_nms_top_n_test": 30,
    },
}


def _panel(qtbot, monkeypatch, tmp_path: Path, data: Path, epochs: int = 2):
    window = open_window(qtbot, monkeypatch, tmp_path, data, query_devices=False)
    panel = window.tools.train_panel
    panel.overrides = dict(FAST)
    form = panel.form
    form.weights.setCurrentIndex(form.weights.findData("none"))
    form.epochs.setValue(epochs)
    form.imgsz.setValue(128)
    form.batch.setValue(2)
    form.workers.setValue(0)
    form.out.setText(str(tmp_path / "runs"))
    return window, panel


def _fix_out_of_range_class(window) -> None:
    """The sample's one validation error: a class id 5 in train_021 (nc=3)."""
    rec = next(r for r in window.ds.records if r.path.name == "train_021.jpg")
    window.undo_stack.push(commands.set_class(rec, [0], 0, window.notifier))


def _wait(qtbot, panel: TrainPanel, condition, timeout: int) -> None:
    """waitUntil that shows the panel's log when the run does not get there."""
    try:
        qtbot.waitUntil(condition, timeout=timeout)
    except qtbot.TimeoutError:
        pytest.fail(f"timed out; training log:\n{panel.log.toPlainText()}\nbanner: {panel.banner_text()}")


def test_errors_block_then_train_stop_and_resume(qtbot, monkeypatch, tmp_path, gui_sample):
    window, panel = _panel(qtbot, monkeypatch, tmp_path, gui_sample)
    assert window.tools.train_dock.isHidden()

    # 1. The sample's out-of-range class id blocks the start; clicking it jumps to the label.
    assert panel.start()
    qtbot.waitUntil(lambda: not panel.is_busy(), timeout=20000)
    assert not panel.supervisor.is_running()
    assert "Training blocked" in panel.banner_text() and "1 error" in panel.banner_text()
    first = panel.findings.item(0)
    assert first.text().startswith("error: labels/train/train_021.txt:1")
    with qtbot.waitSignal(panel.jumpRequested) as jump:
        panel.findings.itemClicked.emit(first)
    assert window.ds.records[jump.args[0]].path.name == "train_021.jpg"
    assert window.current_record().path.name == "train_021.jpg"

    # 2. Fixed (an unsaved edit: Start saves it), the run starts and streams into the plots.
    _fix_out_of_range_class(window)
    assert window.ds.dirty_records()
    with qtbot.waitSignal(panel.runEnded, timeout=120000) as first_run:
        assert panel.start()
        qtbot.waitUntil(panel.supervisor.is_running, timeout=20000)
        assert not window.ds.dirty_records()  # saved before the worker read the labels
        _wait(
            qtbot,
            panel,
            lambda: panel.plots.point_counts()["metrics"] >= 1 or not panel.supervisor.is_running(),
            110000,
        )
        assert panel.supervisor.is_running(), panel.log.toPlainText()
        counts = panel.plots.point_counts()
        assert counts["loss"] == 2 and counts["lr"] == 2  # two iterations of epoch 1
        assert "ETA" in panel.progress.format() or "stopping" in panel.progress.format()
        panel.stop()
    end = first_run.args[0]
    assert end.reason == "stopped", end.message
    run = Path(end.run_dir)
    assert (run / LAST).is_file() and len(read_results(run)) == 1
    assert "Training stopped" in panel.banner_text()
    assert panel.history.runs() == [run]

    # 3. Resume continues at epoch 2 and finishes; the live plots keep epoch 1's points.
    with qtbot.waitSignal(panel.runEnded, timeout=120000) as second_run:
        assert panel.resume()
    assert second_run.args[0].reason == "finished", second_run.args[0].message
    assert [r["epoch"] for r in read_results(run)] == [1, 2]
    assert panel.plots.point_counts()["metrics"] == 2
    assert panel.plots.point_counts()["loss"] == 4
    assert "Training finished" in panel.banner_text()
    # the engine streamed the record of both sessions into the folder, each iteration once
    assert [(e.epoch, e.iteration) for e in read_iterations(run)] == [(0, 0), (0, 1), (1, 0), (1, 1)]

    # 4. History: the run's curves, read back from its folder (iterations included).
    panel.history.select_runs([run])
    assert panel.history.metric_plot.getPlotItem().listDataItems()
    panel.plots.show_run([], [])
    assert panel.plots.point_counts()["loss"] == 0

    # 5. The run's checkpoint in the detection viewer, with the real Predictor.

    viewer = window.tools.prediction_viewer
    assert viewer.weights.findData(str(run / "best.pt")) >= 0  # offered from the runs folder
    window.tools.show_run_predictions(run)
    qtbot.waitUntil(lambda: not viewer.runner.busy(), timeout=60000)
    assert viewer.raw_predictions() is not None, viewer.summary.text()


def test_killed_worker_becomes_a_message(qtbot, monkeypatch, tmp_path, gui_sample):
    window, panel = _panel(qtbot, monkeypatch, tmp_path, gui_sample)
    _fix_out_of_range_class(window)
    with qtbot.waitSignal(panel.runEnded, timeout=60000) as ended:
        with qtbot.waitSignal(panel.supervisor.eventReceived, timeout=60000):  # the worker is training
            assert panel.start()
        panel.supervisor.kill()
    end = ended.args[0]
    assert end.reason == "error"
    assert "killed" in end.message and "labels are untouched" in end.message
    assert "Training failed" in panel.banner_text()
    assert not panel.supervisor.is_running() and panel.start_button.isEnabled()
    assert window.ds is not None and window.isVisible()


def test_progress_eta_and_throughput():
    p = Progress(epochs=2)
    for i in range(4):
        p.on_iteration(IterationEvent(0, i, 4, {"loss": 1.0}, 0.01, 8.0), now=float(i))
    assert p.done == 4 and p.total == 8
    p.on_epoch(EpochEvent(0, 2, {"mAP50": 0.1}), now=5.0)  # 2 s of validation
    # 4 iterations at 1 s each plus one more validation of 2 s
    assert p.eta_seconds() == pytest.approx(4 + 2)
    assert "epoch 1/2" in p.text() and "8.0 img/s" in p.text()


def test_run_view_shows_a_past_run_and_checks_its_arguments(qtbot, monkeypatch, tmp_path, gui_sample):
    from workbench.gui.training.run_view import RunViewError, apply_run_view
    from workbench.train.config import TrainConfig
    from workbench.train.run_log import IterationLog
    from workbench.train.runs import write_config, write_results

    run = tmp_path / "runs" / "exp"
    run.mkdir(parents=True)
    write_config(run, TrainConfig(data=str(gui_sample), epochs=3, imgsz=320).to_dict())
    write_results(
        run,
        [
            {
                "epoch": e,
                "train/loss": 2.0 / e,
                "lr": 0.01,
                "val/mAP50": 0.2 * e,
                "val/mAP50-95": 0.1 * e,
                "val/kpt_AP": 0.05 * e,
            }
            for e in (1, 2)
        ],
    )
    log = IterationLog(run)
    for e in range(2):
        for i in range(2):
            log.on_iteration(IterationEvent(e, i, 2, {"loss": 1.0}, 0.01, 4.0))
    log.close()
    window = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    with pytest.raises(RunViewError, match="not a run folder"):
        apply_run_view(window, tmp_path, "train")
    with pytest.raises(RunViewError, match="unknown --view"):
        apply_run_view(window, run, "plots")
    with pytest.raises(RunViewError, match="no checkpoint"):
        apply_run_view(window, run, "predictions")
    assert apply_run_view(window, run, "train")()
    panel = window.tools.train_panel
    assert window.tools.train_dock.isVisible()
    assert panel.plots.point_counts() == {"loss": 4, "lr": 4, "metrics": 2}
    assert panel.form.epochs.value() == 3 and panel.form.imgsz.value() == 320
    assert panel.history.selected_runs() == [run]
    assert panel.progress.format() == "exp: 2/3 epochs"

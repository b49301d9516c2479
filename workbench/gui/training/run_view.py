"""``workbench open DATA --run RUN --view train|predictions|qc [--screenshot PATH]``.

``train`` shows the train panel with the run's curves (its iteration record when the
GUI started it, else the per-epoch rows of results.csv) and selects it in the history;
``predictions`` runs the run's best checkpoint on the first image and shows the
detection viewer. For a screenshot the grab waits until the dataset is open, the
image decoded and, for ``predictions``, the model has answered.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from workbench.train.runs import LAST, RESULTS, NoCheckpointError, run_checkpoint

if TYPE_CHECKING:  # the window imports the tool docks, which import this package
    from workbench.gui.main_window import MainWindow
    from workbench.gui.tool_docks import ToolDocks

VIEWS = ("train", "predictions", "qc")


class RunViewError(ValueError):
    """A --run that is not a run folder, or an unknown --view; the message says what to pass."""


def check_run(run: str | Path, view: str) -> Path:
    p = Path(run)
    if p.is_file() and p.suffix == ".pt":
        p = p.parent
    if view not in VIEWS:
        raise RunViewError(f"unknown --view '{view}': use one of {', '.join(VIEWS)}")
    if not p.is_dir() or not ((p / RESULTS).is_file() or (p / LAST).is_file()):
        raise RunViewError(f"{run} is not a run folder (no {RESULTS} or {LAST} in it)")
    if view in ("predictions", "qc"):
        try:
            run_checkpoint(p)
        except NoCheckpointError as e:
            raise RunViewError(f"{run} has no checkpoint to predict with ({e})") from None
    return p


def apply_run_view(window: MainWindow, run: str | Path, view: str) -> Callable[[], bool]:
    """Show ``run`` in the ``view`` of an opened window; returns "is it on screen yet?".

    Call it once the dataset is open (``window.is_ready()``).
    """
    run_dir = check_run(run, view)
    tools: ToolDocks = window.tools
    shown = {"train": tools.train_dock, "predictions": tools.prediction_dock, "qc": tools.label_qc_dock}[view]
    tools.hide_all_but(shown)  # the view alone, whatever layout the last session left
    shown.show()
    shown.raise_()
    if view == "train":
        window.resizeDocks([shown], [int(window.height() * 0.6)], Qt.Orientation.Vertical)
        tools.train_panel.show_run(run_dir)
        return lambda: True

    viewer = tools.prediction_viewer
    weights = run_checkpoint(run_dir)
    if view == "qc":
        return _show_label_qc(window, tools, weights)
    viewer.set_weights(weights)
    answered = {"done": False}  # an unreadable image gets no predictions, only the runner's answer
    viewer.runner.finished.connect(lambda *_: answered.update(done=True))
    started = viewer.run("current")
    if started < 0:
        return lambda: True  # the viewer shows why
    return lambda: not viewer.runner.busy() and (viewer.raw_predictions() is not None or answered["done"])


def _show_label_qc(window: MainWindow, tools: ToolDocks, weights: Path) -> Callable[[], bool]:
    """The Label QC panel judging every image with ``weights``; ready once the top suspect is on the canvas."""
    panel = tools.label_qc_panel
    window.resizeDocks([tools.label_qc_dock], [int(window.height() * 0.75)], Qt.Orientation.Vertical)
    panel.set_weights(weights)
    if not panel.find_suspects():
        return lambda: True  # the panel says why
    state = {"selected": False}

    def ready() -> bool:
        if panel.busy():
            return False
        if not state["selected"]:
            state["selected"] = True
            panel.table.selectRow(0)  # jumps to the most suspect label, as a click would
            return False
        return window.is_ready()

    return ready


def schedule_run_view(
    window: MainWindow, run: str | Path, view: str, screenshot: str | Path | None = None, timeout_s: float = 120.0
) -> QTimer:
    """Apply the view once the window is ready; with ``screenshot``, save the window then quit."""
    from workbench.gui.screenshot import SCREENSHOT_SIZE, dialog_refusal, save_window_png

    check_run(run, view)  # fail before the event loop starts
    if screenshot:
        window.resize(*SCREENSHOT_SIZE)
    deadline = time.monotonic() + timeout_s
    state: dict[str, object] = {"ready": None, "settle": 0}
    timer = QTimer(window)
    timer.setInterval(50)

    def tick() -> None:
        timed_out = time.monotonic() > deadline
        refused = dialog_refusal() if screenshot else None
        if refused is not None:  # the dataset did not open: nothing to show the run with
            timer.stop()
            print(f"workbench: {refused}; screenshot not taken", file=sys.stderr)
            QApplication.instance().exit(2)
            return
        if state["ready"] is None:
            if not window.is_ready() and not timed_out:
                return
            window.canvas.fit()
            state["ready"] = apply_run_view(window, run, view)
            if not screenshot:
                timer.stop()
            return
        ready = state["ready"]
        assert callable(ready)
        if not ready() and not timed_out:
            return
        if state["settle"] < 3:  # let the docks lay out and the plots paint
            state["settle"] = int(state["settle"]) + 1
            window.canvas.fit()
            return
        timer.stop()
        ok = not timed_out and save_window_png(window, Path(str(screenshot)))
        if timed_out:
            print(
                f"workbench: the {view} view of {run} was not ready after {timeout_s:.0f} s; screenshot not taken",
                file=sys.stderr,
            )
        QApplication.instance().exit(0 if ok else 1)

    timer.timeout.connect(tick)
    timer.start()
    return timer


def open_with_run(data: str, run: str, view: str, screenshot: str | None = None) -> int:
    """What ``workbench open DATA --run RUN --view VIEW`` runs: the GUI on DATA showing RUN."""
    from workbench.gui.app import application
    from workbench.gui.main_window import MainWindow

    try:
        check_run(run, view)
    except RunViewError as e:
        print(f"workbench: {e}", file=sys.stderr)
        return 2
    if not Path(data).exists():
        print(f"workbench: {data}: no such file or folder", file=sys.stderr)
        return 2
    app = application()
    window = MainWindow()
    window.open_path(data)
    schedule_run_view(window, run, view, screenshot)
    window.show()
    return int(app.exec())

"""``--screenshot PATH``: render the main window once it shows a decoded, fitted image, then exit.

Used for the README's pictures and as a smoke test of the whole GUI stack. The grab
waits for the dataset to open, validation to finish and the current image's pixels to
reach the canvas (polling, so nothing blocks the event loop), then fits the canvas and
lets two more event-loop turns paint before grabbing.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from workbench.gui.main_window import MainWindow

SCREENSHOT_SIZE = (1400, 900)


def schedule_screenshot(
    window: MainWindow, path: str | Path, timeout_s: float = 60.0, quit_after: bool = True
) -> QTimer:
    """Poll until ``window.is_ready()``, save the PNG, then quit the application.

    Exit code 0 with the picture, 1 when it could not be taken in time or written, 2 when
    the window refused what was asked (a dataset that does not open: see ``dialog_refusal``).
    """
    out = Path(path)
    window.resize(*SCREENSHOT_SIZE)
    deadline = time.monotonic() + timeout_s
    timer = QTimer(window)
    timer.setInterval(50)
    settle = {"turns": 0}

    def tick() -> None:
        refused = dialog_refusal()
        if refused is not None:
            timer.stop()
            print(f"workbench: {refused}; screenshot not taken", file=sys.stderr)
            if quit_after:
                QApplication.instance().exit(2)
            return
        ready = window.is_ready()
        if not ready and time.monotonic() < deadline:
            return
        if ready and settle["turns"] == 0:
            window.canvas.fit()
        if ready and settle["turns"] < 3:  # let layout, fit and paint settle
            settle["turns"] += 1
            return
        timer.stop()
        ok = ready and save_window_png(window, out)
        if not ready:
            print(f"workbench: the window was not ready after {timeout_s:.0f} s; screenshot not taken", file=sys.stderr)
        if quit_after:
            QApplication.instance().exit(0 if ok else 1)

    timer.timeout.connect(tick)
    timer.start()
    return timer


def dialog_refusal() -> str | None:
    """The text of a message box the window is waiting on, closed; None when there is none.

    A screenshot run cannot answer a dialog: "Cannot open dataset" (or any other) means
    what was asked for cannot be shown, so the run fails at once with the dialog's words
    instead of picturing the start page, or waiting out its timeout.
    """
    box = QApplication.activeModalWidget()
    if not isinstance(box, QMessageBox):
        return None
    text = " ".join(part for part in (box.text(), box.informativeText()) if part).replace("\n", " ")
    title = box.windowTitle()
    box.done(0)
    return f"{title}: {text}" if title else text


def save_window_png(window: MainWindow, out: Path) -> bool:
    out.parent.mkdir(parents=True, exist_ok=True)
    pixmap = window.grab()
    ok = pixmap.save(str(out), "PNG")
    if ok:
        print(f"wrote {out} ({pixmap.width()}x{pixmap.height()})")
    else:
        print(f"workbench: could not write {out}", file=sys.stderr)
    return ok

"""Helpers for the GUI tests: a main window with private settings, opened on a dataset."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from workbench.gui.main_window import MainWindow
from workbench.gui.settings import Settings


def private_settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


def open_window(qtbot, monkeypatch, tmp_path: Path, data: Path | None = None, **window_options) -> MainWindow:
    """A shown 1400x900 window; closing it never blocks on the unsaved-edits prompt (Discard).

    ``window_options`` go to ``MainWindow`` (``predictor_factory``, ``query_devices``)."""
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    window = MainWindow(private_settings(tmp_path), **window_options)
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    window.activateWindow()
    if data is not None:
        window.open_path(str(data))
        qtbot.waitUntil(window.is_ready, timeout=20000)
    return window


def view_point(window: MainWindow, x: float, y: float):
    """Image pixel -> canvas viewport position (QPoint) for mouse events."""
    return window.canvas.mapFromScene(QPointF(x, y))


def drag(qtbot, window: MainWindow, start: tuple[float, float], end: tuple[float, float], steps: int = 5) -> None:
    """Press, move in steps and release the left button on the canvas, in image pixels."""
    vp = window.canvas.viewport()
    a, b = view_point(window, *start), view_point(window, *end)
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=a)
    for i in range(1, steps + 1):
        p = a + (b - a) * (i / steps)
        qtbot.mouseMove(vp, p)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=b)

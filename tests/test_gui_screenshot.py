"""``--screenshot``: the main window rendered at 1400x900 once its image is decoded and fitted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from tests._gui_window import open_window
from workbench.gui.screenshot import schedule_screenshot

pytest.importorskip("pytestqt")
pytest_plugins = ["tests._gui_fixtures"]


def test_screenshot_waits_for_pixels_and_writes_png(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path)
    w.open_path(gui_sample)  # not ready yet: the screenshot must wait for decode and validation
    out = tmp_path / "shot.png"
    schedule_screenshot(w, out, quit_after=False)
    qtbot.waitUntil(out.exists, timeout=20000)
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1400, 900)
    # The canvas shows the decoded image (not the grey placeholder): many distinct colors there.
    c = w.canvas.mapTo(w, w.canvas.rect().center())
    colors = {img.pixel(c.x() + dx, c.y() + dy) for dx in range(-40, 40, 4) for dy in range(-40, 40, 4)}
    assert len(colors) > 20


def test_screenshot_command_line(tmp_path, gui_sample):
    out = tmp_path / "cli.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", WORKBENCH_TEST="1")
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "workbench", "open", str(gui_sample), "--screenshot", str(out)],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1400, 900)


def test_open_missing_path_exits_2(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", WORKBENCH_TEST="1")
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "workbench", "open", str(tmp_path / "nope")],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "nope" in proc.stderr

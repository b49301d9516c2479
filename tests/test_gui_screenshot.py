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
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "open", str(gui_sample), "--screenshot", str(out)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    img = QImage(str(out))
    assert (img.width(), img.height()) == (1400, 900)


def test_open_missing_path_exits_2(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", WORKBENCH_TEST="1")
    repo = Path(__file__).resolve().parents[1]
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "open", str(tmp_path / "nope")],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "nope" in proc.stderr


def _screenshot_cli(args: list[str], timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:
    import time

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", WORKBENCH_TEST="1")
    repo = Path(__file__).resolve().parents[1]
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "open", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return proc, time.monotonic() - start


def test_screenshot_of_a_dataset_that_does_not_open_fails_at_once(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("names: [a\n")
    out = tmp_path / "shot.png"
    proc, _ = _screenshot_cli([str(broken), "--screenshot", str(out)])
    assert proc.returncode == 2 and "broken.yaml" in proc.stderr and "not valid YAML" in proc.stderr
    assert not out.exists()  # no picture of the start page


def test_screenshot_with_an_unreadable_first_image_comes_promptly(tmp_path, gui_sample):
    from workbench.formats.registry import open_dataset

    first = open_dataset(gui_sample).records[0].path
    first.write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    out = tmp_path / "shot.png"
    proc, took = _screenshot_cli([str(gui_sample), "--screenshot", str(out)])
    assert proc.returncode == 0, proc.stderr
    assert QImage(str(out)).width() == 1400
    assert took < 30  # the grab used to wait out its 60 s for pixels that never come


def test_screenshot_of_a_run_with_a_refused_checkpoint_fails_at_once(tmp_path, gui_sample):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.csv").write_text("epoch\n1\n")
    (run / "best.pt").write_bytes(b"not a checkpoint")
    out = tmp_path / "shot.png"
    proc, took = _screenshot_cli(
        [str(gui_sample), "--run", str(run), "--view", "predictions", "--screenshot", str(out)]
    )
    assert proc.returncode == 2 and "best.pt" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists() and took < 30

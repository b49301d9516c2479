"""A 16-bit thermal image on the canvas and in thumbnails: contrast through a display window,
the raw value under the cursor, a palette and a manual window that change only the screen."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from _gui_window import open_window
from PySide6.QtGui import QImage

from workbench.core.display_window import DisplaySettings
from workbench.gui.image_cache import decode_image, redisplay
from workbench.gui.thumbnails import make_thumbnail

W, H = 320, 256


def thermal_png(path, seed: int = 0) -> np.ndarray:
    """Raw counts 7000..8020 with a warm square: five grey levels through OpenCV's 8-bit cut."""
    rng = np.random.default_rng(seed)
    img = rng.integers(7000, 7700, (H, W)).astype(np.uint16)
    img[100:160, 120:200] = rng.integers(7900, 8021, (60, 80))
    ok, buf = cv2.imencode(".png", img)
    assert ok
    path.write_bytes(buf.tobytes())
    return img


@pytest.fixture
def thermal_dataset(tmp_path):
    root = tmp_path / "thermal"
    (root / "images" / "train").mkdir(parents=True)
    (root / "labels" / "train").mkdir(parents=True)
    raws = {}
    for i in range(2):
        raws[i] = thermal_png(root / "images" / "train" / f"t{i}.png", i)
        (root / "labels" / "train" / f"t{i}.txt").write_text("0 0.5 0.5 0.25 0.23\n")
    (root / "data.yaml").write_text("train: images/train\nval: images/train\nnames: [warm]\n")
    return root / "data.yaml", raws


def test_decode_shows_contrast_keeps_raw_and_redisplays(tmp_path):
    raw = thermal_png(tmp_path / "t.png")
    decoded = decode_image(str(tmp_path / "t.png"))
    assert decoded.error is None
    assert decoded.rgb.std() > 30 and len(np.unique(decoded.rgb)) > 100
    assert np.array_equal(decoded.raw, raw)
    half = decode_image(str(tmp_path / "t.png"), 0.5)
    assert half.raw.shape == (H // 2, W // 2) and half.rgb.shape == (H // 2, W // 2, 3)
    iron = redisplay(decoded, DisplaySettings(palette="inferno"))
    assert not np.array_equal(iron.rgb[..., 0], iron.rgb[..., 2])
    manual = redisplay(decoded, DisplaySettings("manual", (7900, 7901)))
    assert (manual.rgb[110, 130] == 255).all() and (manual.rgb[10, 10] == 0).all()
    assert np.array_equal(raw, decode_image(str(tmp_path / "t.png")).raw)  # the file is untouched
    thumb = make_thumbnail(tmp_path / "t.png", 128)
    assert thumb.shape[1] == 128 and thumb.std() > 30


def test_8_bit_image_keeps_no_raw_copy(tmp_path):
    img = np.random.default_rng(0).integers(0, 255, (H, W, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".png", img)
    (tmp_path / "c.png").write_bytes(buf.tobytes())
    decoded = decode_image(str(tmp_path / "c.png"))
    assert decoded.raw is None and np.array_equal(decoded.rgb, img[:, :, ::-1])


def frame_stats(window) -> np.ndarray:
    """The canvas as painted: grey levels of the rendered frame's centre."""
    grab = window.canvas.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    w, h = grab.width(), grab.height()
    arr = np.frombuffer(grab.constBits(), np.uint8).reshape(h, grab.bytesPerLine())[:, : 3 * w].reshape(h, w, 3)
    return arr[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4]


def test_canvas_shows_a_16_bit_image_with_contrast_and_the_raw_value(qtbot, monkeypatch, tmp_path, thermal_dataset):
    yaml, raws = thermal_dataset
    window = open_window(qtbot, monkeypatch, tmp_path, yaml)
    qtbot.waitUntil(lambda: window.shown_raw is not None, timeout=10000)
    # Five grey levels is what OpenCV's 8-bit decode would paint: wait for the real frame.
    qtbot.waitUntil(lambda: len(np.unique(frame_stats(window))) > 50, timeout=10000)
    centre = frame_stats(window)
    assert centre.std() > 30
    rec = window.current_record()
    raw = raws[int(rec.path.stem[1:])]
    window.canvas.cursorMoved.emit(130.4, 110.6)
    assert window.status.cursor.text() == f"x 130  y 111  = {raw[110, 130]}"
    window.set_display(DisplaySettings("manual", (7899, 7900), "grey"))

    # A hard window: the background black, the warm square white, the box outline and label.
    def black_and_white() -> bool:
        f = frame_stats(window)
        black, white = (f == 0).all(axis=2).mean(), (f == 255).all(axis=2).mean()
        return black > 0.5 and white > 0.1 and black + white > 0.95

    qtbot.waitUntil(black_and_white, timeout=10000)
    assert rec.instances and not rec.dirty  # the window changes the screen only
    assert window.shown_raw[110, 130] == raw[110, 130]
    window.set_display(DisplaySettings(palette="inferno"))

    def coloured() -> bool:
        f = frame_stats(window).astype(int)
        return np.abs(f[..., 0] - f[..., 2]).mean() > 10

    qtbot.waitUntil(coloured, timeout=10000)


def test_display_dock_appears_for_16_bit_and_drives_the_canvas(qtbot, monkeypatch, tmp_path, thermal_dataset):
    yaml, raws = thermal_dataset
    window = open_window(qtbot, monkeypatch, tmp_path, yaml)
    qtbot.waitUntil(lambda: window.shown_raw is not None, timeout=10000)
    panel = window.display_panel
    assert window.display_dock.isVisible()
    lo, hi = panel.lo.value(), panel.hi.value()
    assert 7000 <= lo < 7100 and 7900 < hi <= 8020  # the automatic window of this image
    panel.palette.setCurrentIndex(panel.palette.findData("inferno"))
    assert window.images.display.palette == "inferno"
    panel.mode.setCurrentIndex(panel.mode.findData("manual"))
    panel.lo.setValue(7100)
    panel.hi.setValue(7200)
    assert window.images.display == DisplaySettings("manual", (7100, 7200), "inferno")
    panel.mode.setCurrentIndex(panel.mode.findData("range"))  # computed off the UI thread
    qtbot.waitUntil(lambda: window.images.display.mode == "range", timeout=10000)
    dlo, dhi = window.images.display.window
    assert 7000 <= dlo < 7100 and 7950 < dhi <= 8020


def test_display_dock_stays_hidden_for_8_bit_data(qtbot, monkeypatch, tmp_path):
    from test_validate_data import make_yolo

    yaml = make_yolo(tmp_path / "d", {"a": "0 0.5 0.5 0.2 0.2\n"})
    window = open_window(qtbot, monkeypatch, tmp_path, yaml)
    assert window.shown_raw is None and not window.display_dock.isVisible()


def test_train_form_offers_the_input_range(qtbot):
    from workbench.gui.training.form import TrainForm
    from workbench.train.config import ConfigError, TrainConfig

    form = TrainForm(query_devices=False)
    qtbot.addWidget(form)
    assert form.config("d.yaml").input_range == "auto"
    form.input_range.setCurrentText("7000, 8000")
    cfg = form.config("d.yaml")
    cfg.check()
    assert cfg.input_range == "7000, 8000"
    form.set_config(TrainConfig(data="d.yaml", input_range=[7012.5, 7990.0]))  # what a run resolved
    assert form.input_range.currentText() == "7012.5, 7990"
    form.input_range.setCurrentText("warm")
    with pytest.raises(ConfigError, match="input_range"):
        form.config("d.yaml").check()

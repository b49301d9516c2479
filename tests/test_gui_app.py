"""The main window end to end: open the sample, edit by mouse and keys, undo, save, reload."""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QKeySequence

from tests._gui_window import drag, open_window, view_point
from workbench.cli import open_cmd
from workbench.cli.main import build_parser
from workbench.formats import open_dataset

pytest.importorskip("pytestqt")
pytest_plugins = ["tests._gui_fixtures"]  # the gui_sample fixture


def key(qtbot, widget, seq: str) -> None:
    """Type a shortcut as a user would (goes through Qt's shortcut map)."""
    combo = QKeySequence(seq)[0]
    qtbot.keyClick(widget, combo.key(), combo.keyboardModifiers())


def test_opens_sample_on_first_image(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    assert w.pages.currentWidget() is w.canvas
    assert w.canvas.record() is w.ds.records[0]
    assert w.pixels_scale == 1.0  # 320x240 fits the view: decoded at full size
    assert "1 / 48" in w.status.index.text() and "320 × 240" in w.status.size.text()
    assert w.windowTitle().startswith("data.yaml")
    counts = w.ds.class_counts()
    assert [w.class_panel.list.item(i).text().split("(")[1].split(")")[0] for i in range(3)] == [
        str(int(c)) for c in counts
    ]
    assert w.findings_panel.store is not None and w.findings_panel.tree.topLevelItemCount() > 0
    assert w.settings.recent_datasets() == [str(gui_sample.resolve())]


def test_draw_box_set_class_by_key_undo_redo(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    rec = w.canvas.record()
    n0 = len(rec.instances)
    w.canvas.setFocus()
    key(qtbot, w.canvas, "W")  # Tools > Draw One Box
    drag(qtbot, w, (250.0, 170.0), (310.0, 230.0))
    assert len(rec.instances) == n0 + 1
    new = rec.instances[-1]
    assert np.allclose(new.box, [250, 170, 310, 230], atol=1.5)
    assert w.canvas.selected_instance() == n0
    assert w.isWindowModified()
    key(qtbot, w.canvas, "3")  # class id 2
    assert rec.instances[-1].class_id == 2
    key(qtbot, w.canvas, "Ctrl+Z")
    assert rec.instances[-1].class_id == 0
    key(qtbot, w.canvas, "Ctrl+Z")
    assert len(rec.instances) == n0
    key(qtbot, w.canvas, "Ctrl+Shift+Z")
    key(qtbot, w.canvas, "Ctrl+Shift+Z")
    assert len(rec.instances) == n0 + 1 and rec.instances[-1].class_id == 2


def test_move_keypoint_and_cycle_visibility(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    rec = w.canvas.record()
    inst_i, k = next(
        (i, j) for i, inst in enumerate(rec.instances) for j in range(len(inst.keypoints)) if inst.keypoints[j, 2] == 2
    )
    x, y = rec.instances[inst_i].keypoints[k, :2]
    drag(qtbot, w, (x, y), (x + 6, y + 4))
    assert np.allclose(rec.instances[inst_i].keypoints[k, :2], [x + 6, y + 4], atol=1.0)
    qtbot.mouseMove(w.canvas.viewport(), view_point(w, x + 6, y + 4))
    key(qtbot, w.canvas, "V")  # visible -> occluded
    assert rec.instances[inst_i].keypoints[k, 2] == 1
    key(qtbot, w.canvas, "Ctrl+Z")
    assert rec.instances[inst_i].keypoints[k, 2] == 2


def test_save_shortcut_then_reload_matches(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    rec = w.canvas.record()
    w.canvas.select_instance(0)
    w.canvas.setFocus()
    key(qtbot, w.canvas, "2")
    before_disk = rec.label_path.read_text()
    key(qtbot, w.canvas, "Ctrl+S")
    assert not w.isWindowModified()
    after_disk = rec.label_path.read_text()
    assert after_disk != before_disk and after_disk.splitlines()[0].split()[0] == "1"
    others = [r.label_path for r in w.ds.records[1:]]
    mtimes = {p: p.stat().st_mtime_ns for p in others}
    key(qtbot, w.canvas, "Ctrl+S")  # nothing dirty: nothing rewritten
    assert all(p.stat().st_mtime_ns == t for p, t in mtimes.items())
    fresh = open_dataset(gui_sample).records[0].ensure_loaded()
    assert len(fresh.instances) == len(rec.instances)
    assert all(a.same_as(b, tol=1e-3) for a, b in zip(fresh.instances, rec.instances, strict=True))


def test_next_previous_image_and_copy_previous_labels(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    w.canvas.setFocus()
    key(qtbot, w.canvas, "D")
    assert w.current == 1 and "2 / 48" in w.status.index.text()
    key(qtbot, w.canvas, "PgDown")
    assert w.current == 2
    key(qtbot, w.canvas, "A")
    assert w.current == 1
    rec, prev = w.ds.records[1], w.ds.records[0]
    n = len(rec.instances)
    w.actions["copy_previous"].trigger()
    assert len(rec.instances) == n + len(prev.instances)
    w.undo_stack.undo()
    assert len(rec.instances) == n


def _mime(path) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    return mime


def _drag_enter(mime: QMimeData) -> QDragEnterEvent:
    with warnings.catch_warnings():  # PySide6 marks the QPoint overload deprecated; there is no other
        warnings.simplefilter("ignore", DeprecationWarning)
        event = QDragEnterEvent(
            QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        )
    event.ignore()
    return event


def test_drop_a_dataset_onto_the_window(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path)
    assert w.pages.currentWidget() is w.start_page
    folder, other, data = _mime(gui_sample.parent), _mime(tmp_path / "settings.ini"), _mime(gui_sample)
    event = _drag_enter(folder)  # the event does not own its QMimeData: keep a reference
    w.dragEnterEvent(event)
    assert event.isAccepted()
    event = _drag_enter(other)  # not a dataset
    w.dragEnterEvent(event)
    assert not event.isAccepted()
    w.dropEvent(
        QDropEvent(
            QPointF(10, 10), Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        )
    )
    qtbot.waitUntil(lambda: w.ds is not None and w.is_ready(), timeout=20000)
    assert len(w.ds.records) == 48 and w.pages.currentWidget() is w.canvas


def test_start_page_opens_the_sample(qtbot, monkeypatch, tmp_path):
    w = open_window(qtbot, monkeypatch, tmp_path)
    w.start_page.sample_button.click()
    qtbot.waitUntil(lambda: w.ds is not None and w.is_ready(), timeout=20000)
    assert len(w.ds.records) == 48 and w.pages.currentWidget() is w.canvas
    assert w.ds.source.parent.name == "sample"  # written to the user data folder


def test_open_failure_is_a_message_not_a_traceback(qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    shown = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: shown.append(a[2]))
    w = open_window(qtbot, monkeypatch, tmp_path)
    bad = tmp_path / "data.yaml"
    bad.write_text("names: [a\ntrain: x\n")
    w.open_path(bad)
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    assert "data.yaml" in shown[0] and "YAML" in shown[0]
    assert w.pages.currentWidget() is w.start_page


def test_open_command_arguments():
    args = build_parser().parse_args(["open", "d/data.yaml", "--screenshot", "x.png"])
    assert args.data == "d/data.yaml" and args.screenshot == "x.png" and args._run is open_cmd.run
    args = build_parser().parse_args(["--screenshot", "y.png", "open"])
    assert args.screenshot == "y.png" and args.data is None
    assert set(open_cmd.DEFAULTS) >= {"screenshot"}
    assert isinstance(open_cmd.DEFAULTS, dict) and argparse.Namespace(**open_cmd.DEFAULTS).screenshot is None


def test_settings_remember_recent_datasets_and_preferences(tmp_path):
    from tests._gui_window import private_settings

    s = private_settings(tmp_path)
    a, b = tmp_path / "a.yaml", tmp_path / "b"
    a.write_text("train: x\n")
    b.mkdir()
    s.add_recent(a)
    s.add_recent(b)
    s.add_recent(a)  # re-opening moves it to the top, no duplicate
    assert s.recent_datasets() == [str(a), str(b)]
    a.unlink()
    assert s.last_dataset() == str(b)  # a moved dataset is skipped, not an error
    assert s.pref("autosave_seconds") == 60
    s.set_pref("autosave_seconds", 15)
    s.sync()
    again = private_settings(tmp_path)
    assert again.pref("autosave_seconds") == 15 and again.recent_datasets()[0] == str(a)
    with pytest.raises(KeyError):
        s.set_pref("nope", 1)


def test_large_image_is_decoded_reduced_then_full_when_zoomed(qtbot, monkeypatch, tmp_path):
    import cv2

    root = tmp_path / "big"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    img = np.random.default_rng(0).integers(0, 255, (2400, 3200, 3), dtype=np.uint8)
    cv2.imwrite(str(root / "images" / "a.jpg"), img)
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.25 0.25\n")
    (root / "data.yaml").write_text("path: .\ntrain: images\nval: images\nnames: [thing]\n")
    w = open_window(qtbot, monkeypatch, tmp_path, root / "data.yaml")
    assert w.pixels_scale < 1.0  # the view is far smaller than 3200x2400
    assert w.canvas.image_size() == (3200, 2400)  # labels stay in full-resolution pixels
    assert np.allclose(w.canvas.record().instances[0].box, [1200, 900, 2000, 1500])
    w.actions["zoom_1to1"].trigger()
    qtbot.waitUntil(lambda: w.pixels_scale == 1.0, timeout=10000)
    assert w.canvas.image_size() == (3200, 2400)


def test_reopening_a_dataset_returns_to_the_image_the_user_left(qtbot, monkeypatch, tmp_path, gui_sample):
    window = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    window.show_record(7)
    name = window.current_record().path.name
    window.close()
    again = open_window(qtbot, monkeypatch, tmp_path, gui_sample)  # the same settings file
    assert again.current == 7 and again.current_record().path.name == name
    # A dataset whose remembered image is gone opens on its first image.
    (gui_sample.parent / "images" / "train" / name).unlink()
    again.close()
    third = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    assert third.current == 0


def test_the_start_page_closes_the_tool_docks_of_the_dataset(qtbot, monkeypatch, tmp_path, gui_sample):
    window = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    for dock in window.tools.docks().values():
        dock.show()
    window.close_dataset()
    assert all(not dock.isVisible() for dock in window.tools.docks().values())
    assert all(not dock.isVisible() for dock in window.docks.values())

"""Keys and focus as a user meets them: jumps give the canvas the keyboard, arrows nudge
a selected box (and leave a focused slider alone), the familiar Ctrl keys, and every key
visible in menus, tooltips and the shortcuts dialog."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication

from tests._gui_window import open_window
from workbench.core.annotation import Instance
from workbench.gui.actions import SPECS, dock_on_top, shortcut_table
from workbench.gui.canvas import CANVAS_KEYS
from workbench.gui.findings_panel import FINDING_ROLE

pytest.importorskip("pytestqt")
pytest_plugins = ["tests._gui_fixtures"]  # the gui_sample fixture

NATIVE = QKeySequence.SequenceFormat.NativeText


def key(qtbot, widget, seq: str) -> None:
    """Type a shortcut as a user would (through Qt's shortcut map)."""
    combo = QKeySequence(seq)[0]
    qtbot.keyClick(widget, combo.key(), combo.keyboardModifiers())


def _boxed_window(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, query_devices=False)
    rec = w.canvas.record()
    assert rec.instances, "the sample's first image has a box"
    w.canvas.setFocus()
    return w, rec


def test_a_clicked_finding_gives_the_canvas_the_keyboard(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, query_devices=False)
    tree = w.findings_panel.tree
    tree.expandAll()
    leaf = next(it for it in w.findings_panel._leaves() if it.data(0, FINDING_ROLE).instance is not None)
    tree.scrollToItem(leaf)
    tree.setFocus()
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=tree.visualItemRect(leaf).center())
    f = leaf.data(0, FINDING_ROLE)
    assert w.canvas.selected_instance() == f.instance
    assert QApplication.focusWidget() is w.canvas
    rec = w.canvas.record()
    before = rec.instances[f.instance].class_id
    new = (before + 1) % w.ds.nc
    qtbot.keyClick(w.canvas, getattr(Qt.Key, f"Key_{new + 1}"))  # digit keys act at once
    assert rec.instances[f.instance].class_id == new
    # browsing the list with its arrow keys keeps the keyboard there (the next arrow moves on)
    tree.setFocus()
    qtbot.keyClick(tree, Qt.Key.Key_Down)
    assert QApplication.focusWidget() is tree
    qtbot.keyClick(tree, Qt.Key.Key_Return)  # Enter: edit the finding browsed to
    assert QApplication.focusWidget() is w.canvas


def test_a_qc_suspect_jump_gives_the_canvas_the_keyboard(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, query_devices=False)
    panel = w.tools.label_qc_panel
    w.tools.label_qc_dock.show()
    panel.table.setFocus()
    n = len(w.ds.records[5].ensure_loaded().instances)
    assert n
    panel.jumpRequested.emit(5, 0)  # what a click on a suspect row emits
    assert w.current == 5 and w.canvas.selected_instance() == 0
    assert QApplication.focusWidget() is w.canvas
    qtbot.keyClick(w.canvas, Qt.Key.Key_Delete)
    assert len(w.ds.records[5].instances) == n - 1


def test_arrows_nudge_the_selected_box_and_undo_in_one_step(qtbot, monkeypatch, tmp_path, gui_sample):
    w, rec = _boxed_window(qtbot, monkeypatch, tmp_path, gui_sample)
    w.canvas.select_instance(0)
    box0 = rec.instances[0].box.copy()
    kps0 = rec.instances[0].keypoints.copy()
    depth = w.undo_stack.count()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Right)
    assert w.current == 0, "the arrow nudged the box instead of changing the image"
    assert np.allclose(rec.instances[0].box, box0 + [1, 0, 1, 0])
    qtbot.keyClick(w.canvas, Qt.Key.Key_Down, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClick(w.canvas, Qt.Key.Key_Left)
    assert np.allclose(rec.instances[0].box, box0 + [0, 10, 0, 10])
    placed = kps0[:, 2] > 0
    assert np.allclose(rec.instances[0].keypoints[placed, :2], kps0[placed, :2] + [0, 10])
    assert w.undo_stack.count() == depth + 1  # consecutive nudges merge into one undo step
    w.undo_stack.undo()
    assert np.allclose(rec.instances[0].box, box0)
    # without a selection the arrows navigate as before
    qtbot.keyClick(w.canvas, Qt.Key.Key_Escape)
    assert w.canvas.selected_instance() is None
    qtbot.keyClick(w.canvas, Qt.Key.Key_Right)
    assert w.current == 1


def test_arrows_on_a_focused_slider_move_the_slider_not_the_image(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, query_devices=False)
    w.tools.prediction_dock.show()
    slider = w.tools.prediction_viewer.score_slider
    slider.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is slider)
    v = slider.value()
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert slider.value() == v + 1
    assert w.current == 0
    qtbot.keyClick(slider, Qt.Key.Key_Left)
    assert slider.value() == v and w.current == 0


def test_duplicate_copy_and_paste_to_another_image(qtbot, monkeypatch, tmp_path, gui_sample):
    w, rec = _boxed_window(qtbot, monkeypatch, tmp_path, gui_sample)
    n = len(rec.instances)
    w.canvas.select_instance(0)
    key(qtbot, w.canvas, "Ctrl+D")
    assert len(rec.instances) == n + 1
    assert w.canvas.selected_instance() == n
    assert not np.allclose(rec.instances[n].box, rec.instances[0].box)
    assert np.allclose(rec.instances[n].width, rec.instances[0].width)
    key(qtbot, w.canvas, "Ctrl+Z")
    assert len(rec.instances) == n

    # a box reaching past the target image is clipped; its keypoints travel with it
    big = Instance(class_id=1, box=np.array([200.0, 150.0, 400.0, 300.0]), keypoints=rec.instances[0].keypoints)
    rec.set_instances([*rec.instances, big])
    w.canvas.refresh()
    w.canvas.select_instance(len(rec.instances) - 1)
    key(qtbot, w.canvas, "Ctrl+C")
    w.canvas.select_instance(None)
    key(qtbot, w.canvas, "D")  # next image
    other = w.canvas.record()
    assert other is not rec
    m = len(other.instances)
    key(qtbot, w.canvas, "Ctrl+V")
    assert len(other.instances) == m + 1
    pasted = other.instances[-1]
    assert pasted.class_id == 1
    assert np.allclose(pasted.box, [200, 150, 320, 240])  # clip_box to 320x240
    assert pasted.keypoints is not None and pasted.keypoints.shape == big.keypoints.shape
    assert w.canvas.selected_instance() == m

    # nothing selected: Ctrl+C copies every box of the image
    w.canvas.select_instance(None)
    key(qtbot, w.canvas, "Ctrl+C")
    assert len(w.canvas.clipboard()) == m + 1


def test_zoom_keys_esc_leaves_the_box_tool_and_s_selects(qtbot, monkeypatch, tmp_path, gui_sample):
    w, _ = _boxed_window(qtbot, monkeypatch, tmp_path, gui_sample)
    z = w.canvas.zoom()
    key(qtbot, w.canvas, "Ctrl++")
    assert w.canvas.zoom() > z * 1.1
    z = w.canvas.zoom()
    key(qtbot, w.canvas, "Ctrl+-")
    assert w.canvas.zoom() < z / 1.1
    z = w.canvas.zoom()
    key(qtbot, w.canvas, "Ctrl+=")  # the same key without Shift on most keyboards
    assert w.canvas.zoom() > z * 1.1

    key(qtbot, w.canvas, "B")
    assert w.canvas.tool() == "box" and w.actions["box_tool"].isChecked()
    qtbot.keyClick(w.canvas, Qt.Key.Key_Escape)
    assert w.canvas.tool() == "select" and w.actions["select_tool"].isChecked()
    key(qtbot, w.canvas, "B")
    key(qtbot, w.canvas, "S")
    assert w.canvas.tool() == "select" and not w.actions["box_tool"].isChecked()


def test_every_shortcut_is_in_its_tooltip_and_the_dialog_once(qtbot, monkeypatch, tmp_path):
    w = open_window(qtbot, monkeypatch, tmp_path, query_devices=False)
    for spec in SPECS:
        act = w.actions[spec.name]
        for seq in act.shortcuts():
            assert f"({seq.toString(NATIVE)}" in act.toolTip() or f", {seq.toString(NATIVE)}" in act.toolTip(), (
                spec.name,
                act.toolTip(),
            )
    assert w.actions["predict_current"].toolTip().startswith("Predict Current Image (Ctrl+R)")
    table = shortcut_table(CANVAS_KEYS)
    assert len(table) == len(set(table)), "a duplicate row in the shortcuts dialog"
    keys = [k.strip() for _, ks in table for k in ks.split(",")]
    assert len(keys) == len(set(keys)), [k for k in keys if keys.count(k) > 1]
    for needed in ("Ctrl+D", "Ctrl+C", "Ctrl+V", "Ctrl++", "Ctrl+-", "S", "Esc"):
        assert needed in keys


def test_ctrl_shift_l_brings_the_qc_tab_in_front_of_findings(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, query_devices=False)
    qc, findings = w.tools.label_qc_dock, w.docks["findings"]
    key(qtbot, w.canvas, "Ctrl+Shift+L")
    qtbot.waitUntil(lambda: dock_on_top(qc))
    assert qc in w.tabifiedDockWidgets(findings)
    findings.raise_()  # the user clicks the Findings tab: QC is open but behind
    qtbot.waitUntil(lambda: not dock_on_top(qc))
    assert not qc.isHidden()
    key(qtbot, w.canvas, "Ctrl+Shift+L")
    qtbot.waitUntil(lambda: dock_on_top(qc))
    assert w.actions["label_qc"].isChecked()
    key(qtbot, w.canvas, "Ctrl+Shift+L")  # on top: the key closes it
    assert qc.isHidden() and not w.actions["label_qc"].isChecked()


def test_keypoints_are_named_one_way_in_findings_edits_and_qc(qtbot, monkeypatch, tmp_path, gui_sample):
    """1-based with the name everywhere: a finding, the canvas' undo text and a QC message."""
    from workbench.core.keypoints import KeypointSchema
    from workbench.core.wording import keypoint_label
    from workbench.qa.label_qc import _kp_name

    assert keypoint_label(2, ["left_eye", "right_eye", "nose"]) == "keypoint 3 (nose)"
    assert keypoint_label(7, ["a"]) == "keypoint 8"
    assert _kp_name(KeypointSchema(names=["left_eye", "right_eye", "nose"], flip_idx=[1, 0, 2]), 2) == (
        "keypoint 3 (nose)"
    )
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, query_devices=False)
    assert w.canvas.keypoint_name(2) == "keypoint 3 (nose)"
    w.canvas.select_instance(0)
    w.canvas.start_placing(2)
    assert "keypoint 3 (nose)" in w.statusBar().currentMessage()
    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_V)  # no keypoint touched yet: a hint, nothing undone
    w.canvas._active_kp = (0, 2)  # the last keypoint the user touched
    qtbot.keyClick(w.canvas, Qt.Key.Key_V)
    assert w.undo_stack.undoText().startswith("Set keypoint 3 (nose) ")


def test_hovering_a_keypoint_names_it(qtbot, monkeypatch, tmp_path, gui_sample):
    from tests._gui_window import view_point

    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, query_devices=False)
    rec = w.canvas.record()
    inst = rec.instances[0]
    k = int(np.flatnonzero(inst.keypoints[:, 2] > 0)[0])
    x, y = inst.keypoints[k, :2]
    qtbot.mouseMove(w.canvas.viewport(), view_point(w, float(x), float(y)))
    assert w.canvas.hovered().kind == "keypoint"
    names = w.ds.keypoints.names
    assert w.canvas.viewport().toolTip().startswith(f"keypoint {k + 1} ({names[k]}), visible")
    qtbot.mouseMove(w.canvas.viewport(), view_point(w, float(inst.box[0] + 3), float(inst.box[1] + 3)))
    assert w.canvas.hovered().kind == "box"
    assert w.canvas.viewport().toolTip() == f"{w.ds.classes[inst.class_id]} (instance 1)"

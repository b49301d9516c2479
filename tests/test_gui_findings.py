"""The findings panel: jump to a finding's instance, quick fixes and class remap, all undoable."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog, QInputDialog, QMessageBox

from tests._gui_window import open_window
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import DeleteLine, FitBoxToKeypoints, SetClass
from workbench.gui import commands
from workbench.gui.findings_panel import FINDING_ROLE, RemapClassDialog, fix_command
from workbench.qa.validate import sort_findings

pytest.importorskip("pytestqt")
pytest_plugins = ["tests._gui_fixtures"]


def _finding(w, kind: str) -> Finding:
    return next(f for f in w.findings_panel.store.all() if f.kind == kind)


def test_click_finding_jumps_to_image_and_selects_instance(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    f = _finding(w, "class_out_of_range")
    assert f.severity == Severity.ERROR and f.image.endswith("train_021.jpg")
    assert w.findings_panel.select_finding(f)
    assert w.ds.records[w.current].path.name == "train_021.jpg"
    assert w.canvas.record() is w.ds.records[w.current]
    assert w.canvas.selected_instance() == f.instance
    assert w.image_list.view.currentIndex().data() == "train_021.jpg"


def test_next_finding_walks_images_with_findings(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    images = set()
    n = sum(1 for f in w.findings_panel.store.all() if f.image is not None)
    for _ in range(n):
        w.actions["next_finding"].trigger()
        f = w.findings_panel.current_finding()
        assert w.ds.rel(w.ds.records[w.current].path) == f.image
        images.add(f.image)
    w.actions["next_finding"].trigger()  # wraps around to the first
    assert w.findings_panel.current_finding() == w.findings_panel._leaves()[0].data(0, FINDING_ROLE)
    assert len(images) >= 2


def test_quick_fix_is_undoable_and_findings_refresh(qtbot, monkeypatch, tmp_path, gui_sample):
    """train_009's box is shifted off two correct landmarks: the quick fix moves the box, never the points."""
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    f = _finding(w, "keypoint_outside_box")
    assert isinstance(f.fix, FitBoxToKeypoints) and f.image.endswith("train_009.jpg")
    w.findings_panel.select_finding(f)
    assert w.findings_panel.fix_button.isEnabled()
    assert w.findings_panel.fix_button.text() == "Fix: Move the box over its keypoints"
    rec = w.ds.records[w.current]
    box, landmarks = rec.instances[f.instance].box.copy(), rec.instances[f.instance].keypoints.copy()
    before = [g for g in w.findings_panel.store.all() if g.kind == "keypoint_outside_box"]
    assert len(before) == 2 and all(g.fix == f.fix for g in before)  # the two findings agree
    w.findings_panel.fix_button.click()
    assert rec.instances[f.instance].keypoints.tolist() == landmarks.tolist()
    assert rec.instances[f.instance].box.tolist() != box.tolist()
    assert not [g for g in w.findings_panel.store.all() if g.kind == "keypoint_outside_box"]  # one fix clears both
    store = w.findings_panel.store
    flat = store.dataset_level + [g for items in store.by_image.values() for g in items]
    assert store.all() == sort_findings(flat)  # the incrementally patched list stays complete and sorted
    assert w.isWindowModified() and w.undo_stack.undoText() == "Move the box over its keypoints"
    w.actions["undo"].trigger()
    assert rec.instances[f.instance].box.tolist() == box.tolist()
    assert f in w.findings_panel.store.all()


def test_set_class_fix_asks_for_the_class(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    bad = _finding(w, "class_out_of_range")
    rec = w.ds.records[w.findings_panel.store.record_of[bad.image]]
    ask = Finding(
        bad.severity,
        bad.kind,
        bad.message,
        bad.image,
        bad.label_file,
        bad.line,
        bad.instance,
        fix=SetClass(bad.instance),
    )
    assert fix_command(w.ds, w.findings_panel.store, ask, w.notifier) is None  # no class chosen yet
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("2: alien", True))
    assert w.findings_panel.apply_fix(ask)
    assert rec.instances[bad.instance].class_id == 2
    assert not [g for g in w.findings_panel.store.all() if g.kind == "class_out_of_range"]
    w.undo_stack.undo()
    assert rec.instances[bad.instance].class_id == 5


def test_remap_dialog_previews_and_remaps_in_one_step(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    dialog = RemapClassDialog(w.ds, w)
    qtbot.addWidget(dialog)
    assert [dialog.from_box.itemData(i) for i in range(dialog.from_box.count())] == [0, 1, 2, 5]
    dialog.from_box.setCurrentIndex(3)  # the stray id 5
    dialog.to_box.setCurrentIndex(0)
    assert dialog.preview_count() == commands.count_class(w.ds, 5) == 1
    assert "1 instance will change" in dialog.preview.text()
    counts = list(w.ds.class_counts())
    monkeypatch.setattr(RemapClassDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(RemapClassDialog, "from_id", lambda self: 2)
    monkeypatch.setattr(RemapClassDialog, "to_id", lambda self: 1)
    w.findings_panel.remap_button.click()
    assert list(w.ds.class_counts()) == [counts[0], counts[1] + counts[2], 0]
    assert "alien  (0)" in w.class_panel.list.item(2).text()
    w.undo_stack.undo()
    assert list(w.ds.class_counts()) == counts


def test_add_class_updates_panels_and_is_undoable(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    assert w.class_panel.add_class("zombie") == 3
    assert w.class_panel.list.count() == 4 and w.image_list.class_box.findData(3) > 0
    assert w.saver.dirty
    w.undo_stack.undo()
    assert w.ds.classes == ["face", "robot", "alien"] and w.class_panel.list.count() == 3


def test_a_line_that_does_not_parse_is_deleted_by_its_quick_fix(qtbot, monkeypatch, tmp_path, gui_sample):
    label = gui_sample.parent / "labels" / "train" / "train_002.txt"
    good = label.read_text()
    label.write_text(good + "1 0.5 0.5 0.1\n")  # 4 columns: kept verbatim, not an instance
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    f = _finding(w, "column_count")
    assert isinstance(f.fix, DeleteLine) and f.instance is None
    w.findings_panel.select_finding(f)
    assert w.findings_panel.fix_button.isEnabled() and "Delete the line" in w.findings_panel.fix_button.text()
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a: asked.append(a) or QMessageBox.StandardButton.No)
    w.findings_panel.fix_button.click()  # deleting what the user wrote asks first: No keeps it
    assert len(asked) == 1 and "1 0.5 0.5 0.1" in asked[0][2] and asked[0][4] == QMessageBox.StandardButton.No
    assert [g for g in w.findings_panel.store.all() if g.kind == "column_count"] and w.undo_stack.count() == 0
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Yes)
    w.findings_panel.fix_button.click()
    monkeypatch.setattr(QMessageBox, "question", lambda *a: QMessageBox.StandardButton.Discard)  # on closing
    assert not [g for g in w.findings_panel.store.all() if g.kind == "column_count"]
    w.actions["undo"].trigger()
    assert [g for g in w.findings_panel.store.all() if g.kind == "column_count"]
    w.actions["redo"].trigger()
    assert w.save()

    def values(text: str) -> list[float]:
        return [float(v) for line in text.splitlines() for v in line.split()]

    assert values(label.read_text()) == pytest.approx(values(good))  # the bad line is gone, the rest kept

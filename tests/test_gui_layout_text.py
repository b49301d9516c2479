"""Layout and text: counts that add up, names that fit or say themselves on hover, docks
that never push the window past the screen, plots that can be read, GUI words for GUI users."""

from __future__ import annotations

import pytest

from tests._gui_window import open_window

pytest.importorskip("pytestqt")
pytest_plugins = ["tests._gui_fixtures"]  # the gui_sample fixture


def test_the_class_count_counts_a_box_of_an_unknown_class(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, query_devices=False)
    every = sum(len(r.ensure_loaded().instances) for r in w.ds.records)
    unknown = sum(1 for r in w.ds.records for inst in r.instances if not 0 <= inst.class_id < w.ds.nc)
    assert unknown == 1  # the sample's class id 5 in a 3-class dataset
    assert w.class_panel.total_label.text() == f"3 classes, {every} boxes (1 of an unknown class)"
    # an edit keeps the total honest
    rec = w.canvas.record()
    w.canvas.select_instance(0)
    w.canvas.delete_selected()
    assert w.class_panel.total_label.text() == f"3 classes, {every - 1} boxes (1 of an unknown class)"
    assert rec is w.canvas.record()


def test_class_rows_carry_their_full_name_in_a_tooltip(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, query_devices=False)
    long_name = "a very long class name that a narrow dock cannot show in full " * 2
    w.class_panel.add_class(long_name)
    item = w.class_panel.list.item(w.ds.nc - 1)
    assert long_name.strip() in item.toolTip()


def test_findings_rows_and_combo_items_say_their_full_text_on_hover(qtbot, monkeypatch, tmp_path, gui_sample):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QComboBox

    from workbench.gui.findings_panel import FINDING_ROLE

    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, query_devices=False)
    leaves = w.findings_panel._leaves()
    assert leaves
    for leaf in leaves:
        assert leaf.toolTip(0) == str(leaf.data(0, FINDING_ROLE))
    policy = QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
    form = w.tools.train_panel.form
    viewer = w.tools.prediction_viewer
    combos = [form.model, form.weights, form.device, viewer.weights, viewer.scope]
    for combo in combos:
        assert combo.sizeAdjustPolicy() == policy
        for i in range(combo.count()):
            assert combo.itemData(i, Qt.ItemDataRole.ToolTipRole), (combo, combo.itemText(i))
    long_name = "a_checkpoint_with_a_name_much_longer_than_the_dock_" * 3
    form.model.addItem(long_name, long_name)  # added later: it gets its tooltip too
    assert form.model.itemData(form.model.count() - 1, Qt.ItemDataRole.ToolTipRole) == long_name
    form.model.setCurrentIndex(form.model.count() - 1)
    assert form.model.toolTip() == long_name
    assert form.model.sizeHint().width() < 400  # sized by its minimum length, not by the name

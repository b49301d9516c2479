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

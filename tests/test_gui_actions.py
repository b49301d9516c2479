"""The action table: every menu entry, toolbar button and shortcut comes from ``actions.SPECS``."""

from __future__ import annotations

from collections import Counter

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox

from tests._gui_window import open_window
from workbench.gui.actions import MENU_ORDER, SPECS, shortcut_table
from workbench.gui.canvas import CANVAS_KEYS

pytest_plugins = ["tests._gui_fixtures"]  # the gui_sample fixture

NATIVE = QKeySequence.SequenceFormat.NativeText


def _menu_actions(window, title: str) -> list[QAction]:
    for a in window.menuBar().actions():
        if a.menu() is not None and a.text() == title:
            return [x for x in a.menu().actions() if not x.isSeparator()]
    raise AssertionError(f"no menu {title}")


def test_every_row_is_in_its_menu_once_and_the_tool_docks_have_their_shortcuts(qtbot, monkeypatch, tmp_path):
    window = open_window(qtbot, monkeypatch, tmp_path, query_devices=False)
    assert [a.text() for a in window.menuBar().actions()] == MENU_ORDER
    for spec in SPECS:
        act = window.actions[spec.name]
        assert act in _menu_actions(window, spec.menu), spec.name
        assert act.text() == spec.text
    tools = window.tools
    for name, dock in (("train", tools.train_dock), ("predictions", tools.prediction_dock)):
        window.actions[name].trigger()  # a dock row shows its dock, its check mark follows
        assert dock.isVisible() and window.actions[name].isChecked()
        window.actions[name].trigger()
        assert dock.isHidden() and not window.actions[name].isChecked()
    keys = {name: window.actions[name].shortcut().toString() for name in ("train", "predictions", "label_qc")}
    assert keys == {"train": "Ctrl+T", "predictions": "Ctrl+Shift+P", "label_qc": "Ctrl+Shift+L"}
    assert window.actions["predict_current"].shortcut().toString() == "Ctrl+R"
    toolbar = [a for a in window.actions.toolbar.actions() if not a.isSeparator()]
    assert toolbar == [window.actions[s.name] for s in SPECS if s.toolbar]


def test_no_key_is_bound_twice_in_the_window(qtbot, monkeypatch, tmp_path):
    window = open_window(qtbot, monkeypatch, tmp_path, query_devices=False)
    bound = Counter(
        seq.toString(NATIVE)
        for act in window.findChildren(QAction)
        if not isinstance(act.parent(), QMenu) or act.menu() is None
        for seq in act.shortcuts()
    )
    assert [k for k, n in bound.items() if n > 1] == []


def test_shortcuts_dialog_lists_every_shortcut_once(qtbot, monkeypatch, tmp_path):
    table = shortcut_table(CANVAS_KEYS)
    names = [name for name, _ in table]
    assert len(names) == len(set(names))
    listed = {k.strip() for _, keys in table for k in keys.split(",")}
    for spec in SPECS:
        for seq in spec.shortcuts:
            for s in (
                QKeySequence.keyBindings(seq) if isinstance(seq, QKeySequence.StandardKey) else [QKeySequence(seq)]
            ):
                assert s.toString(NATIVE) in listed, spec.name
    for needed in ("Ctrl+T", "Ctrl+R", "Ctrl+Shift+P", "Ctrl+Shift+L", "Esc", "Wheel"):
        assert needed in listed
    # a canvas key that is also an action (W: draw one box) is listed once, under the action's name
    assert sum("W" in [k.strip() for k in keys.split(",")] for _, keys in table) == 1

    window = open_window(qtbot, monkeypatch, tmp_path, query_devices=False)
    shown = {}
    monkeypatch.setattr(QMessageBox, "information", lambda _parent, title, text: shown.update(text=text))
    window.actions["show_shortcuts"].trigger()
    assert "Train Panel" in shown["text"] and "Predict Current Image" in shown["text"]


def test_menu_entries_of_the_tool_docks_show_and_run_them(qtbot, monkeypatch, tmp_path, gui_sample):
    calls = []
    window = open_window(qtbot, monkeypatch, tmp_path, gui_sample, query_devices=False)
    tools = window.tools
    monkeypatch.setattr(tools.label_qc_panel, "find_suspects", lambda: calls.append("find") or True)
    monkeypatch.setattr(tools.prediction_viewer, "run", lambda scope=None: calls.append(scope) or 0)
    assert tools.label_qc_dock.isHidden() and tools.prediction_dock.isHidden()
    window.actions["find_suspects"].trigger()
    assert tools.label_qc_dock.isVisible() and calls == ["find"]
    window.actions["predict_current"].trigger()
    assert tools.prediction_dock.isVisible() and calls == ["find", "current"]
    window.actions["label_qc"].trigger()  # the toggle hides it again
    assert tools.label_qc_dock.isHidden()

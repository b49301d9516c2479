"""Menus, toolbar entries and keyboard shortcuts, declared in one table.

Every keyboard-driven step (next image, next finding, save, undo, box tool) is a
``QAction`` with its shortcuts, so the menus show them and tests can trigger exactly
what a key press triggers. The window supplies the slots by name. The canvas' own bare
keys (W, C, V, F, P, Delete) appear here bound to the canvas' public method of the same
meaning, so a menu shortcut never does something else than the key on the canvas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QMainWindow, QMenu

K = QKeySequence.StandardKey


@dataclass(frozen=True)
class ActionSpec:
    name: str
    text: str
    menu: str
    shortcuts: tuple[str | QKeySequence.StandardKey, ...] = ()
    tip: str = ""
    checkable: bool = False
    separator_before: bool = False


SPECS: list[ActionSpec] = [
    ActionSpec("open_folder", "Open &Folder…", "&File", (K.Open,), "Open a dataset folder"),
    ActionSpec("open_file", "Open data.yaml or COCO &JSON…", "&File", ("Ctrl+Shift+O",)),
    ActionSpec("open_sample", "Open the &Sample Dataset", "&File", (), "Write the bundled sample and open it"),
    ActionSpec("save", "&Save", "&File", (K.Save,), "Write the changed label files", separator_before=True),
    ActionSpec("start_page", "Start &Page", "&File", (), "Back to the start page", separator_before=True),
    ActionSpec("quit", "&Quit", "&File", (K.Quit,)),
    ActionSpec("delete", "&Delete Selected", "&Edit", ("Del", "Backspace"), separator_before=True),
    ActionSpec("class_picker", "Set &Class…", "&Edit", ("C",), "Searchable class picker (can add a class)"),
    ActionSpec(
        "copy_previous",
        "&Copy Previous Image's Labels",
        "&Edit",
        ("Ctrl+Shift+V",),
        "Append the labels of the previous image in the list",
    ),
    ActionSpec("add_class", "&Add Class…", "&Edit", ("Ctrl+Shift+N",), separator_before=True),
    ActionSpec("remap_class", "&Remap Class…", "&Edit", (), "Change every instance of one class into another"),
    ActionSpec("preferences", "&Preferences…", "&Edit", (K.Preferences,), separator_before=True),
    ActionSpec("select_tool", "&Select / Edit", "&Tools", (), checkable=True),
    ActionSpec("box_tool", "&Box Tool", "&Tools", ("B",), "Every click-drag draws a box", checkable=True),
    ActionSpec("draw_box", "&Draw One Box", "&Tools", ("W",), "The next click-drag draws a box"),
    ActionSpec(
        "cycle_visibility",
        "Cycle Keypoint &Visibility",
        "&Tools",
        ("V",),
        "Visible -> occluded -> missing for the hovered or last touched keypoint",
        separator_before=True,
    ),
    ActionSpec("swap_left_right", "S&wap Left/Right Keypoints", "&Tools", ("F",), "By the dataset's flip_idx"),
    ActionSpec("place_keypoints", "&Place Missing Keypoints", "&Tools", ("P",)),
    ActionSpec("next_image", "&Next Image", "&Go", ("D", "Right", "PgDown")),
    ActionSpec("prev_image", "&Previous Image", "&Go", ("A", "Left", "PgUp")),
    ActionSpec(
        "next_finding", "Next &Finding", "&Go", ("N",), "Jump to the next validation finding", separator_before=True
    ),
    ActionSpec("prev_finding", "Previous F&inding", "&Go", ("Shift+N",)),
    ActionSpec("fit", "&Fit to Window", "&View", ("Ctrl+0",)),
    ActionSpec("zoom_1to1", "&Actual Pixels (1:1)", "&View", ("Ctrl+1",)),
    ActionSpec("grid", "Thumbnail &Grid", "&View", ("Ctrl+G",), checkable=True, separator_before=True),
]

MENU_ORDER = ["&File", "&Edit", "&Tools", "&Go", "&View", "&Help"]


@dataclass
class Actions:
    """The window's actions by name, plus the menus (for the recent-datasets submenu)."""

    by_name: dict[str, QAction] = field(default_factory=dict)
    menus: dict[str, QMenu] = field(default_factory=dict)
    recent_menu: QMenu | None = None

    def __getitem__(self, name: str) -> QAction:
        return self.by_name[name]


def _void(fn: Callable[..., object], *args: object) -> None:
    """Call a slot and drop its result: PySide6 mishandles the reference count of a value
    (True, a dialog, ...) returned from a slot connected to a void signal, and crashes at exit."""
    fn(*args)


def _sequences(spec: ActionSpec) -> list[QKeySequence]:
    out: list[QKeySequence] = []
    for s in spec.shortcuts:
        if isinstance(s, QKeySequence.StandardKey):
            out.extend(QKeySequence.keyBindings(s))
        else:
            out.append(QKeySequence(s))
    return out


def build_actions(window: QMainWindow, slots: dict[str, Callable[..., object]], undo_stack: QUndoStack) -> Actions:
    """Create the menus and actions; ``slots`` maps action names to callables."""
    actions = Actions()
    bar = window.menuBar()
    for title in MENU_ORDER:
        actions.menus[title] = bar.addMenu(title)
    undo = undo_stack.createUndoAction(window, "&Undo")
    undo.setShortcuts(QKeySequence.keyBindings(K.Undo))
    redo = undo_stack.createRedoAction(window, "&Redo")
    redo.setShortcuts(QKeySequence.keyBindings(K.Redo) + [QKeySequence("Ctrl+Y")])
    edit = actions.menus["&Edit"]
    edit.addAction(undo)
    edit.addAction(redo)
    actions.by_name["undo"], actions.by_name["redo"] = undo, redo
    for spec in SPECS:
        act = QAction(spec.text, window)
        act.setShortcuts(_sequences(spec))
        act.setCheckable(spec.checkable)
        if spec.tip:
            act.setStatusTip(spec.tip)
            act.setToolTip(spec.tip)
        slot = slots.get(spec.name)
        if slot is not None:
            if spec.name == "grid":
                act.toggled.connect(lambda on, f=slot: _void(f, on))
            else:
                act.triggered.connect(lambda _checked=False, f=slot: _void(f))
        menu = actions.menus[spec.menu]
        if spec.separator_before:
            menu.addSeparator()
        menu.addAction(act)
        window.addAction(act)  # shortcuts work while any child widget has focus
        actions.by_name[spec.name] = act
        if spec.name == "open_sample":
            actions.recent_menu = menu.addMenu("Open &Recent")
    about = QAction("&Keyboard Shortcuts", window)
    help_slot = slots.get("show_shortcuts")
    if help_slot is not None:
        about.triggered.connect(lambda _checked=False, f=help_slot: _void(f))
    actions.menus["&Help"].addAction(about)
    return actions


def shortcut_table() -> list[tuple[str, str]]:
    """(action, keys) rows for the Help dialog."""
    rows = [("Undo", "Ctrl+Z"), ("Redo", "Ctrl+Shift+Z, Ctrl+Y")]
    for spec in SPECS:
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in _sequences(spec))
        if keys:
            rows.append((spec.text.replace("&", ""), keys))
    return rows

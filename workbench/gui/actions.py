"""Every action of the window (id, title, menu, shortcut, toolbar place, callback name), in one table.

Menus, the toolbar and the Help > Keyboard Shortcuts dialog are all drawn from ``SPECS``,
so a shortcut cannot exist without being listed, or be listed twice (napari's app-model
actions are the model: ``Action(id, title, callback, menus, keybindings)``). The window
and the tool docks supply the callbacks by id; a dock row makes the dock's own
show/hide action carry the row's title and shortcut (and bring a dock that is open
behind another tab to the front instead of hiding it). Every tooltip names the keys. The canvas' own bare keys (W, C,
V, F, P, Delete) appear here bound to the canvas' public method of the same meaning, so
a menu shortcut never does something else than the key on the canvas.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from PySide6.QtGui import QAction, QKeySequence, QUndoStack
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QToolBar

K = QKeySequence.StandardKey
Kind = Literal["action", "undo", "redo", "dock"]


@dataclass(frozen=True)
class ActionSpec:
    """One row: ``name`` is the id callbacks are supplied under (or, for ``kind="dock"``, the dock's name)."""

    name: str
    text: str
    menu: str
    shortcuts: tuple[str | QKeySequence.StandardKey, ...] = ()
    tip: str = ""
    checkable: bool = False
    separator_before: bool = False
    toolbar: bool = False
    kind: Kind = "action"


SPECS: list[ActionSpec] = [
    ActionSpec("open_folder", "Open &Folder…", "&File", (K.Open,), "Open a dataset folder", toolbar=True),
    ActionSpec("open_file", "Open data.yaml or COCO &JSON…", "&File", ("Ctrl+Shift+O",)),
    ActionSpec("open_sample", "Open the &Sample Dataset", "&File", (), "Write the bundled sample and open it"),
    ActionSpec(
        "save", "&Save", "&File", (K.Save,), "Write the changed label files", separator_before=True, toolbar=True
    ),
    ActionSpec("start_page", "Start &Page", "&File", (), "Back to the start page", separator_before=True),
    ActionSpec("quit", "&Quit", "&File", (K.Quit,)),
    ActionSpec("undo", "&Undo", "&Edit", (K.Undo,), kind="undo", toolbar=True),
    ActionSpec("redo", "&Redo", "&Edit", (K.Redo, "Ctrl+Y"), kind="redo", toolbar=True),
    ActionSpec("delete", "&Delete Selected", "&Edit", ("Del", "Backspace"), separator_before=True),
    ActionSpec("class_picker", "Set &Class…", "&Edit", ("C",), "Searchable class picker (can add a class)"),
    ActionSpec(
        "copy_previous",
        "&Copy Previous Image's Labels",
        "&Edit",
        ("Ctrl+Shift+V",),
        "Append the labels of the previous image in the list",
    ),
    ActionSpec(
        "duplicate",
        "D&uplicate Box",
        "&Edit",
        ("Ctrl+D",),
        "A copy of the selected box beside it, selected",
        separator_before=True,
    ),
    ActionSpec(
        "copy_boxes",
        "Copy Bo&xes",
        "&Edit",
        ("Ctrl+C",),
        "Copy the selected box, or every box of the image when none is selected",
    ),
    ActionSpec(
        "paste_boxes",
        "Pa&ste Boxes",
        "&Edit",
        ("Ctrl+V",),
        "Paste the copied boxes into this image (e.g. the next video frame), clipped to it",
    ),
    ActionSpec("add_class", "&Add Class…", "&Edit", ("Ctrl+Shift+N",), separator_before=True),
    ActionSpec("remap_class", "&Remap Class…", "&Edit", (), "Change every instance of one class into another"),
    ActionSpec("preferences", "&Preferences…", "&Edit", (K.Preferences,), separator_before=True),
    ActionSpec(
        "select_tool",
        "&Select / Edit",
        "&Tools",
        ("S",),
        "Click selects, drag moves or resizes",
        checkable=True,
        toolbar=True,
    ),
    ActionSpec("box_tool", "&Box Tool", "&Tools", ("B",), "Every click-drag draws a box", checkable=True, toolbar=True),
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
    ActionSpec("prev_image", "&Previous Image", "&Go", ("A", "Left", "PgUp"), toolbar=True),
    ActionSpec("next_image", "&Next Image", "&Go", ("D", "Right", "PgDown"), toolbar=True),
    ActionSpec(
        "next_finding", "Next &Finding", "&Go", ("N",), "Jump to the next validation finding", separator_before=True
    ),
    ActionSpec("prev_finding", "Previous F&inding", "&Go", ("Shift+N",)),
    ActionSpec("fit", "&Fit to Window", "&View", ("Ctrl+0",), toolbar=True),
    ActionSpec("zoom_1to1", "&Actual Pixels (1:1)", "&View", ("Ctrl+1",)),
    ActionSpec("zoom_in", "Zoom &In", "&View", ("Ctrl++", "Ctrl+=")),
    ActionSpec("zoom_out", "Zoom &Out", "&View", ("Ctrl+-",)),
    ActionSpec("grid", "Thumbnail &Grid", "&View", ("Ctrl+G",), checkable=True, separator_before=True),
    ActionSpec("train", "&Train Panel", "T&rain", ("Ctrl+T",), "Show or hide the Train panel", kind="dock"),
    ActionSpec("start_training", "&Start Training", "T&rain", ()),
    ActionSpec("stop_training", "S&top Training", "T&rain", ()),
    ActionSpec("resume_training", "&Resume Last Run", "T&rain", ()),
    ActionSpec("predictions", "&Detection Viewer", "&Predictions", ("Ctrl+Shift+P",), kind="dock"),
    ActionSpec("predict_current", "&Predict Current Image", "&Predictions", ("Ctrl+R",)),
    ActionSpec("accept_prediction", "&Accept Selected Prediction", "&Predictions", ()),
    ActionSpec(
        "label_qc",
        "&Label QC",
        "&Predictions",
        ("Ctrl+Shift+L",),
        "Rank the labels the model disagrees with, and fix them",
        separator_before=True,
        kind="dock",
    ),
    ActionSpec(
        "find_suspects",
        "&Find Suspect Labels",
        "&Predictions",
        (),
        "Run the checkpoint over the dataset and list the labels most likely wrong",
    ),
    ActionSpec("show_shortcuts", "&Keyboard Shortcuts", "&Help", ("F1",)),
]

MENU_ORDER = ["&File", "&Edit", "&Tools", "&Go", "&View", "T&rain", "&Predictions", "&Help"]
TOGGLED_SLOTS = {"grid"}  # callbacks that take the new checked state


@dataclass
class Actions:
    """The window's actions by id, plus the menus (for the recent-datasets submenu) and the toolbar."""

    by_name: dict[str, QAction] = field(default_factory=dict)
    menus: dict[str, QMenu] = field(default_factory=dict)
    recent_menu: QMenu | None = None
    toolbar: QToolBar | None = None

    def __getitem__(self, name: str) -> QAction:
        return self.by_name[name]


def _void(fn: Callable[..., object], *args: object) -> None:
    """Call a slot and drop its result: PySide6 mishandles the reference count of a value
    (True, a dialog, ...) returned from a slot connected to a void signal, and crashes at exit."""
    fn(*args)


def _sequences(spec: ActionSpec) -> list[QKeySequence]:
    """The row's key sequences, each once (a platform's standard Redo may already hold Ctrl+Y)."""
    out: list[QKeySequence] = []
    for s in spec.shortcuts:
        for seq in QKeySequence.keyBindings(s) if isinstance(s, QKeySequence.StandardKey) else [QKeySequence(s)]:
            if seq not in out:
                out.append(seq)
    return out


def _make(spec: ActionSpec, window: QMainWindow, undo_stack: QUndoStack, docks: dict[str, QDockWidget]) -> QAction:
    if spec.kind == "undo":
        return undo_stack.createUndoAction(window, spec.text)
    if spec.kind == "redo":
        return undo_stack.createRedoAction(window, spec.text)
    if spec.kind == "dock":
        return _dock_action(spec, window, docks[spec.name])
    act = QAction(spec.text, window)
    act.setCheckable(spec.checkable)
    return act


def dock_on_top(dock: QDockWidget) -> bool:
    """Shown and not behind another tab (a tabified dock behind Findings is open but unseen)."""
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


def show_or_hide_dock(dock: QDockWidget) -> None:
    """A dock's menu entry and shortcut: hidden or behind another tab -> shown on top; on top -> hidden.

    The dock's own toggleViewAction would hide a dock the user cannot see (open behind
    Findings) instead of bringing it forward.
    """
    if dock_on_top(dock):
        dock.hide()
        return
    dock.show()
    dock.raise_()  # a tabified dock's tab becomes the current one


def _dock_action(spec: ActionSpec, window: QMainWindow, dock: QDockWidget) -> QAction:
    act = QAction(spec.text, window)
    act.setCheckable(True)

    def sync() -> None:
        act.setChecked(not dock.isHidden())

    sync()
    dock.visibilityChanged.connect(lambda _visible: sync())
    act.triggered.connect(lambda _checked=False: (show_or_hide_dock(dock), sync()))
    return act


def _tooltip(spec: ActionSpec, seqs: list[QKeySequence]) -> str:
    """ "Title (Ctrl+R)", then the row's tip: the key is seen where the action is (labelme
    and X-AnyLabeling users expect other keys, so ours must be visible)."""
    title = spec.text.replace("&", "").rstrip("…")
    keys = f" ({', '.join(_native(s) for s in seqs)})" if seqs else ""
    return f"{title}{keys}" + (f": {spec.tip}" if spec.tip else "")


def build_actions(
    window: QMainWindow,
    slots: dict[str, Callable[..., object]],
    undo_stack: QUndoStack,
    docks: dict[str, QDockWidget] | None = None,
    specs: Iterable[ActionSpec] = SPECS,
) -> Actions:
    """Create the menus, the toolbar and every action of ``specs``.

    ``slots`` maps action ids to callables; ``docks`` maps the ids of ``kind="dock"`` rows
    to their docks. A row without its callback (or dock) is a programming error: it raises.
    """
    docks = docks or {}
    actions = Actions()
    bar = window.menuBar()
    for title in MENU_ORDER:
        actions.menus[title] = bar.addMenu(title)
    toolbar = QToolBar("Main toolbar", window)
    toolbar.setObjectName("toolbar-main")
    toolbar.setMovable(False)
    window.addToolBar(toolbar)
    actions.toolbar = toolbar
    for spec in specs:
        if spec.kind == "action" and spec.name not in slots:
            raise KeyError(f"action '{spec.name}' has no callback")
        act = _make(spec, window, undo_stack, docks)
        seqs = _sequences(spec)
        act.setShortcuts(seqs)
        if spec.tip:
            act.setStatusTip(spec.tip)
        act.setToolTip(_tooltip(spec, seqs))
        if spec.kind == "action":
            slot = slots[spec.name]
            if spec.name in TOGGLED_SLOTS:
                act.toggled.connect(lambda on, f=slot: _void(f, on))
            else:
                act.triggered.connect(lambda _checked=False, f=slot: _void(f))
        menu = actions.menus[spec.menu]
        if spec.separator_before:
            menu.addSeparator()
        menu.addAction(act)
        window.addAction(act)  # shortcuts work while any child widget has focus
        if spec.toolbar:
            toolbar.addAction(act)
        actions.by_name[spec.name] = act
        if spec.name == "open_sample":
            actions.recent_menu = menu.addMenu("Open &Recent")
    return actions


def _native(seq: QKeySequence) -> str:
    return seq.toString(QKeySequence.SequenceFormat.NativeText)


def shortcut_table(extra: Iterable[tuple[str, str]] = (), specs: Iterable[ActionSpec] = SPECS) -> list[tuple[str, str]]:
    """(action, keys) rows for the Help dialog: every row of the table with keys, then the
    ``extra`` (keys, what) pairs (the canvas' own keys) whose keys no action already has."""
    rows: list[tuple[str, str]] = []
    bound: set[str] = set()
    for spec in specs:
        seqs = _sequences(spec)
        if seqs:
            rows.append((spec.text.replace("&", ""), ", ".join(_native(s) for s in seqs)))
            bound.update(_native(s) for s in seqs)
    for keys, what in extra:
        names = [k.strip() for k in keys.split(",")]
        if not any(_native(QKeySequence(k)) in bound for k in names):
            rows.append((what[0].upper() + what[1:], keys))
    return rows

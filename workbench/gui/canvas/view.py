"""The annotation canvas: shows one image with its labels and edits them by mouse and keys.

Like labelme's ``widgets/canvas.py`` it only draws and edits shapes; unlike it, it
never changes a record itself. Every edit becomes a command from
``workbench.gui.commands`` pushed on the shared ``QUndoStack``; the canvas redraws
when the ``EditNotifier`` says the shown record changed (after redo and undo alike).

Mouse
    wheel: zoom around the cursor. Middle-drag, Space+drag, or left-drag on empty
    image area (select tool): pan. Click: select the box or keypoint under the
    cursor (the selected box wins over boxes below it, then the smallest box).
    Drag a box: move it with its keypoints. Drag one of the 8 handles of the
    selected box: resize it (dragging past the opposite edge flips it). Drag a
    keypoint: move it. Box tool (or ``W`` for one box): click-drag draws a new box of
    the current class. Double click a box: class picker.

Keys (bare keys, handled when the canvas has focus; each has a public method of
the same meaning, so a menu action bound to the same key does the same thing)
    ``1``..``9``, ``0``: class 0..9 for the selection (the current drawing class when
    nothing is selected). ``C``: searchable class picker (it can also add a class).
    ``Delete``/``Backspace``: delete the selected instance. ``W``: draw one box.
    ``V``: cycle the visibility of the hovered keypoint (else the last one touched)
    visible -> occluded -> missing -> visible (visible <-> missing in formats that
    cannot store "occluded"). ``F``: swap left/right keypoints of the selection by
    ``flip_idx``. ``P``: place missing keypoints, see below. Arrow keys (Shift: 10
    px) nudge the selected box; without a selection they are the window's (images).
    ``Esc``: cancel the gesture or mode in progress, else leave the box tool, else
    clear the selection. Keys with Ctrl, Alt or Meta are left to the main window
    (Ctrl+D duplicate, Ctrl+C / Ctrl+V copy and paste, Ctrl++ / Ctrl+- zoom call the
    public methods here).

Placing missing keypoints
    Missing points are not drawn, so they cannot be dragged. With an instance
    selected, ``P`` enters *place mode* aimed at its first missing point (the status
    message names it); each left click puts that point there as visible and moves
    on to the next missing one; number keys aim at a point by its 1-based index
    instead (also to re-place an existing one); ``Esc`` or a right click leaves.
    A newly drawn box in a keypoint dataset has all points missing and is flagged
    (orange tag) until it has at least one point.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import (
    QKeyEvent,
    QMouseEvent,
    QUndoStack,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsView,
    QWidget,
)

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.core.prediction import Prediction
from workbench.core.wording import count_noun, keypoint_label
from workbench.gui.canvas import style
from workbench.gui.canvas.box_item import BoxItem, box_rect
from workbench.gui.canvas.class_picker import ClassPicker
from workbench.gui.canvas.drags import Drag, DrawDrag, KeypointDrag, MoveDrag, PanDrag, ResizeDrag
from workbench.gui.canvas.geometry import (
    Bounds,
    clamp_point,
    first_missing,
    move_instance,
    next_visibility,
    with_keypoint,
)
from workbench.gui.canvas.handles import HandlesItem
from workbench.gui.canvas.hit_test import NO_HIT, Hit, HitIndex
from workbench.gui.canvas.image_view import PLACEHOLDER_SIZE, ImageView
from workbench.gui.canvas.keypoint_item import KeypointsItem
from workbench.gui.canvas.prediction_item import PredictionItem
from workbench.gui.commands import (
    AddClassCommand,
    EditNotifier,
    InstancesEdit,
    delete_instances,
    duplicate_instance,
    nudge_instance,
    paste_instances,
    replace_instance,
    set_class,
    swap_left_right,
)

DRAG_START_PX = 3  # screen pixels (Manhattan) before a press on a shape becomes a move
NUDGE_PX, NUDGE_SHIFT_PX = 1.0, 10.0  # image pixels per arrow key press (Shift: the larger step)
DUPLICATE_OFFSET_PX = 10.0  # a duplicate lands beside its original, not hidden under it
_ARROWS = {
    Qt.Key.Key_Left: (-1.0, 0.0),
    Qt.Key.Key_Right: (1.0, 0.0),
    Qt.Key.Key_Up: (0.0, -1.0),
    Qt.Key.Key_Down: (0.0, 1.0),
}
VISIBILITY_NAMES = {0.0: "missing", 1.0: "occluded", 2.0: "visible"}

#: Key help for menus and the help dialog: (key, what it does).
CANVAS_KEYS: tuple[tuple[str, str], ...] = (
    ("1..9, 0", "set the class of the selection (or the drawing class)"),
    ("C", "class picker (search, add a class)"),
    ("W", "draw one box"),
    ("Delete", "delete the selected instance"),
    ("V", "cycle keypoint visibility: visible, occluded, missing"),
    ("F", "swap left/right keypoints"),
    ("P", "place the missing keypoints of the selection"),
    ("Space+drag, middle-drag", "pan"),
    ("Wheel", "zoom around the cursor"),
    ("Arrows, Shift+Arrows", "nudge the selected box by 1 px (10 px); without a selection: images"),
    ("Esc", "cancel, leave the box tool, clear the selection"),
)

_DIGITS = {getattr(Qt.Key, f"Key_{d}"): (d - 1) % 10 for d in range(10)}  # key 1 -> 0, ..., key 0 -> 9
_HANDLE_CURSORS = (
    Qt.CursorShape.SizeFDiagCursor,
    Qt.CursorShape.SizeVerCursor,
    Qt.CursorShape.SizeBDiagCursor,
    Qt.CursorShape.SizeHorCursor,
    Qt.CursorShape.SizeFDiagCursor,
    Qt.CursorShape.SizeVerCursor,
    Qt.CursorShape.SizeBDiagCursor,
    Qt.CursorShape.SizeHorCursor,
)


class AnnotationCanvas(ImageView):
    """Shows one record; edits go through commands on ``undo_stack`` (see the module docstring)."""

    selectionChanged = Signal(object)  # int | None
    cursorMoved = Signal(float, float)  # image pixels
    zoomChanged = Signal(float)
    instanceEdited = Signal(int)
    currentClassChanged = Signal(int)
    toolChanged = Signal(str)
    statusMessage = Signal(str)  # hints ("click to place left_eye") and refusals ("no class 12")

    def __init__(self, undo_stack: QUndoStack, notifier: EditNotifier, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.notifier = notifier
        self._stack = undo_stack
        self._ds: Dataset | None = None
        self._rec: ImageRecord | None = None
        self._handles = HandlesItem()
        self._rubber = QGraphicsRectItem()
        self._rubber.setPen(style.rubber_band_pen())
        self._rubber.setZValue(5)
        self._rubber.hide()
        for item in (self._handles, self._rubber):
            self._scene.addItem(item)
        self._handles.set_box(None)
        self._boxes: list[BoxItem] = []
        self._kp_items: list[KeypointsItem] = []  # pools: the first _count items are shown
        self._count = 0
        self._styled: set[int] = set()  # instances drawn hovered, selected or with a ringed point
        self._hits = HitIndex([], 0)
        self._pred_items: list[PredictionItem] = []

        self._selected: int | None = None
        self._hover: Hit = NO_HIT
        self._active_kp: tuple[int, int] | None = None  # (instance, keypoint) last touched
        self._drag: Drag | None = None
        self._drag_button = Qt.MouseButton.NoButton
        self._drag_live = False  # the drag has passed DRAG_START_PX and is editing
        self._press_view = QPointF()
        self._tool = "select"
        self._one_box = False  # W: draw one box, then back to select
        self._place: int | None = None  # keypoint index aimed at in place mode
        self._space = False
        self._current_class = 0
        self._picker: ClassPicker | None = None
        self._clipboard: list[Instance] = []  # Ctrl+C: kept across images (copy to the next frame)

        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        # Every item sets the pen, brush and hints it uses, so the view can skip
        # saving/restoring the painter around each of thousands of items.
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        notifier.recordChanged.connect(self._on_record_changed)
        notifier.classesChanged.connect(self._on_classes_changed)

    # ------------------------------------------------------------------ what is shown

    def set_image(self, ds: Dataset, rec: ImageRecord, image: np.ndarray | None) -> None:
        """Show ``rec``; ``image`` None shows a placeholder of its size until :meth:`set_pixels`.

        Clears the selection and any prediction overlay (they belonged to the previous
        image); the zoom mode is kept: fitted stays fitted, a chosen zoom stays.
        """
        self._end_gestures()
        if ds is not self._ds:
            self._drop_instance_items()  # another skeleton, another class list
        self._ds, self._rec = ds, rec.ensure_loaded()
        self._hover = NO_HIT
        self._active_kp = None
        self._clear_predictions()
        if rec.size is not None:
            size = (int(rec.size[0]), int(rec.size[1]))
        elif image is not None:
            size = (int(image.shape[1]), int(image.shape[0]))
        else:
            size = PLACEHOLDER_SIZE
        self._selected = None
        self.set_image_size(size)
        if image is not None:
            self.show_pixels(image)
        self.refresh()
        self.selectionChanged.emit(None)

    def set_pixels(self, image: np.ndarray) -> None:
        """The decoded pixels of the shown record arrived: keep zoom and selection.

        ``image`` may be a reduced decode (a 12-megapixel photo decoded at screen
        size): it is stretched over the record's own size, so label coordinates stay
        in the image's full-resolution pixels whatever resolution is on screen.
        """
        h, w = int(image.shape[0]), int(image.shape[1])
        if self._rec is not None and self._rec.size is None and (w, h) != self.image_size():
            self.set_image_size((w, h))  # the record's size was unknown until decoded
        self.show_pixels(image)

    def _drop_instance_items(self) -> None:
        for item in (*self._boxes, *self._kp_items):
            self._scene.removeItem(item)
        self._boxes, self._kp_items, self._count, self._styled = [], [], 0, set()

    def dataset(self) -> Dataset:
        assert self._ds is not None, "set_image() first"
        return self._ds

    def record(self) -> ImageRecord:
        assert self._rec is not None, "set_image() first"
        return self._rec

    def bounds(self) -> Bounds:
        w, h = self.image_size()
        return float(w), float(h)

    def refresh(self) -> None:
        """Bring the items in line with the record's instances, updating them in place."""
        rec, ds = self._rec, self._ds
        instances = rec.instances if rec is not None else []
        n = len(instances)
        schema = ds.keypoints if ds is not None else None
        px = self.pixel_size()
        self._fill_pool(self._boxes, n, lambda: BoxItem(px))
        skeleton = schema.skeleton if schema is not None else []
        self._fill_pool(self._kp_items, n if schema is not None else 0, lambda: KeypointsItem(skeleton, px))
        self._count = n
        self._hits = HitIndex(instances, schema.num_keypoints if schema is not None else 0)
        for i, inst in enumerate(instances):
            self._show_instance(i, inst)
        if self._selected is not None and self._selected >= n:
            self._selected = None
            self.selectionChanged.emit(None)
        if self._hover.instance is not None and self._hover.instance >= n:
            self._hover = NO_HIT
        if self._active_kp is not None and self._active_kp[0] >= n:
            self._active_kp = None
        self._update_states()

    def _fill_pool(self, pool: list, n: int, make: Callable[[], QGraphicsItem]) -> None:
        """Show the first ``n`` items of ``pool``, creating what is missing and hiding the rest.

        Items are hidden, not removed: removing thousands of items from the scene
        index costs far more than reusing them for the next image.
        """
        while len(pool) < n:
            item = make()
            self._scene.addItem(item)
            pool.append(item)
        for i, item in enumerate(pool):
            if (i < n) != item.isVisible():
                item.setVisible(i < n)

    def _show_instance(self, i: int, inst: Instance) -> None:
        box = self._boxes[i]
        box.set_box(inst.box)
        box.set_class(inst.class_id, self.class_name(inst.class_id), self._lacks_keypoints(inst))
        if self._kp_items and self._kp_items[i].isVisible():
            self._kp_items[i].set_keypoints(inst.keypoints, inst.class_id)
        if i == self._selected:
            self._handles.set_box(inst.box)

    def box_items(self) -> list[BoxItem]:
        """The items drawing the shown record's boxes, by instance index."""
        return self._boxes[: self._count]

    def prediction_items(self) -> list[PredictionItem]:
        return list(self._pred_items)

    def preview_instance(self, index: int, inst: Instance) -> None:
        """Draw ``inst`` in place of instance ``index`` without touching the record (a live drag)."""
        self._show_instance(index, inst)

    def _lacks_keypoints(self, inst: Instance) -> bool:
        if self._ds is None or self._ds.keypoints is None:
            return False
        return inst.keypoints is None or not bool((inst.keypoints[:, 2] > 0).any())

    def class_name(self, class_id: int) -> str:
        classes = self._ds.classes if self._ds is not None else []
        return classes[class_id] if 0 <= class_id < len(classes) else f"class {class_id}?"

    def keypoint_name(self, k: int) -> str:
        schema = self._ds.keypoints if self._ds is not None else None
        return keypoint_label(k, schema.names if schema is not None else None)

    def _on_record_changed(self, rec: object) -> None:
        if rec is self._rec:
            if self._drag is not None:
                self._drag.cancel()
                self._drag = None
            self.refresh()

    def _on_classes_changed(self) -> None:
        self.refresh()

    # ------------------------------------------------------------------ predictions

    def set_predictions(self, preds: list[Prediction] | None, show: bool = True) -> None:
        """Overlay a model's predictions (dashed, read-only); None removes them."""
        self._clear_predictions()
        skeleton = self._ds.keypoints.skeleton if self._ds is not None and self._ds.keypoints is not None else []
        px = self.pixel_size()
        for pred in preds or []:
            item = PredictionItem(pred, self.class_name(pred.class_id), skeleton, px)
            item.setVisible(show)
            self._scene.addItem(item)
            self._pred_items.append(item)

    def set_predictions_visible(self, show: bool) -> None:
        for item in self._pred_items:
            item.setVisible(show)

    def _clear_predictions(self) -> None:
        for item in self._pred_items:
            self._scene.removeItem(item)
        self._pred_items = []

    # ------------------------------------------------------------------ selection

    def select_instance(self, index: int | None) -> None:
        """Select an instance (e.g. a finding's) and scroll it into view."""
        self._set_selection(index)
        if index is not None and self._selected == index and not self.is_fitted():
            self.ensureVisible(self._boxes[index].rect(), 40, 40)

    def selected_instance(self) -> int | None:
        return self._selected

    def _set_selection(self, index: int | None) -> None:
        if index is not None and not 0 <= index < self._count:
            index = None
        if index != self._selected:
            self._selected = index
            if self._place is not None:
                self._leave_place_mode()
            self._update_states()
            self.selectionChanged.emit(index)

    def _update_states(self) -> None:
        """Hover and selection looks. Only items whose look may change are touched, so a
        hover change costs the same with 3 boxes as with 3,000."""
        hover = self._hover.instance if self._hover.kind in ("box", "handle", "keypoint") else None
        kp_hover = self._hover if self._hover.kind == "keypoint" else None
        highlight: dict[int, int] = {}
        if self._active_kp is not None:
            highlight[self._active_kp[0]] = self._active_kp[1]
        if kp_hover is not None and kp_hover.instance is not None and kp_hover.part is not None:
            highlight[kp_hover.instance] = kp_hover.part
        styled = {i for i in (hover, self._selected, *highlight) if i is not None and i < self._count}
        for i in styled | {i for i in self._styled if i < self._count}:
            self._boxes[i].set_state(i == hover, i == self._selected)
            if self._kp_items:
                self._kp_items[i].set_highlight(highlight.get(i))
        self._styled = styled
        sel = self._selected
        self._handles.set_box(None if sel is None or self._rec is None else self._rec.instances[sel].box)
        self._handles.set_hovered(self._hover.part if self._hover.kind == "handle" else None)

    def pixel_size_changed(self, pixel_size: float) -> None:
        for item in (*self._boxes, *self._kp_items, *self._pred_items, self._handles):
            item.set_pixel_size(pixel_size)

    # ------------------------------------------------------------------ tools and classes

    def set_tool(self, name: str) -> None:
        """``select`` (click, move, resize) or ``box`` (click-drag draws boxes)."""
        if name not in ("select", "box"):
            raise ValueError(f"unknown canvas tool '{name}': use 'select' or 'box'")
        self._one_box = False
        if name != self._tool:
            self._tool = name
            self.toolChanged.emit(name)
        self._update_cursor()

    def tool(self) -> str:
        return "box" if self._one_box else self._tool

    def draw_one_box(self) -> None:
        """The ``W`` key: the next drag draws a box, then the select tool is back."""
        self._one_box = True
        self.statusMessage.emit(f"Drag to draw a '{self.class_name(self._current_class)}' box")
        self._update_cursor()

    def set_current_class(self, class_id: int) -> None:
        if class_id != self._current_class:
            self._current_class = int(class_id)
            self.currentClassChanged.emit(self._current_class)

    def current_class(self) -> int:
        return self._current_class

    def add_class(self, name: str) -> int:
        """Add a class (undoable) and return its id."""
        cmd = AddClassCommand(self.dataset(), name, self.notifier)
        self._stack.push(cmd)
        return cmd.class_id

    def class_picker(self) -> ClassPicker | None:
        """The open picker, if any (for tests and for the main window to position it)."""
        return self._picker if self._picker is not None and self._picker.isVisible() else None

    def open_class_picker(self) -> ClassPicker | None:
        """Pick the class of the selection (or the drawing class); a typed new name adds a class.

        None when no image is shown (a menu action on the start page).
        """
        if self._ds is None:
            return None
        if self._picker is not None:
            self._picker.close()
        current = (
            self._rec.instances[self._selected].class_id
            if self._selected is not None and self._rec
            else self._current_class
        )
        picker = ClassPicker(self.dataset().classes, current, self)
        picker.picked.connect(self._apply_class)
        picker.addRequested.connect(self._add_and_apply_class)
        picker.finished.connect(lambda _code: self.setFocus())
        self._picker = picker
        picker.open()
        return picker

    def _add_and_apply_class(self, name: str) -> None:
        self._stack.beginMacro(f"Add class '{name}'")
        try:
            new_id = self.add_class(name)
            self._apply_class(new_id)
        except ValueError as e:
            self.statusMessage.emit(str(e))
        finally:
            self._stack.endMacro()

    def _apply_class(self, class_id: int) -> None:
        if self._selected is not None:
            self.set_selected_class(class_id)
        else:
            self.set_current_class(class_id)

    def set_selected_class(self, class_id: int) -> None:
        if self._ds is None:
            return
        nc = self._ds.nc
        if not 0 <= class_id < nc:
            self.statusMessage.emit(
                f"no class {class_id}: the dataset has {nc} classes (C opens the picker, "
                "where typing a new name adds one)"
            )
            return
        self.set_current_class(class_id)
        sel = self._selected
        if sel is None or self._rec is None or self._rec.instances[sel].class_id == class_id:
            return
        self._push(set_class(self._rec, [sel], class_id, self.notifier), sel)

    # ------------------------------------------------------------------ keypoint and delete actions

    def delete_selected(self) -> None:
        sel = self._selected
        if sel is None or self._rec is None:
            return
        self._set_selection(None)
        self._push(delete_instances(self._rec, [sel], self.notifier), sel)

    def swap_left_right(self) -> None:
        sel, ds = self._selected, self._ds
        if sel is None or self._rec is None or ds is None or ds.keypoints is None:
            return
        try:
            cmd = swap_left_right(self._rec, sel, ds.keypoints.flip_idx, self.notifier)
        except ValueError as e:  # no keypoints, or a flip_idx that does not fit them
            self.statusMessage.emit(str(e))
            return
        self._push(cmd, sel)

    def cycle_visibility(self) -> None:
        """``V``: next visibility of the hovered keypoint, else of the last keypoint touched."""
        if self._hover.kind == "keypoint" and self._hover.instance is not None and self._hover.part is not None:
            target = (self._hover.instance, self._hover.part)
        else:
            target = self._active_kp
        if target is None or self._rec is None or self._ds is None or self._ds.keypoints is None:
            self.statusMessage.emit("point at a keypoint (or click one) to change its visibility")
            return
        i, k = target
        inst = self._rec.instances[i]
        num = self._ds.keypoints.num_keypoints
        kps = inst.keypoints if inst.keypoints is not None else np.zeros((num, 3))
        x, y, v = kps[k]
        v_new = next_visibility(v, with_occluded=self._ds.keypoints.dims == 3)
        new = with_keypoint(inst, k, x, y, v_new, num)
        self._active_kp = (i, k)
        text = f"Set {self.keypoint_name(k)} {VISIBILITY_NAMES[v_new]}"
        self._push(replace_instance(self._rec, i, new, text, self.notifier), i)
        self.statusMessage.emit(text)

    def start_placing(self, k: int | None = None) -> None:
        """Place mode for the selection, aimed at point ``k`` (default: its first missing point)."""
        sel, ds = self._selected, self._ds
        if sel is None or self._rec is None or ds is None or ds.keypoints is None:
            self.statusMessage.emit("select an instance of a keypoint dataset to place its points")
            return
        num = ds.keypoints.num_keypoints
        if k is None:
            k = first_missing(self._rec.instances[sel], num)
            if k is None:
                self.statusMessage.emit("all keypoints of this instance are placed; P then a number re-places one")
                k = 0
        if not 0 <= k < num:
            self.statusMessage.emit(f"no {keypoint_label(k)}: the schema has {num}")
            return
        self._place = k
        self._update_cursor()
        self.statusMessage.emit(f"Click to place {self.keypoint_name(k)} (numbers choose another point, Esc stops)")

    def placing(self) -> int | None:
        """The keypoint index place mode is aimed at, or None."""
        return self._place

    def _place_at(self, pos: QPointF) -> None:
        sel, ds, rec = self._selected, self._ds, self._rec
        if sel is None or ds is None or ds.keypoints is None or rec is None or self._place is None:
            return
        k, num = self._place, ds.keypoints.num_keypoints
        x, y = clamp_point(pos.x(), pos.y(), self.bounds())
        new = with_keypoint(rec.instances[sel], k, x, y, 2.0, num)
        self._active_kp = (sel, k)
        self._push(replace_instance(rec, sel, new, f"Place {self.keypoint_name(k)}", self.notifier), sel)
        nxt = first_missing(rec.instances[sel], num)
        if nxt is None:
            self._leave_place_mode()
            self.statusMessage.emit("all keypoints placed")
        else:
            self.start_placing(nxt)

    def _leave_place_mode(self) -> None:
        self._place = None
        self._update_cursor()

    def _push(self, cmd: InstancesEdit, index: int) -> None:
        self._stack.push(cmd)
        self.instanceEdited.emit(index)

    # ------------------------------------------------------------------ nudge, duplicate, copy, paste

    def nudge_selected(self, dx: float, dy: float) -> None:
        """Move the selected instance by ``(dx, dy)`` image pixels, kept inside the image;
        one undoable step per press, consecutive nudges of one box merge into one."""
        sel, rec = self._selected, self._rec
        if sel is None or rec is None:
            return
        inst = rec.instances[sel]
        moved = move_instance(inst, dx, dy, self.bounds())
        if np.array_equal(moved.box, inst.box):
            return  # against the image edge: nothing to undo
        self._push(nudge_instance(rec, sel, moved, self.notifier), sel)

    def duplicate_selected(self) -> None:
        """Ctrl+D: a copy of the selected instance beside it, selected after (so it can be dragged away)."""
        sel, rec = self._selected, self._rec
        if sel is None or rec is None:
            self.statusMessage.emit("select a box to duplicate")
            return
        inst = rec.instances[sel]
        off = DUPLICATE_OFFSET_PX
        # beside the original, or on its other side when the image edge is in the way
        copy = move_instance(inst, off, off, self.bounds())
        if np.array_equal(copy.box, inst.box):
            copy = move_instance(inst, -off, -off, self.bounds())
        new_index = len(rec.instances)
        self._push(duplicate_instance(rec, sel, copy, self.notifier), new_index)
        self._set_selection(new_index)

    def copy_selection(self) -> list[Instance]:
        """Ctrl+C: the selected instance, or every instance of the image when none is selected."""
        rec = self._rec
        if rec is None:
            return []
        chosen = [rec.instances[self._selected]] if self._selected is not None else list(rec.instances)
        self._clipboard = [inst.copy() for inst in chosen]
        if self._clipboard:
            self.statusMessage.emit(f"Copied {count_noun(len(self._clipboard), 'box', 'boxes')} (Ctrl+V pastes)")
        else:
            self.statusMessage.emit("no boxes on this image to copy")
        return list(self._clipboard)

    def paste(self) -> None:
        """Ctrl+V: the copied instances into the shown image (clipped to it), the last one selected."""
        rec = self._rec
        if rec is None:
            return
        if not self._clipboard:
            self.statusMessage.emit("nothing copied yet: Ctrl+C copies the selected box (or all boxes of an image)")
            return
        cmd = paste_instances(rec, self._clipboard, self.notifier)
        n0 = len(rec.instances)
        self._push(cmd, n0)
        if len(rec.instances) > n0:
            self._set_selection(len(rec.instances) - 1)
        else:
            self.statusMessage.emit("the copied boxes lie outside this image: nothing pasted")

    def clipboard(self) -> list[Instance]:
        return list(self._clipboard)

    # ------------------------------------------------------------------ hit testing

    def hit_at(self, pos: QPointF) -> Hit:
        """The handle, keypoint or box under an image position (see ``HitIndex.at``)."""
        if self._rec is None:
            return NO_HIT
        px = self.pixel_size()
        return self._hits.at(pos.x(), pos.y(), self._selected, style.HANDLE_GRAB_PX * px, style.KEYPOINT_GRAB_PX * px)

    # ------------------------------------------------------------------ mouse

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if self._rec is None or self._drag is not None:
            event.accept()
            return
        view = event.position()
        pos = self.to_scene(view)
        button = event.button()
        self._press_view = QPointF(view)
        self.setFocus()
        if button == Qt.MouseButton.MiddleButton or (button == Qt.MouseButton.LeftButton and self._space):
            self._begin(PanDrag(self, view), button)
        elif button == Qt.MouseButton.RightButton and self._place is not None:
            self._leave_place_mode()
        elif button == Qt.MouseButton.LeftButton:
            self._left_press(pos, view)
        event.accept()

    def _left_press(self, pos: QPointF, view: QPointF) -> None:
        if self._place is not None:
            self._place_at(pos)
            return
        if self.tool() == "box":
            if not 0 <= self._current_class < self.dataset().nc:
                self.statusMessage.emit("the dataset has no class to draw yet: press C and type a name to add one")
                return
            self._begin(DrawDrag(self, pos, self._current_class), Qt.MouseButton.LeftButton)
            return
        hit = self.hit_at(pos)
        if hit.kind == "none" or hit.instance is None:
            self._set_selection(None)
            self._begin(PanDrag(self, view), Qt.MouseButton.LeftButton)
            return
        self._set_selection(hit.instance)
        if hit.kind == "handle" and hit.part is not None:
            drag: Drag = ResizeDrag(self, hit.instance, hit.part, pos)
        elif hit.kind == "keypoint" and hit.part is not None:
            self._active_kp = (hit.instance, hit.part)
            self._update_states()
            drag = KeypointDrag(self, hit.instance, hit.part, pos)
        else:
            drag = MoveDrag(self, hit.instance, pos)
        self._begin(drag, Qt.MouseButton.LeftButton)

    def _begin(self, drag: Drag, button: Qt.MouseButton) -> None:
        self._drag = drag
        self._drag_button = button
        # A click on a box must not nudge it by the hand's jitter: edits start moving
        # only after DRAG_START_PX; pans and rubber bands follow at once.
        self._drag_live = not isinstance(drag, (MoveDrag, ResizeDrag, KeypointDrag))
        if isinstance(drag, PanDrag):
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        view = event.position()
        pos = self.to_scene(view)
        self.cursorMoved.emit(pos.x(), pos.y())
        if self._drag is not None:
            if not self._drag_live and (view - self._press_view).manhattanLength() >= DRAG_START_PX:
                self._drag_live = True
            if self._drag_live:
                self._drag.move(pos, view)
        else:
            hit = self.hit_at(pos)
            if hit != self._hover:
                self._hover = hit
                self._update_states()
                self._update_cursor()
                self.viewport().setToolTip(self.hover_text())
        event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        drag = self._drag
        if drag is None or event.button() != self._drag_button:
            event.accept()
            return
        self._drag = None
        if self._drag_live:
            drag.move(self.to_scene(event.position()), event.position())
            cmd = drag.finish()
        else:
            drag.cancel()
            cmd = None
        if cmd is not None:
            if isinstance(drag, DrawDrag):
                new_index = len(self.record().instances)
                self._push(cmd, new_index)
                self._set_selection(new_index)
                self._one_box = False
                schema = self.dataset().keypoints
                if schema is not None:
                    self.statusMessage.emit("New box: press P to place its keypoints")
            else:
                assert drag.index is not None
                self._push(cmd, drag.index)
        self._update_cursor()
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt API)
        if event.button() == Qt.MouseButton.LeftButton and self._rec is not None and self._place is None:
            hit = self.hit_at(self.to_scene(event.position()))
            if hit.kind == "box" and hit.instance is not None:
                self._set_selection(hit.instance)
                self.open_class_picker()
        event.accept()

    def _update_cursor(self) -> None:
        if self._space:
            shape = Qt.CursorShape.OpenHandCursor
        elif self._place is not None or self.tool() == "box":
            shape = Qt.CursorShape.CrossCursor
        elif self._hover.kind == "handle" and self._hover.part is not None:
            shape = _HANDLE_CURSORS[self._hover.part]
        elif self._hover.kind == "keypoint":
            shape = Qt.CursorShape.PointingHandCursor
        elif self._hover.kind == "box":
            shape = Qt.CursorShape.SizeAllCursor
        else:
            shape = Qt.CursorShape.ArrowCursor
        self.viewport().setCursor(shape)

    def hovered(self) -> Hit:
        return self._hover

    def hover_text(self) -> str:
        """The tooltip under the cursor: a keypoint's number, name and visibility, a box's
        full class name (its tag may be cut), so nothing has to be counted or guessed."""
        h, rec = self._hover, self._rec
        if rec is None or h.instance is None or h.instance >= len(rec.instances):
            return ""
        inst = rec.instances[h.instance]
        owner = f"{self.class_name(inst.class_id)} (instance {h.instance + 1})"
        if h.kind == "keypoint" and h.part is not None and inst.keypoints is not None:
            v = VISIBILITY_NAMES.get(float(inst.keypoints[h.part, 2]), "")
            return f"{self.keypoint_name(h.part)}, {v} — {owner}"
        if h.kind in ("box", "handle"):
            return owner
        return ""

    def show_rubber_band(self, box: np.ndarray | None) -> None:
        if box is None:
            self._rubber.hide()
        else:
            self._rubber.setRect(box_rect(box))
            self._rubber.show()

    # ------------------------------------------------------------------ keys

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        if self._handle_key(event):
            event.accept()
        else:
            super().keyPressEvent(event)

    def _handle_key(self, event: QKeyEvent) -> bool:
        key = event.key()
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods & (
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier
        ):
            return False  # the main window's shortcuts
        if key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space = True
                self._update_cursor()
            return True
        if self._rec is None:
            return False
        if key in _ARROWS and self._selected is not None:
            step = NUDGE_SHIFT_PX if mods & Qt.KeyboardModifier.ShiftModifier else NUDGE_PX
            dx, dy = _ARROWS[Qt.Key(key)]
            self.nudge_selected(dx * step, dy * step)
            return True
        if key in _DIGITS:
            index = _DIGITS[key]
            if self._place is not None:
                self.start_placing(index)
            elif self._selected is not None:
                self.set_selected_class(index)
            elif index < self.dataset().nc:
                self.set_current_class(index)
                self.statusMessage.emit(f"Drawing class: {self.class_name(index)}")
            return True
        action = {
            Qt.Key.Key_Escape: self._escape,
            Qt.Key.Key_Delete: self.delete_selected,
            Qt.Key.Key_Backspace: self.delete_selected,
            Qt.Key.Key_W: self.draw_one_box,
            Qt.Key.Key_C: self.open_class_picker,
            Qt.Key.Key_V: self.cycle_visibility,
            Qt.Key.Key_F: self.swap_left_right,
            Qt.Key.Key_P: self.start_placing,
        }.get(Qt.Key(key))
        if action is None:
            return False
        action()
        return True

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._update_cursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def _claims_arrow(self, event: QKeyEvent) -> bool:
        mods = event.modifiers() & ~(Qt.KeyboardModifier.KeypadModifier | Qt.KeyboardModifier.ShiftModifier)
        return event.key() in _ARROWS and mods == Qt.KeyboardModifier.NoModifier and self._selected is not None

    def _escape(self) -> None:
        if self._drag is not None:
            self._drag.cancel()
            self._drag = None
        elif self._place is not None:
            self._leave_place_mode()
        elif self._one_box:
            self._one_box = False
        elif self._tool == "box":
            self.set_tool("select")  # Esc leaves the box tool, as in labelme
        else:
            self._set_selection(None)
        self.statusMessage.emit("")
        self._update_cursor()

    def _end_gestures(self) -> None:
        if self._drag is not None:
            self._drag.cancel()
            self._drag = None
        self._place = None
        self._one_box = False
        self.show_rubber_band(None)
        if self._picker is not None:
            self._picker.close()  # it was choosing for the previous image's selection

    def event(self, event: QEvent) -> bool:
        # Left/Right are the window's image shortcuts; with a box selected the canvas claims
        # the arrows (Qt asks the focus widget first with a ShortcutOverride) to nudge it.
        if event.type() == QEvent.Type.ShortcutOverride and self._claims_arrow(event):
            event.accept()
            return True
        # Losing focus mid Space+drag must not leave the canvas stuck in pan mode.
        if event.type() == QEvent.Type.FocusOut and self._space:
            self._space = False
            self._update_cursor()
        return super().event(event)

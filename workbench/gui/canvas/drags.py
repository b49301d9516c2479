"""One object per mouse gesture: pan, move a box, resize it, move a keypoint, draw a box.

A drag previews its result on the items live (the record is untouched) and, on
release, returns at most one command for the canvas to push, so a drag of a hundred
mouse-move events is a single undo step. ``cancel`` (Escape) puts the items back.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from PySide6.QtCore import QPointF

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.gui.canvas.geometry import (
    Bounds,
    box_from_corners,
    clamp_point,
    handle_points,
    move_instance,
    resize_box,
    with_keypoint,
)
from workbench.gui.commands import EditNotifier, InstancesEdit, add_instance, replace_instance


class DragHost(Protocol):
    """What a drag needs from the canvas."""

    notifier: EditNotifier

    def record(self) -> ImageRecord: ...
    def dataset(self) -> Dataset: ...
    def bounds(self) -> Bounds: ...
    def pixel_size(self) -> float: ...
    def preview_instance(self, index: int, inst: Instance) -> None: ...
    def show_rubber_band(self, box: np.ndarray | None) -> None: ...
    def scroll_by(self, dx: float, dy: float) -> None: ...
    def keypoint_name(self, k: int) -> str: ...


class Drag:
    """Base gesture: ``index`` is the instance it edits (None for pan and draw)."""

    index: int | None = None

    def move(self, scene: QPointF, view: QPointF) -> None:
        """The mouse moved to ``scene`` (image pixels) / ``view`` (viewport pixels)."""

    def finish(self) -> InstancesEdit | None:
        return None

    def cancel(self) -> None:
        """Undo the preview."""


class PanDrag(Drag):
    def __init__(self, host: DragHost, view: QPointF) -> None:
        self._host = host
        self._last = QPointF(view)

    def move(self, scene: QPointF, view: QPointF) -> None:
        self._host.scroll_by(self._last.x() - view.x(), self._last.y() - view.y())
        self._last = QPointF(view)


class _InstanceDrag(Drag):
    """A drag that changes one instance: keeps the original to compare and to cancel."""

    text = "Edit"

    def __init__(self, host: DragHost, index: int, start: QPointF) -> None:
        self._host = host
        self.index = index
        self._start = QPointF(start)
        self._orig = host.record().instances[index].copy()
        self._current: Instance | None = None

    def _show(self, inst: Instance) -> None:
        self._current = inst
        self._host.preview_instance(self.index, inst)

    def finish(self) -> InstancesEdit | None:
        new = self._current
        if new is None or new.same_as(self._orig, tol=1e-9) or not self._valid(new):
            self.cancel()
            return None
        return replace_instance(self._host.record(), self.index, new, self.text, self._host.notifier)

    def _valid(self, inst: Instance) -> bool:
        return True

    def cancel(self) -> None:
        self._host.preview_instance(self.index, self._orig)


class MoveDrag(_InstanceDrag):
    """Move the whole instance: its box and its placed keypoints together."""

    text = "Move box"

    def move(self, scene: QPointF, view: QPointF) -> None:
        dx, dy = scene.x() - self._start.x(), scene.y() - self._start.y()
        self._show(move_instance(self._orig, dx, dy, self._host.bounds()))


class ResizeDrag(_InstanceDrag):
    text = "Resize box"

    def __init__(self, host: DragHost, index: int, handle: int, start: QPointF) -> None:
        super().__init__(host, index, start)
        self._handle = handle
        hx, hy = handle_points(self._orig.box)[handle]
        # Grabbing a handle a few pixels off its centre must not make the edge jump.
        self._offset = (hx - start.x(), hy - start.y())

    def move(self, scene: QPointF, view: QPointF) -> None:
        new = self._orig.copy()
        x, y = scene.x() + self._offset[0], scene.y() + self._offset[1]
        new.box = resize_box(self._orig.box, self._handle, x, y, self._host.bounds())
        self._show(new)

    def _valid(self, inst: Instance) -> bool:
        return inst.width > 0 and inst.height > 0


class KeypointDrag(_InstanceDrag):
    def __init__(self, host: DragHost, index: int, k: int, start: QPointF) -> None:
        super().__init__(host, index, start)
        self._k = k
        assert self._orig.keypoints is not None
        x, y, _ = self._orig.keypoints[k]
        self._offset = (x - start.x(), y - start.y())
        self.text = f"Move {host.keypoint_name(k)}"

    def move(self, scene: QPointF, view: QPointF) -> None:
        assert self._orig.keypoints is not None
        x, y = clamp_point(scene.x() + self._offset[0], scene.y() + self._offset[1], self._host.bounds())
        v = self._orig.keypoints[self._k, 2]
        self._show(with_keypoint(self._orig, self._k, x, y, v, self._orig.keypoints.shape[0]))


class DrawDrag(Drag):
    """Rubber-band a new box of ``class_id``; in a keypoint dataset it starts with all points missing."""

    MIN_SCREEN_PX = 3.0

    def __init__(self, host: DragHost, start: QPointF, class_id: int) -> None:
        self._host = host
        self._start = QPointF(start)
        self._end = QPointF(start)
        self._class_id = class_id

    def _box(self) -> np.ndarray:
        return box_from_corners(self._start.x(), self._start.y(), self._end.x(), self._end.y(), self._host.bounds())

    def move(self, scene: QPointF, view: QPointF) -> None:
        self._end = QPointF(scene)
        self._host.show_rubber_band(self._box())

    def finish(self) -> InstancesEdit | None:
        self._host.show_rubber_band(None)
        box = self._box()
        smallest = max(1.0, self.MIN_SCREEN_PX * self._host.pixel_size())
        if box[2] - box[0] < smallest or box[3] - box[1] < smallest:
            return None  # a click, not a drag
        schema = self._host.dataset().keypoints
        kps = np.zeros((schema.num_keypoints, 3)) if schema is not None else None
        inst = Instance(self._class_id, box, kps)
        return add_instance(self._host.record(), inst, self._host.notifier)

    def cancel(self) -> None:
        self._host.show_rubber_band(None)

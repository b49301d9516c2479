"""The eight resize handles of the selected box (one item for the whole canvas)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from workbench.gui.canvas import style
from workbench.gui.canvas.geometry import handle_points
from workbench.gui.canvas.screen_sized import ScreenSizedItem


class HandlesItem(ScreenSizedItem):
    margin_px = style.HANDLE_PX

    def __init__(self, pixel_size: float = 1.0) -> None:
        super().__init__(pixel_size)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(3)
        self._points = np.zeros((0, 2))
        self._rect = QRectF()
        self.hovered: int | None = None

    def set_box(self, box: np.ndarray | None) -> None:
        if (box is None and not len(self._points)) or (
            box is not None and len(self._points) and np.array_equal(handle_points(box), self._points)
        ):
            return
        self.prepareGeometryChange()
        if box is None:
            self._points = np.zeros((0, 2))
            self._rect = QRectF()
        else:
            self._points = handle_points(box)
            x1, y1, x2, y2 = (float(v) for v in box)
            self._rect = QRectF(x1, y1, x2 - x1, y2 - y1)
        self.setVisible(box is not None)

    def set_hovered(self, index: int | None) -> None:
        if index != self.hovered:
            self.hovered = index
            self.update()

    def points(self) -> np.ndarray:
        return self._points

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        if not len(self._points):
            return QRectF()
        m = self.margin()
        return self._rect.adjusted(-m, -m, m, m)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        scale = painter.worldTransform().m11() or 1.0
        half = style.HANDLE_PX / 2 / scale
        painter.setPen(style.handle_pen())
        painter.setBrush(style.handle_brush())
        for i, (x, y) in enumerate(self._points):
            grow = 1.4 if i == self.hovered else 1.0
            painter.drawRect(QRectF(x - half * grow, y - half * grow, 2 * half * grow, 2 * half * grow))

"""One instance's keypoints: skeleton edges in the class color, a dot per point.

Dots are colored by keypoint index (the same palette as every overlay), filled when
visible (v=2), hollow when occluded (v=1); missing points (v=0) are not drawn. Sizes
are screen pixels, so the item is a :class:`ScreenSizedItem`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from workbench.gui.canvas import style
from workbench.gui.canvas.screen_sized import ScreenSizedItem


class KeypointsItem(ScreenSizedItem):
    margin_px = style.KEYPOINT_PX + 4

    def __init__(self, skeleton: list[tuple[int, int]], pixel_size: float = 1.0) -> None:
        super().__init__(pixel_size)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(2)
        self._skeleton = skeleton
        self._kps = np.zeros((0, 3))
        self._points: list[QPointF] = []
        self._class_id = 0
        self._extent = QRectF()
        self._highlight: int | None = None

    def set_keypoints(self, kps: np.ndarray | None, class_id: int) -> None:
        kps = np.zeros((0, 3)) if kps is None else kps
        if class_id != self._class_id:
            self._class_id = class_id
            self.update()
        if kps.shape == self._kps.shape and np.array_equal(kps, self._kps):
            return
        self.prepareGeometryChange()
        self._kps = kps.copy()
        self._points = [QPointF(float(x), float(y)) for x, y, _ in self._kps]
        placed = self._kps[self._kps[:, 2] > 0]
        if len(placed):
            x0, y0 = placed[:, :2].min(axis=0)
            x1, y1 = placed[:, :2].max(axis=0)
            self._extent = QRectF(float(x0), float(y0), float(x1 - x0), float(y1 - y0))
        else:
            self._extent = QRectF()

    def set_highlight(self, index: int | None) -> None:
        """Ring one point (hovered, or the target of V)."""
        if index != self._highlight:
            self._highlight = index
            self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        if self._extent.isNull() and not len(self._points):
            return QRectF()
        m = self.margin()
        return self._extent.adjusted(-m, -m, m, m)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        kps, pts = self._kps, self._points
        if not len(pts):
            return
        scale = painter.worldTransform().m11() or 1.0
        r = style.KEYPOINT_PX / scale
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(style.edge_pen(self._class_id))
        n = len(pts)
        for a, b in self._skeleton:
            if a < n and b < n and kps[a, 2] > 0 and kps[b, 2] > 0:
                painter.drawLine(pts[a], pts[b])
        for i, p in enumerate(pts):
            v = kps[i, 2]
            if v <= 0:
                continue
            occluded = v < 2
            painter.setPen(style.keypoint_pen(i, occluded))
            painter.setBrush(Qt.BrushStyle.NoBrush if occluded else style.keypoint_brush(i))
            painter.drawEllipse(p, r, r)
        h = self._highlight
        if h is not None and h < n and kps[h, 2] > 0:
            painter.setPen(style.highlight_pen())
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(pts[h], r * 1.8, r * 1.8)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)  # the view does not restore hints

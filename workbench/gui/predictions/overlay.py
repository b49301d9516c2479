"""TP / FP / FN marks over the canvas, and hiding the labels to see the predictions alone.

The canvas draws predictions in their class colors (dashed); this item adds how each
one fared against the labels: a green outline and ``TP`` tag for a prediction that
found a labeled object, red ``FP`` for one that did not, and an orange dashed outline
with ``FN`` around each label no prediction found. It draws in screen pixels (cosmetic
pens, tags mapped to device coordinates) so it reads the same at every zoom.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QStyleOptionGraphicsItem, QWidget

from workbench.gui.canvas.box_item import BoxItem
from workbench.gui.canvas.keypoint_item import KeypointsItem

STATUS_COLORS = {"tp": QColor(46, 204, 113), "fp": QColor(231, 76, 60), "fn": QColor(243, 156, 18)}
SELECTED_COLOR = QColor(255, 255, 255)
OVERLAY_Z = 6  # above labels (0-2), predictions (4) and the rubber band (5)


@dataclass
class Mark:
    box: np.ndarray  # xyxy image pixels
    status: str  # tp | fp | fn
    selected: bool = False


def _pen(color: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)
    return pen


class MatchOverlay(QGraphicsItem):
    """All marks of the shown image in one item (cheap to replace when a slider moves)."""

    def __init__(self) -> None:
        super().__init__()
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(OVERLAY_Z)
        self.marks: list[Mark] = []
        self._bounds = QRectF()
        self._font = QFont()
        self._font.setPointSizeF(8.0)
        self._font.setBold(True)

    def set_marks(self, marks: list[Mark], image_rect: QRectF) -> None:
        self.prepareGeometryChange()
        self.marks = marks
        self._bounds = image_rect.adjusted(-200, -200, 200, 200)  # tags may hang outside the image
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        return self._bounds

    def counts(self) -> dict[str, int]:
        out = {"tp": 0, "fp": 0, "fn": 0}
        for m in self.marks:
            out[m.status] += 1
        return out

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        tags: list[tuple[QPointF, str, QColor]] = []
        for m in self.marks:
            x1, y1, x2, y2 = (float(v) for v in m.box)
            rect = QRectF(x1, y1, x2 - x1, y2 - y1)
            color = STATUS_COLORS[m.status]
            if m.status == "fn":
                painter.setPen(_pen(color, 3.0, Qt.PenStyle.DashLine))
            else:
                painter.setPen(_pen(SELECTED_COLOR if m.selected else color, 3.0 if m.selected else 1.0))
            painter.drawRect(rect)
            tags.append((rect.topRight(), m.status.upper(), color))
        world = painter.worldTransform()
        painter.save()
        painter.resetTransform()
        painter.setFont(self._font)
        fm = QFontMetricsF(self._font)
        for anchor, text, color in tags:
            p = world.map(anchor)
            w, h = fm.horizontalAdvance(text) + 6, fm.height() + 2
            box = QRectF(p.x() - w, p.y(), w, h)  # inside the box's top-right corner
            painter.fillRect(box, QBrush(color))
            painter.setPen(QColor(0, 0, 0))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()


def set_labels_visible(scene: QGraphicsScene, visible: bool) -> None:
    """Show or hide the canvas' label boxes and keypoints (not the predictions' own keypoints).

    Opacity rather than visibility: the canvas shows and hides its pooled items itself.
    """
    opacity = 1.0 if visible else 0.0
    for item in scene.items():
        if isinstance(item, BoxItem) or (isinstance(item, KeypointsItem) and item.parentItem() is None):
            if item.opacity() != opacity:
                item.setOpacity(opacity)

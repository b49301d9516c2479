"""A text tag (class name, score) painted at a constant screen size by the item it labels.

Tags are painted by their box item rather than being items of their own: an item
that ignores the view transform sits outside the scene's spatial index, and with a
few thousand of them every repaint and every hit query walked all of them.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QBrush, QColor, QPainter, QStaticText, QTransform

from workbench.gui.canvas import style

_IDENTITY = QTransform()


class Tag:
    """Laid-out text; ``width`` and ``height`` are screen pixels, padding included."""

    def __init__(self) -> None:
        self._static = QStaticText()
        self.text = ""
        self.width = 0.0
        self.height = 0.0

    def set_text(self, text: str) -> bool:
        """Lay out ``text`` (once, not per paint); False when it did not change."""
        if text == self.text and self.height:
            return False
        self.text = text
        self._static.setText(text)
        self._static.prepare(font=style.label_font())
        metrics = style.label_metrics()
        self.width = metrics.horizontalAdvance(text) + 2 * style.LABEL_PAD_PX
        self.height = metrics.height() + 2 * style.LABEL_PAD_PX
        return True

    def paint(
        self, painter: QPainter, anchor: QPointF, background: QColor | QBrush, color: QColor, above: bool
    ) -> None:
        """Draw with the tag's bottom-left (``above``) or top-left at the scene point ``anchor``."""
        world = painter.worldTransform()
        p = world.map(anchor)
        x, y = round(p.x()), round(p.y() - self.height if above else p.y())
        painter.setWorldTransform(_IDENTITY)
        painter.fillRect(QRectF(x, y, self.width, self.height), background)
        painter.setFont(style.label_font())
        painter.setPen(color)
        painter.drawStaticText(QPointF(x + style.LABEL_PAD_PX, y + style.LABEL_PAD_PX), self._static)
        painter.setWorldTransform(world)

"""A labeled box on the canvas with its class-name tag.

Items only draw: the view does all hit testing and editing, so an item holds nothing
but what it shows and can be updated in place when the record changes (no rebuild of
thousands of items after each edit).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from workbench.gui.canvas import style
from workbench.gui.canvas.screen_sized import ScreenSizedItem
from workbench.gui.canvas.tag import Tag

BOX_ITEM_TYPE = QGraphicsItem.UserType + 1


def box_rect(box: np.ndarray) -> QRectF:
    x1, y1, x2, y2 = (float(v) for v in box)
    return QRectF(x1, y1, x2 - x1, y2 - y1)


class BoxItem(ScreenSizedItem):
    """One instance's box: class-colored cosmetic outline, filled when hovered or selected."""

    margin_px = style.SELECTED_PEN_PX

    def __init__(self, pixel_size: float = 1.0) -> None:
        super().__init__(pixel_size)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self._rect = QRectF()
        self._class_id = 0
        self._hovered = False
        self._selected = False
        self._flagged = False
        self.tag = Tag()

    def type(self) -> int:
        return BOX_ITEM_TYPE

    @property
    def class_id(self) -> int:
        return self._class_id

    def rect(self) -> QRectF:
        return QRectF(self._rect)

    def set_box(self, box: np.ndarray) -> None:
        rect = box_rect(box)
        if rect != self._rect:
            self.prepareGeometryChange()
            self._rect = rect

    def set_class(self, class_id: int, name: str, flagged: bool) -> None:
        """Class color and tag; a flagged tag (keypoints missing) is orange with a leading '!'."""
        text = f"! {name} (no keypoints)" if flagged else name
        if class_id != self._class_id or flagged != self._flagged:
            self._class_id, self._flagged = class_id, flagged
            self.update()
        if self.tag.set_text(text):
            self.prepareGeometryChange()

    def label_text(self) -> str:
        return self.tag.text

    def set_state(self, hovered: bool, selected: bool) -> None:
        if (hovered, selected) != (self._hovered, self._selected):
            self._hovered, self._selected = hovered, selected
            self.setZValue(1 if selected else 0)
            self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        m = self.margin()  # room for the cosmetic pen, drawn half outside the rectangle
        px = self.reserved_pixel_size()
        tag_w, tag_h = self.tag.width * px, self.tag.height * px
        return self._rect.adjusted(-m, -m - tag_h, max(m, tag_w - self._rect.width() + m), m)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setPen(style.box_pen(self._class_id, self._selected))
        painter.setBrush(style.box_fill(self._class_id, 2 if self._selected else int(self._hovered)))
        painter.drawRect(self._rect)
        if self.tag.text:
            scale = painter.worldTransform().m11() or 1.0
            # Above the box unless that leaves the image; then inside its top edge.
            above = self._rect.top() * scale >= self.tag.height
            background = style.warning_brush() if self._flagged else style.class_qcolor(self._class_id)
            text_color = style.label_text_color(-1 if self._flagged else self._class_id)
            self.tag.paint(painter, self._rect.topLeft(), background, text_color, above)

"""Base for items whose decorations keep a constant size on screen (dots, handles, tags).

A dot of 5 screen pixels covers 5 / zoom image pixels, so such an item's bounding
rectangle depends on the zoom. The view tells every such item the current size of a
screen pixel in scene units; the item *reserves* room for a pixel size at least that
large and re-reserves only when it is too small or much too large, so a wheel zoom
does not re-index thousands of items on every step.
"""

from __future__ import annotations

from PySide6.QtWidgets import QGraphicsItem


class ScreenSizedItem(QGraphicsItem):
    """An item with ``margin_px`` screen pixels of decoration around its geometry."""

    margin_px = 8.0

    def __init__(self, pixel_size: float = 1.0, parent: QGraphicsItem | None = None) -> None:
        super().__init__(parent)
        self._reserved = pixel_size

    def reserved_pixel_size(self) -> float:
        """Scene units per screen pixel that the bounding rectangle has room for (>= the real one)."""
        return self._reserved

    def margin(self) -> float:
        """Decoration margin in scene units (image pixels)."""
        return self.margin_px * self._reserved

    def set_pixel_size(self, pixel_size: float) -> None:
        """Scene units per screen pixel changed (a zoom); widen or shrink the reservation if needed."""
        if pixel_size > self._reserved or pixel_size < self._reserved / 4:
            self.prepareGeometryChange()
            self._reserved = pixel_size * 2 if pixel_size > self._reserved else pixel_size

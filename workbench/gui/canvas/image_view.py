"""An image in a QGraphicsView with zoom (wheel around the cursor, fit, 1:1) and scrolling.

The part of the canvas that knows nothing about labels, so a read-only viewer (the
detection viewer) gets the same zoom behaviour and the same full-resolution
coordinates. Scene coordinates are always the image's own pixels: pixels decoded at a
reduced size are stretched over the full image rectangle.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPixmap, QResizeEvent, QTransform, QWheelEvent
from PySide6.QtWidgets import QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene, QGraphicsView, QWidget

MIN_ZOOM, MAX_ZOOM = 0.01, 64.0
WHEEL_STEP = 1.0015  # per 1/8 degree of wheel: one notch (120) zooms by about 1.2x
PLACEHOLDER_SIZE = (640, 480)
KEY_ZOOM_STEP = 1.25  # Ctrl++ / Ctrl+-: a step a little larger than one wheel notch


class ImageView(QGraphicsView):
    """Zoomable image; stays fitted to the window (resizes, new images) until the user zooms."""

    zoomChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._scene = QGraphicsScene(self)
        self.setScene(self._scene)
        self._image_size: tuple[int, int] = PLACEHOLDER_SIZE
        self._fit_mode = True
        self._placeholder = QGraphicsRectItem()  # the image's extent while it decodes
        self._placeholder.setBrush(QBrush(QColor(60, 60, 60)))
        self._placeholder.setPen(Qt.PenStyle.NoPen)
        self._placeholder.setZValue(-11)
        self._pixmap = QGraphicsPixmapItem()
        self._pixmap.setZValue(-10)
        self._pixmap.setShapeMode(QGraphicsPixmapItem.ShapeMode.BoundingRectShape)
        self._scene.addItem(self._placeholder)
        self._scene.addItem(self._pixmap)
        self.setBackgroundBrush(QBrush(QColor(38, 38, 38)))
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)

    # ------------------------------------------------------------------ the image

    def image_size(self) -> tuple[int, int]:
        return self._image_size

    def set_image_size(self, size: tuple[int, int]) -> None:
        """The image's full-resolution size (what scene coordinates mean); clears the pixels."""
        self._image_size = (int(size[0]), int(size[1]))
        rect = QRectF(0, 0, size[0], size[1])
        self._placeholder.setRect(rect)
        self._scene.setSceneRect(rect)
        self._pixmap.setPixmap(QPixmap())
        if self._fit_mode:
            self.fit()

    def show_pixels(self, image: np.ndarray) -> None:
        """Show decoded pixels (possibly reduced) stretched over the image size; zoom is kept."""
        h, w = int(image.shape[0]), int(image.shape[1])
        self._pixmap.setPixmap(to_pixmap(image))
        self._pixmap.setTransform(
            QTransform.fromScale(self._image_size[0] / max(w, 1), self._image_size[1] / max(h, 1))
        )
        self._update_pixmap_filter()

    def _update_pixmap_filter(self) -> None:
        """Nearest-neighbour when a decoded pixel covers several screen pixels (you label
        pixels), smooth when the image is shrunk."""
        on_screen = self.zoom() * self._pixmap.transform().m11()
        self._pixmap.setTransformationMode(
            Qt.TransformationMode.FastTransformation if on_screen >= 1 else Qt.TransformationMode.SmoothTransformation
        )

    # ------------------------------------------------------------------ zoom and scroll

    def zoom(self) -> float:
        return float(self.transform().m11())

    def pixel_size(self) -> float:
        """Image pixels per screen pixel."""
        return 1.0 / max(self.zoom(), 1e-9)

    def is_fitted(self) -> bool:
        return self._fit_mode

    def fit(self) -> None:
        """Whole image in view; stays fitted across resizes and image switches until the user zooms."""
        self._fit_mode = True
        self.fitInView(self._scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self._zoom_done()

    def zoom_1to1(self) -> None:
        self.set_zoom(1.0)

    def zoom_in(self) -> None:
        """Ctrl++ (and Ctrl+=): one step closer, around the centre of the view."""
        self.set_zoom(self.zoom() * KEY_ZOOM_STEP)

    def zoom_out(self) -> None:
        """Ctrl+-: one step back, around the centre of the view."""
        self.set_zoom(self.zoom() / KEY_ZOOM_STEP)

    def set_zoom(self, factor: float) -> None:
        """Zoom around the centre of the view."""
        self.zoom_at(factor, QPointF(self.viewport().width() / 2, self.viewport().height() / 2))

    def zoom_at(self, factor: float, anchor: QPointF) -> None:
        """Zoom keeping the image point under ``anchor`` (viewport pixels) where it is."""
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        fixed = self.to_scene(anchor)
        self._fit_mode = False
        self.setTransform(QTransform.fromScale(factor, factor))
        moved = self.viewportTransform().map(fixed)
        self.scroll_by(moved.x() - anchor.x(), moved.y() - anchor.y())
        self._zoom_done()

    def _zoom_done(self) -> None:
        self._update_pixmap_filter()
        self.pixel_size_changed(self.pixel_size())
        self.zoomChanged.emit(self.zoom())

    def pixel_size_changed(self, pixel_size: float) -> None:
        """Hook for subclasses whose items keep a constant size on screen."""

    def scroll_by(self, dx: float, dy: float) -> None:
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() + round(dx))
        v.setValue(v.value() + round(dy))

    def to_scene(self, view_pos: QPointF) -> QPointF:
        """Viewport pixels -> image pixels, without QGraphicsView's rounding to whole pixels."""
        inverse, _ = self.viewportTransform().inverted()
        return inverse.map(QPointF(view_pos))

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802 (Qt API)
        delta = event.angleDelta().y()
        if delta:
            self.zoom_at(self.zoom() * WHEEL_STEP**delta, event.position())
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if self._fit_mode:
            self.fit()


def to_pixmap(image: np.ndarray) -> QPixmap:
    """RGB / RGBA / gray uint8 array -> QPixmap (copied, so the array may be freed)."""
    img = np.ascontiguousarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got {img.dtype}")
    h, w = img.shape[:2]
    if img.ndim == 2:
        fmt = QImage.Format.Format_Grayscale8
    elif img.shape[2] == 3:
        fmt = QImage.Format.Format_RGB888
    elif img.shape[2] == 4:
        fmt = QImage.Format.Format_RGBA8888
    else:
        raise ValueError(f"expected an HxW, HxWx3 or HxWx4 image, got shape {img.shape}")
    return QPixmap.fromImage(QImage(img.data, w, h, int(img.strides[0]), fmt))

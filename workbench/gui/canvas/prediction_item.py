"""A model's prediction drawn over the labels: dashed box, class and score, its keypoints.

Predictions are read-only on the canvas (the view never hit-tests them), so they can
be compared with the labels underneath without getting in the way of editing.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from workbench.core.prediction import Prediction
from workbench.gui.canvas import style
from workbench.gui.canvas.box_item import box_rect
from workbench.gui.canvas.keypoint_item import KeypointsItem
from workbench.gui.canvas.screen_sized import ScreenSizedItem
from workbench.gui.canvas.tag import Tag

KEYPOINT_SCORE_MIN = 0.5  # points a model is less sure of than this are not drawn


class PredictionItem(ScreenSizedItem):
    margin_px = style.BOX_PEN_PX

    def __init__(self, pred: Prediction, name: str, skeleton: list[tuple[int, int]], pixel_size: float = 1.0) -> None:
        super().__init__(pixel_size)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setZValue(4)
        self._class_id = int(pred.class_id)
        self._rect = box_rect(pred.box)
        self.tag = Tag()
        self.tag.set_text(f"{name} {pred.score:.2f}")
        self.keypoints: KeypointsItem | None = None
        if pred.keypoints is not None:
            kps = pred.keypoints.copy()
            kps[:, 2] = np.where(kps[:, 2] >= KEYPOINT_SCORE_MIN, 1.0, 0.0)  # hollow: predicted
            self.keypoints = KeypointsItem(skeleton, pixel_size)
            self.keypoints.setParentItem(self)
            self.keypoints.set_keypoints(kps, self._class_id)

    def set_pixel_size(self, pixel_size: float) -> None:
        super().set_pixel_size(pixel_size)
        if self.keypoints is not None:
            self.keypoints.set_pixel_size(pixel_size)

    def label_text(self) -> str:
        return self.tag.text

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        m = self.margin()
        tag_w = self.tag.width * self.reserved_pixel_size()
        return self._rect.adjusted(-m, -m, max(m, tag_w - self._rect.width() + m), m)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setPen(style.prediction_pen(self._class_id))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(self._rect)
        # Inside the bottom-left corner: never on top of the label's tag above a matching box.
        self.tag.paint(
            painter,
            self._rect.bottomLeft(),
            style.class_qcolor(self._class_id),
            style.label_text_color(self._class_id),
            above=True,
        )

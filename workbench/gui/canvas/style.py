"""Pens, brushes and sizes of the canvas, made once and shared by every item.

Items paint thousands of times per second while the user zooms; building a QPen or
QColor inside ``paint`` for each of thousands of boxes is the classic slow canvas,
so everything is looked up here by class or keypoint index. Pens are cosmetic: a box
edge is two screen pixels wide at any zoom. Sizes are in screen pixels.
"""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPen

from workbench.core.palette import class_color, keypoint_color

BOX_PEN_PX = 2.0
SELECTED_PEN_PX = 3.0
HANDLE_PX = 8.0  # side of a resize handle square
HANDLE_GRAB_PX = 7.0  # how close the cursor must be to a handle's centre to grab it
KEYPOINT_PX = 5.0  # radius of a keypoint dot
KEYPOINT_GRAB_PX = 8.0
EDGE_PEN_PX = 1.0  # width 1: the raster engine's fast cosmetic stroker (wider AA lines cost ~40x)
LABEL_PAD_PX = 2.0


def _qcolor(rgb: tuple[int, int, int], alpha: int = 255) -> QColor:
    return QColor(rgb[0], rgb[1], rgb[2], alpha)


def _cosmetic(color: QColor, width: float, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> QPen:
    pen = QPen(color, width, style)
    pen.setCosmetic(True)
    pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
    return pen


@lru_cache(maxsize=512)
def class_qcolor(class_id: int) -> QColor:
    return _qcolor(class_color(class_id))


@lru_cache(maxsize=512)
def box_pen(class_id: int, selected: bool) -> QPen:
    return _cosmetic(class_qcolor(class_id), SELECTED_PEN_PX if selected else BOX_PEN_PX)


@lru_cache(maxsize=512)
def box_fill(class_id: int, strength: int) -> QBrush:
    """Translucent fill: strength 0 none, 1 hovered, 2 selected."""
    if strength <= 0:
        return QBrush(Qt.BrushStyle.NoBrush)
    return QBrush(_qcolor(class_color(class_id), 40 if strength == 1 else 70))


@lru_cache(maxsize=512)
def prediction_pen(class_id: int) -> QPen:
    return _cosmetic(class_qcolor(class_id), BOX_PEN_PX, Qt.PenStyle.DashLine)


@lru_cache(maxsize=512)
def label_text_color(class_id: int) -> QColor:
    r, g, b = class_color(class_id)
    return QColor(0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else QColor(255, 255, 255)


@lru_cache(maxsize=256)
def keypoint_brush(index: int) -> QBrush:
    return QBrush(_qcolor(keypoint_color(index)))


@lru_cache(maxsize=256)
def keypoint_pen(index: int, occluded: bool) -> QPen:
    """Outline of a dot: dark around a visible dot, the point's color around a hollow one."""
    if occluded:
        return _cosmetic(_qcolor(keypoint_color(index)), 2.0)
    return _cosmetic(QColor(0, 0, 0, 200), 1.0)


@lru_cache(maxsize=512)
def edge_pen(class_id: int) -> QPen:
    return _cosmetic(_qcolor(class_color(class_id), 200), EDGE_PEN_PX)


@lru_cache(maxsize=1)
def highlight_pen() -> QPen:
    return _cosmetic(QColor(255, 255, 255), 2.0)


@lru_cache(maxsize=1)
def handle_brush() -> QBrush:
    return QBrush(QColor(255, 255, 255))


@lru_cache(maxsize=1)
def handle_pen() -> QPen:
    return _cosmetic(QColor(0, 0, 0), 1.0)


@lru_cache(maxsize=1)
def rubber_band_pen() -> QPen:
    return _cosmetic(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine)


@lru_cache(maxsize=1)
def warning_brush() -> QBrush:
    return QBrush(QColor(255, 170, 0))


@lru_cache(maxsize=1)
def label_font() -> QFont:
    font = QFont()
    font.setPointSizeF(9.0)
    return font


@lru_cache(maxsize=1)
def label_metrics() -> QFontMetricsF:
    return QFontMetricsF(label_font())

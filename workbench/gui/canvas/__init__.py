"""The annotation canvas: draws one image's labels and edits them through undo commands.

``ImageView`` is its label-free base (zoom, fit, 1:1, full-resolution coordinates)
for read-only viewers.
"""

from workbench.gui.canvas.hit_test import Hit
from workbench.gui.canvas.image_view import ImageView
from workbench.gui.canvas.view import CANVAS_KEYS, AnnotationCanvas

__all__ = ["CANVAS_KEYS", "AnnotationCanvas", "Hit", "ImageView"]

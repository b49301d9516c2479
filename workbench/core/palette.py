"""Colors for classes and keypoint indices, shared by the canvas and rendered overlays.

One palette so that class 3 is the same color in the editor, in the detection viewer
and in an exported overlay PNG.
"""

from __future__ import annotations

import colorsys

# Ultralytics-like hand-picked hues for the first classes; the rest come from the
# golden-ratio walk around the hue circle, which never repeats and stays distinct.
_BASE = [
    (255, 56, 56), (72, 249, 10), (0, 194, 255), (255, 157, 151), (146, 204, 23),
    (255, 178, 29), (207, 210, 49), (61, 219, 134), (26, 147, 52), (0, 212, 187),
    (44, 153, 168), (52, 69, 147), (100, 115, 255), (0, 24, 236), (132, 56, 255),
    (82, 0, 133), (203, 56, 255), (255, 149, 200), (255, 55, 199), (207, 210, 49),
]  # fmt: skip
_KEYPOINT = [
    (255, 128, 0), (0, 200, 255), (255, 51, 255), (51, 255, 51), (255, 255, 0),
    (153, 51, 255), (255, 0, 0), (0, 102, 255), (0, 255, 153), (255, 153, 204),
    (128, 128, 255), (204, 255, 102), (255, 102, 102), (102, 255, 255), (255, 204, 0),
    (178, 102, 255), (102, 178, 255),
]  # fmt: skip


def _walk(i: int) -> tuple[int, int, int]:
    h = (i * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.75, 1.0)
    return int(r * 255), int(g * 255), int(b * 255)


def class_color(class_id: int) -> tuple[int, int, int]:
    """RGB color of a class id (negative or huge ids get a color too: they must be visible)."""
    if 0 <= class_id < len(_BASE):
        return _BASE[class_id]
    return _walk(abs(class_id) + 7)


def keypoint_color(index: int) -> tuple[int, int, int]:
    """RGB color of keypoint index ``index``."""
    if 0 <= index < len(_KEYPOINT):
        return _KEYPOINT[index]
    return _walk(index + 101)

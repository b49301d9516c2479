"""The arithmetic of canvas edits, on plain numpy arrays (no Qt), so it is tested directly.

``bounds`` is the image size ``(width, height)`` or ``None`` while it is unknown; edits
keep boxes and points inside the image because a label outside it is rejected (or
silently clipped) by every trainer.
"""

from __future__ import annotations

import numpy as np

from workbench.core.annotation import Instance

Bounds = tuple[float, float] | None

# Handle order around the box, clockwise from the top-left corner. For each handle:
# which box coordinates (x1, y1, x2, y2) it drags.
HANDLE_NAMES = ("top-left", "top", "top-right", "right", "bottom-right", "bottom", "bottom-left", "left")
_MOVES_X = {0: 0, 6: 0, 7: 0, 2: 2, 3: 2, 4: 2}  # handle -> index of the x coordinate it sets
_MOVES_Y = {0: 1, 1: 1, 2: 1, 4: 3, 5: 3, 6: 3}


def handle_points(box: np.ndarray) -> np.ndarray:
    """(8, 2) positions of the resize handles of an ``xyxy`` box."""
    x1, y1, x2, y2 = (float(v) for v in box)
    xm, ym = (x1 + x2) / 2, (y1 + y2) / 2
    return np.array([[x1, y1], [xm, y1], [x2, y1], [x2, ym], [x2, y2], [xm, y2], [x1, y2], [x1, ym]])


def clamp_point(x: float, y: float, bounds: Bounds) -> tuple[float, float]:
    if bounds is None:
        return x, y
    return min(max(x, 0.0), float(bounds[0])), min(max(y, 0.0), float(bounds[1]))


def resize_box(box: np.ndarray, handle: int, x: float, y: float, bounds: Bounds) -> np.ndarray:
    """The box after dragging ``handle`` to ``(x, y)``; dragging past the opposite edge flips it."""
    x, y = clamp_point(x, y, bounds)
    out = np.asarray(box, dtype=np.float64).copy()
    if handle in _MOVES_X:
        out[_MOVES_X[handle]] = x
    if handle in _MOVES_Y:
        out[_MOVES_Y[handle]] = y
    return normalized_box(out)


def normalized_box(box: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = box
    return np.array([min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)], dtype=np.float64)


def box_from_corners(x0: float, y0: float, x1: float, y1: float, bounds: Bounds) -> np.ndarray:
    """A drawn box from its press and release points, clipped to the image."""
    x0, y0 = clamp_point(x0, y0, bounds)
    x1, y1 = clamp_point(x1, y1, bounds)
    return normalized_box(np.array([x0, y0, x1, y1], dtype=np.float64))


def clamp_translation(box: np.ndarray, dx: float, dy: float, bounds: Bounds) -> tuple[float, float]:
    """Limit a move so a box inside the image stays inside (one already outside may not go further)."""
    if bounds is None:
        return dx, dy
    w, h = float(bounds[0]), float(bounds[1])
    x1, y1, x2, y2 = (float(v) for v in box)
    dx = min(max(dx, min(0.0, -x1)), max(0.0, w - x2))
    dy = min(max(dy, min(0.0, -y1)), max(0.0, h - y2))
    return dx, dy


def move_instance(inst: Instance, dx: float, dy: float, bounds: Bounds) -> Instance:
    """The instance translated as a whole: its box and its placed keypoints move together."""
    dx, dy = clamp_translation(inst.box, dx, dy, bounds)
    out = inst.copy()
    out.box = out.box + np.array([dx, dy, dx, dy])
    if out.keypoints is not None:
        placed = out.keypoints[:, 2] > 0
        out.keypoints[placed, 0] += dx
        out.keypoints[placed, 1] += dy
    return out


def with_keypoint(inst: Instance, k: int, x: float, y: float, v: float, num_keypoints: int) -> Instance:
    """The instance with point ``k`` set to ``(x, y, v)``; creates the keypoint array if absent."""
    out = inst.copy()
    if out.keypoints is None or out.keypoints.shape[0] != num_keypoints:
        kps = np.zeros((num_keypoints, 3))
        if out.keypoints is not None:
            n = min(num_keypoints, out.keypoints.shape[0])
            kps[:n] = out.keypoints[:n]
        out.keypoints = kps
    out.keypoints[k] = (x, y, v)
    return out


def next_visibility(v: float, with_occluded: bool = True) -> float:
    """Visible -> occluded -> missing -> visible.

    The first press on a visible point makes it occluded (the common fix); a third
    press brings a point marked missing back as visible. Formats without a visibility
    column (yolov5-face, ``kpt_shape: [K, 2]``) cannot store "occluded", so there the
    cycle is visible <-> missing rather than an edit that silently reverts on save.
    """
    if not with_occluded:
        return 0.0 if v > 0 else 2.0
    return {2.0: 1.0, 1.0: 0.0}.get(float(v), 2.0)


def first_missing(inst: Instance, num_keypoints: int) -> int | None:
    """The lowest keypoint index that is not placed yet (all of them when there are none)."""
    if inst.keypoints is None:
        return 0 if num_keypoints else None
    missing = np.flatnonzero(inst.keypoints[:num_keypoints, 2] <= 0)
    if inst.keypoints.shape[0] < num_keypoints and not len(missing):
        return int(inst.keypoints.shape[0])
    return int(missing[0]) if len(missing) else None

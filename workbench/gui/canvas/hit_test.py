"""What is under the cursor, answered with numpy over all instances at once.

The scene's own ``items(pos)`` walks every item whose tag ignores the zoom, which
makes hover tracking over thousands of boxes take tens of milliseconds per mouse
move; a vectorized test over an ``(n, 4)`` box array takes microseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.core.annotation import Instance
from workbench.gui.canvas.geometry import handle_points


@dataclass(frozen=True)
class Hit:
    """What is under the cursor: ``kind`` is handle, keypoint, box or none."""

    kind: str = "none"
    instance: int | None = None
    part: int | None = None  # handle index or keypoint index


NO_HIT = Hit()


class HitIndex:
    """The boxes and keypoints of one record as arrays, rebuilt when the record changes."""

    def __init__(self, instances: list[Instance], num_keypoints: int) -> None:
        n = len(instances)
        self.boxes = np.array([inst.box for inst in instances], dtype=np.float64).reshape(n, 4)
        self.keypoints = np.zeros((n, num_keypoints, 3))
        for i, inst in enumerate(instances):
            if inst.keypoints is not None and num_keypoints:
                k = min(num_keypoints, inst.keypoints.shape[0])
                self.keypoints[i, :k] = inst.keypoints[:k]

    def at(self, x: float, y: float, selected: int | None, handle_radius: float, point_radius: float) -> Hit:
        """Handles of the selection first, then the nearest keypoint, then boxes.

        Among boxes containing the point, the selected one wins (so it can be dragged
        even where it overlaps others), then the smallest (so a box nested inside a
        bigger one can be picked at all).
        """
        n = len(self.boxes)
        if selected is not None and 0 <= selected < n:
            d = np.hypot(*(handle_points(self.boxes[selected]) - (x, y)).T)
            h = int(np.argmin(d))
            if d[h] <= handle_radius:
                return Hit("handle", selected, h)
        hit = self._keypoint(x, y, selected, point_radius)
        if hit is not None:
            return hit
        b = self.boxes
        inside = np.flatnonzero((b[:, 0] <= x) & (x <= b[:, 2]) & (b[:, 1] <= y) & (y <= b[:, 3]))
        if not len(inside):
            return NO_HIT
        if selected is not None and selected in inside:
            return Hit("box", selected)
        areas = (b[inside, 2] - b[inside, 0]) * (b[inside, 3] - b[inside, 1])
        return Hit("box", int(inside[int(np.argmin(areas))]))

    def _keypoint(self, x: float, y: float, selected: int | None, radius: float) -> Hit | None:
        kps = self.keypoints
        if not kps.size:
            return None
        d = np.hypot(kps[..., 0] - x, kps[..., 1] - y)
        d[(kps[..., 2] <= 0) | (d > radius)] = np.inf  # missing points cannot be grabbed
        score = d.copy()
        if selected is not None and 0 <= selected < len(kps):
            score[selected] -= radius * 0.5  # the selection wins a near-tie with a point below it
        i, k = np.unravel_index(int(np.argmin(score)), score.shape)
        if not np.isfinite(d[i, k]):
            return None
        return Hit("keypoint", int(i), int(k))

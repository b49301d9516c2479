"""Keypoint checks of one instance: points missing, the wrong count, visible points outside the box.

A visible keypoint outside its box means one of two things is wrong, and the one-click
fix must not destroy the other: the point (thrown away from its object: mark it
missing) or the box (shifted off correct landmarks: move the box, keep the points).
``outside_box_verdict`` decides from the instance alone and offers no fix when the
evidence does not say which.
"""

from __future__ import annotations

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import FitBoxToKeypoints, FixAction, MarkKeypointMissing
from workbench.core.wording import keypoint_label
from workbench.qa.instance_finding import finding_at, xyxy_text

# A visible keypoint may stick out of its box by this fraction of the box's longer side
# (annotators draw boxes tight; a wrist or an ear slightly outside is normal).
KEYPOINT_MARGIN = 0.1
KEYPOINT_MARGIN_MIN_PX = 2.0
# The box is wrong when two or more visible points lie outside it and the same box, moved by
# at most MAX_BOX_SHIFT of its size on each axis (and grown by at most MAX_BOX_GROWTH where
# the points span more than it), holds them all: a shifted box, over landmarks that agree.
MAX_BOX_SHIFT = 0.75
MAX_BOX_GROWTH = 0.25
# The point is wrong when it is the only one outside and lies farther from the other
# visible points than OUTLIER_SPREAD times their spread (floored at OUTLIER_MIN_SPREAD of
# the box's longer side, for two points close together): they, inside the box, agree with it.
OUTLIER_SPREAD = 1.0
OUTLIER_MIN_SPREAD = 0.1


def check_keypoints(ds: Dataset, rec: ImageRecord, i: int, inst: Instance) -> list[Finding]:
    assert ds.keypoints is not None
    k = ds.keypoints.num_keypoints
    if inst.keypoints is None:
        return [
            finding_at(
                ds,
                rec,
                i,
                inst,
                Severity.WARNING,
                "missing_keypoints",
                f"instance has a box but no keypoints in a {k}-keypoint dataset: add its keypoints "
                "(until then every point counts as missing)",
            )
        ]
    if inst.keypoints.shape[0] != k:
        return [
            finding_at(
                ds,
                rec,
                i,
                inst,
                Severity.ERROR,
                "keypoint_count",
                f"instance has {inst.keypoints.shape[0]} keypoints, the dataset's schema has {k}: "
                "relabel it with the schema's keypoints",
            )
        ]
    # Occluded points (v=1) are guessed, often beyond a box drawn around what is seen
    # (COCO's hips of a person cut off by a table); only a visible point must be inside.
    visible = inst.keypoints[:, 2] == 2
    if not visible.any():
        return []
    x1, y1, x2, y2 = inst.box
    margin = max(KEYPOINT_MARGIN * max(x2 - x1, y2 - y1), KEYPOINT_MARGIN_MIN_PX)
    xs, ys = inst.keypoints[:, 0], inst.keypoints[:, 1]
    outside = visible & ((xs < x1 - margin) | (xs > x2 + margin) | (ys < y1 - margin) | (ys > y2 + margin))
    fix, advice = outside_box_verdict(i, inst.box, inst.keypoints, outside)
    out = []
    names = ds.keypoints.names
    for j in np.flatnonzero(outside):
        out.append(
            finding_at(
                ds,
                rec,
                i,
                inst,
                Severity.WARNING,
                "keypoint_outside_box",
                f"{keypoint_label(int(j), names)} at ({xs[j]:.1f}, {ys[j]:.1f}) lies outside its box "
                f"({xyxy_text(inst)}): {advice}",
                fix,
            )
        )
    return out


def outside_box_verdict(
    i: int, box: np.ndarray, keypoints: np.ndarray, outside: np.ndarray
) -> tuple[FixAction | None, str]:
    """The fix every ``keypoint_outside_box`` finding of instance ``i`` offers, and the advice it words.

    One verdict per instance, so the findings agree: a shifted box gets one
    ``FitBoxToKeypoints`` (applied once, it clears them all); a lone point far from the
    others gets ``MarkKeypointMissing``; anything else gets no fix and says what to check.
    """
    visible = keypoints[:, 2] == 2
    n_out, n_vis = int(outside.sum()), int(visible.sum())
    if n_out == 1 and n_vis >= 2:
        j = int(np.flatnonzero(outside)[0])
        rest = keypoints[visible & (np.arange(len(keypoints)) != j), :2]
        lo, hi = rest.min(axis=0), rest.max(axis=0)
        spread = max(float(np.max(hi - lo)), OUTLIER_MIN_SPREAD * float(max(box[2] - box[0], box[3] - box[1])))
        gap = float(np.hypot(*np.maximum(0.0, np.maximum(lo - keypoints[j, :2], keypoints[j, :2] - hi))))
        if gap > OUTLIER_SPREAD * spread:
            return (
                MarkKeypointMissing(i, j),
                f"it lies {gap:.0f} px from the other {n_vis - 1} visible keypoints, which fit the box: "
                "move it to its place or mark it missing",
            )
    elif n_out >= 2:
        fitted = _box_over(box, keypoints[visible, :2])
        if fitted is not None:
            where = " ".join(f"{v:.1f}" for v in fitted)
            return (
                FitBoxToKeypoints(i, fitted),
                f"{n_out} of {n_vis} visible keypoints lie outside and agree with each other, so the box "
                f"looks shifted off its object: move the box over its keypoints ({where})",
            )
    return None, "check whether the keypoint or the box is wrong: move the keypoint, mark it missing, or fix the box"


def _box_over(box: np.ndarray, points: np.ndarray) -> tuple[float, float, float, float] | None:
    """The box moved (and at most slightly grown) to center its points on each axis they leave; None:
    no modest correction holds them all, so the box is not simply shifted."""
    new = [float(v) for v in box]
    for a in (0, 1):
        lo, hi = float(box[a]), float(box[a + 2])
        size = hi - lo
        pmin, pmax = float(points[:, a].min()), float(points[:, a].max())
        if size <= 0:
            return None
        if pmin >= lo and pmax <= hi:
            continue
        new_size = max(size, pmax - pmin)
        center = (pmin + pmax) / 2
        if new_size > size * (1 + MAX_BOX_GROWTH) or abs(center - (lo + hi) / 2) > MAX_BOX_SHIFT * size:
            return None
        new[a], new[a + 2] = center - new_size / 2, center + new_size / 2
    return round(new[0], 2), round(new[1], 2), round(new[2], 2), round(new[3], 2)

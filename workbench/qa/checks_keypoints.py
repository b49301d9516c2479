"""Keypoint checks of one instance: points missing, the wrong count, visible points outside the box."""

from __future__ import annotations

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import MarkKeypointMissing
from workbench.qa.instance_finding import finding_at, xyxy_text

# A visible keypoint may stick out of its box by this fraction of the box's longer side
# (annotators draw boxes tight; a wrist or an ear slightly outside is normal).
KEYPOINT_MARGIN = 0.1
KEYPOINT_MARGIN_MIN_PX = 2.0


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
    out = []
    names = ds.keypoints.names
    for j in np.flatnonzero(outside):
        name = names[j] if j < len(names) else str(j)
        out.append(
            finding_at(
                ds,
                rec,
                i,
                inst,
                Severity.WARNING,
                "keypoint_outside_box",
                f"keypoint {j} ({name}) at ({xs[j]:.1f}, {ys[j]:.1f}) lies outside its box "
                f"({xyxy_text(inst)}): move it, mark it missing, or enlarge the box",
                MarkKeypointMissing(i, int(j)),
            )
        )
    return out

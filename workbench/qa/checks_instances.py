"""Every per-instance check of one image in one pass: class ids, boxes, keypoints, duplicates.

These look only at ``rec.instances`` and the image size, never at the label file, so
the GUI can re-check an image the user just edited and get the same answer that
``workbench validate`` would give once the edit is saved.
"""

from __future__ import annotations

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.arrays import MIN_BOX_SIDE
from workbench.core.findings import Finding
from workbench.qa.checks_boxes import OUTSIDE_TOLERANCE_PX, box_finding
from workbench.qa.checks_classes import class_finding
from workbench.qa.checks_duplicates import check_duplicates
from workbench.qa.checks_keypoints import check_keypoints


def check_instances(ds: Dataset, rec: ImageRecord) -> list[Finding]:
    """Class ids, box geometry, duplicates and keypoints of every instance of one image."""
    # One tight loop with the common all-good case first: this runs for every instance
    # of a 20,000-image validation.
    out: list[Finding] = []
    nc = ds.nc
    tol = OUTSIDE_TOLERANCE_PX
    sized = rec.width is not None and rec.height is not None
    right, bottom = ((rec.width or 0) + tol, (rec.height or 0) + tol)
    boxes: list[list[float]] = []
    for i, inst in enumerate(rec.instances):
        if not 0 <= inst.class_id < nc:
            out.append(class_finding(ds, rec, i, inst))
        box = inst.box.tolist()
        boxes.append(box)
        x1, y1, x2, y2 = box
        if (
            x2 - x1 < MIN_BOX_SIDE
            or y2 - y1 < MIN_BOX_SIDE
            or (sized and (x1 < -tol or y1 < -tol or x2 > right or y2 > bottom))
        ):
            out.append(box_finding(ds, rec, i, inst, x1, y1, x2, y2))
        if ds.keypoints is not None:
            out.extend(check_keypoints(ds, rec, i, inst))
    if len(rec.instances) > 1:
        out.extend(check_duplicates(ds, rec, boxes))
    return out

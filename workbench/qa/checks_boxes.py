"""Box geometry checks: a box with no area, or one reaching past its image.

Both are certain mistakes with certain fixes (delete, clip), so their findings carry
safe fixes that ``validate --fix`` applies without asking.
"""

from __future__ import annotations

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.core.arrays import MIN_BOX_SIDE
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import ClipBox, DeleteInstance
from workbench.formats.base import format_number
from workbench.qa.instance_finding import finding_at, xyxy_text

# A box edge this far past the image border is a real overshoot, not float noise from
# six-decimal normalized coordinates.
OUTSIDE_TOLERANCE_PX = 0.5


def box_finding(
    ds: Dataset, rec: ImageRecord, i: int, inst: Instance, x1: float, y1: float, x2: float, y2: float
) -> Finding:
    """A box with no area, or one reaching past the image (the caller saw one of the two)."""
    w, h = x2 - x1, y2 - y1
    if w < MIN_BOX_SIDE or h < MIN_BOX_SIDE:
        return finding_at(
            ds,
            rec,
            i,
            inst,
            Severity.ERROR,
            "degenerate_box",
            f"box has no area (width {format_number(w)} px, height {format_number(h)} px): "
            "detectors such as Faster R-CNN crash on it; delete it or redraw it",
            DeleteInstance(i, safe=True),
        )
    assert rec.width is not None and rec.height is not None
    iw, ih = rec.width, rec.height
    cx1, cy1, cx2, cy2 = max(x1, 0.0), max(y1, 0.0), min(x2, float(iw)), min(y2, float(ih))
    if cx2 - cx1 < MIN_BOX_SIDE or cy2 - cy1 < MIN_BOX_SIDE:
        return finding_at(
            ds,
            rec,
            i,
            inst,
            Severity.ERROR,
            "box_outside_image",
            f"box ({xyxy_text(inst)}) lies entirely outside the {iw}x{ih} image: delete it or redraw it",
            DeleteInstance(i, safe=True),
        )
    kept = (cx2 - cx1) * (cy2 - cy1) / (w * h)
    return finding_at(
        ds,
        rec,
        i,
        inst,
        Severity.WARNING,
        "box_outside_image",
        f"box ({xyxy_text(inst)}) extends past the {iw}x{ih} image ({kept:.0%} of it is inside): clip it to the image",
        ClipBox(i),
    )

"""How a per-instance finding is located: one helper every instance check shares.

A finding about an instance names its line (YOLO), or its COCO annotation id when the
labels have no lines, so every check words its location the same way.
"""

from __future__ import annotations

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import FixAction
from workbench.formats.base import record_finding


def finding_at(
    ds: Dataset,
    rec: ImageRecord,
    i: int,
    inst: Instance,
    severity: Severity,
    kind: str,
    message: str,
    fix: FixAction | None = None,
) -> Finding:
    """A finding about instance ``i`` of ``rec``, at its line or (COCO) prefixed with its annotation id."""
    if inst.source.line is None:
        message = annotation_id(rec, i) + message
    return record_finding(
        ds, rec, severity, kind, message, line=inst.source.line, instance=i, label_file=inst.source.label_file, fix=fix
    )


def annotation_id(rec: ImageRecord, i: int) -> str:
    """``annotation id N: `` for a COCO instance as read (what to search the JSON for), else ''.

    An edited image's instances may have moved, been copied or been drawn since: the id is
    named only while the image is as it was read.
    """
    if rec.dirty:
        return ""
    aid = rec.instances[i].source.annotation_id
    return "" if aid is None else f"annotation id {aid}: "


def xyxy_text(inst: Instance) -> str:
    """The box as messages print it (one decimal), so every message shows it alike."""
    return " ".join(f"{v:.1f}" for v in inst.box)

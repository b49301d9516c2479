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
    """``annotation id N: `` for a COCO instance as read (what to search the JSON for), else ''."""
    anns = rec.meta.get("coco_anns")
    if rec.dirty or not isinstance(anns, list) or len(anns) != len(rec.instances):
        return ""
    ann = anns[i]
    return f"annotation id {ann['id']}: " if isinstance(ann, dict) and "id" in ann else ""


def xyxy_text(inst: Instance) -> str:
    """The box as messages print it (one decimal), so every message shows it alike."""
    return " ".join(f"{v:.1f}" for v in inst.box)

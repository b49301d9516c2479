"""Safe fixes: the ones whose result is certain, applied to the labels in memory.

Clipping a box to its image, dropping a box with no area and dropping an exact
duplicate never change what a careful annotator meant. Anything that needs a guess
(which class a wrong id meant, where a keypoint belongs) is left to the user.
"""

from __future__ import annotations

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.findings import Finding
from workbench.qa.validate import validate_dataset, validate_record

SAFE_ACTIONS = frozenset({"clip_box", "delete_instance", "take_image_size"})


def is_safe_fix(f: Finding) -> bool:
    return bool(f.fix) and f.fix.get("safe") is True and f.fix.get("action") in SAFE_ACTIONS


def apply_safe_fixes(ds: Dataset, findings: list[Finding] | None = None) -> list[str]:
    """Apply the safe fixes among ``findings`` (default: all of them) to the records in memory.

    Each affected record is re-checked first and only fixes that still apply are made,
    so a stale list (findings from before an edit, or from the cache) cannot delete the
    wrong instance. Changed records are marked dirty; save with
    ``workbench.formats.save_dataset``. Returns one line per change.
    """
    if findings is None:
        findings = validate_dataset(ds)
    wanted: dict[str, set[tuple[str, int | None]]] = {}
    for f in findings:
        if is_safe_fix(f) and f.image is not None:
            wanted.setdefault(f.image, set()).add((f.kind, f.instance))
    if not wanted:
        return []
    changes: list[str] = []
    for rec in ds.records:
        image = ds.rel(rec.path)
        if image not in wanted:
            continue
        fresh = [f for f in validate_record(ds, rec) if is_safe_fix(f) and (f.kind, f.instance) in wanted[image]]
        changes.extend(_apply(ds, rec, fresh))
    return changes


def _apply(ds: Dataset, rec: ImageRecord, fixes: list[Finding]) -> list[str]:
    if not fixes:
        return []
    instances = [inst.copy() for inst in rec.instances]
    delete: set[int] = set()
    changes = []
    sized = [f for f in fixes if f.fix is not None and f.fix["action"] == "take_image_size"]
    if sized:  # the reader already took the image's size: saving writes it
        rec.findings = [f for f in rec.findings if f.kind != "image_size_mismatch"]
        rec.dirty = True
        changes.append(f"{ds.rel(rec.path)}: size set to the image's {rec.width}x{rec.height}")
    for f in sorted((f for f in fixes if f not in sized), key=lambda f: (f.instance or 0, f.kind)):
        assert f.fix is not None and f.instance is not None
        where = f.location() or (ds.rel(rec.path) or "")
        if f.fix["action"] == "clip_box" and rec.width is not None and rec.height is not None:
            box = instances[f.instance].box
            box[[0, 2]] = np.clip(box[[0, 2]], 0, rec.width)
            box[[1, 3]] = np.clip(box[[1, 3]], 0, rec.height)
            changes.append(f"{where}: clipped box to the {rec.width}x{rec.height} image")
        elif f.fix["action"] == "delete_instance" and f.instance not in delete:
            delete.add(f.instance)
            changes.append(f"{where}: deleted {_why(f)}")
    if len(fixes) > len(sized):
        rec.set_instances([inst for i, inst in enumerate(instances) if i not in delete])
    return changes


def _why(f: Finding) -> str:
    return {
        "degenerate_box": "box with no area",
        "box_outside_image": "box lying entirely outside the image",
        "duplicate": "exact duplicate box",
    }.get(f.kind, f.kind.replace("_", " "))

"""Per-image checks on labels as they are in memory (after load or after an edit).

These look only at ``rec.instances`` and the image size, never at the label file, so
the GUI can re-check an image the user just edited and get the same answer that
``workbench validate`` would give once the edit is saved.
"""

from __future__ import annotations

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.core.arrays import MIN_BOX_SIDE
from workbench.core.findings import Finding, Severity
from workbench.formats.base import format_number, record_finding
from workbench.qa.qc_geometry import box_iou

# A box edge this far past the image border is a real overshoot, not float noise from
# six-decimal normalized coordinates.
OUTSIDE_TOLERANCE_PX = 0.5
# Below this side length an image is too small for any detector's stride.
TINY_IMAGE_SIDE = 32
# Overlap at which two same-class boxes are almost certainly the same object twice.
NEAR_DUPLICATE_IOU = 0.95
# A visible keypoint may stick out of its box by this fraction of the box's longer side
# (annotators draw boxes tight; a wrist or an ear slightly outside is normal).
KEYPOINT_MARGIN = 0.1
KEYPOINT_MARGIN_MIN_PX = 2.0


def config_name(ds: Dataset) -> str:
    """How messages name the file that declares the classes."""
    if ds.config_file is not None:
        return ds.config_file.name
    return "the COCO categories" if ds.format == "coco" else "the dataset's class list"


def check_image(ds: Dataset, rec: ImageRecord) -> list[Finding]:
    """Findings about the image itself: too small to train on, or never labeled."""
    out: list[Finding] = []
    if rec.width is not None and rec.height is not None and min(rec.width, rec.height) < TINY_IMAGE_SIDE:
        out.append(record_finding(
            ds, rec, Severity.WARNING, "tiny_image",
            f"image is only {rec.width}x{rec.height} pixels (under {TINY_IMAGE_SIDE} px on a side): "
            "detectors downsample by 32, so use a larger image or exclude this one",
            fix={"action": "exclude_image", "safe": False}))
    if not rec.has_labels and not rec.instances and rec.width is not None:
        out.append(record_finding(
            ds, rec, Severity.INFO, "unlabeled_image",
            "image has no label file, so it trains as background (no objects): label it if it shows "
            "objects"))
    return out


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
            out.append(_class_finding(ds, rec, i, inst))
        box = inst.box.tolist()
        boxes.append(box)
        x1, y1, x2, y2 = box
        if (x2 - x1 < MIN_BOX_SIDE or y2 - y1 < MIN_BOX_SIDE
                or (sized and (x1 < -tol or y1 < -tol or x2 > right or y2 > bottom))):
            out.append(_box_finding(ds, rec, i, inst, x1, y1, x2, y2))
        if ds.keypoints is not None:
            out.extend(_check_keypoints(ds, rec, i, inst))
    if len(rec.instances) > 1:
        out.extend(_check_duplicates(ds, rec, boxes))
    return out


def _at(ds: Dataset, rec: ImageRecord, i: int, inst: Instance, severity: Severity, kind: str, message: str,
        fix: dict | None = None) -> Finding:
    if inst.source.line is None:
        message = _annotation_id(rec, i) + message
    return record_finding(ds, rec, severity, kind, message, line=inst.source.line, instance=i,
                          label_file=inst.source.label_file, fix=fix)


def _annotation_id(rec: ImageRecord, i: int) -> str:
    """``annotation id N: `` for a COCO instance as read (what to search the JSON for), else ''."""
    anns = rec.meta.get("coco_anns")
    if rec.dirty or not isinstance(anns, list) or len(anns) != len(rec.instances):
        return ""
    ann = anns[i]
    return f"annotation id {ann['id']}: " if isinstance(ann, dict) and "id" in ann else ""


def _class_finding(ds: Dataset, rec: ImageRecord, i: int, inst: Instance) -> Finding:
    cfg = config_name(ds)
    if ds.nc == 0:
        msg = (f"class id {inst.class_id} cannot be checked: {cfg} defines no classes; "
               "add 'names' to the dataset config")
    else:
        msg = (f"class id {inst.class_id} is outside 0..{ds.nc - 1} (nc={ds.nc} in {cfg}): "
               f"change it to one of 0..{ds.nc - 1} or add the missing class to 'names'")
    # With a single class there is only one id it can have meant; still not applied
    # automatically (a typo in a one-class dataset can also be a stray line).
    fix = {"action": "set_class", "value": 0, "safe": False} if ds.nc == 1 else None
    return _at(ds, rec, i, inst, Severity.ERROR, "class_out_of_range", msg, fix)


def _box_finding(ds: Dataset, rec: ImageRecord, i: int, inst: Instance, x1: float, y1: float, x2: float,
                 y2: float) -> Finding:
    """A box with no area, or one reaching past the image (the caller saw one of the two)."""
    w, h = x2 - x1, y2 - y1
    if w < MIN_BOX_SIDE or h < MIN_BOX_SIDE:
        return _at(ds, rec, i, inst, Severity.ERROR, "degenerate_box",
                   f"box has no area (width {format_number(w)} px, height {format_number(h)} px): "
                   "detectors such as Faster R-CNN crash on it; delete it or redraw it",
                   {"action": "delete_instance", "safe": True})
    assert rec.width is not None and rec.height is not None
    iw, ih = rec.width, rec.height
    cx1, cy1, cx2, cy2 = max(x1, 0.0), max(y1, 0.0), min(x2, float(iw)), min(y2, float(ih))
    if cx2 - cx1 < MIN_BOX_SIDE or cy2 - cy1 < MIN_BOX_SIDE:
        return _at(ds, rec, i, inst, Severity.ERROR, "box_outside_image",
                   f"box ({_xyxy(inst)}) lies entirely outside the {iw}x{ih} image: delete it or redraw it",
                   {"action": "delete_instance", "safe": True})
    kept = (cx2 - cx1) * (cy2 - cy1) / (w * h)
    return _at(ds, rec, i, inst, Severity.WARNING, "box_outside_image",
               f"box ({_xyxy(inst)}) extends past the {iw}x{ih} image ({kept:.0%} of it is inside): "
               "clip it to the image", {"action": "clip_box", "safe": True})


def _xyxy(inst: Instance) -> str:
    return " ".join(f"{v:.1f}" for v in inst.box)


def _check_keypoints(ds: Dataset, rec: ImageRecord, i: int, inst: Instance) -> list[Finding]:
    assert ds.keypoints is not None
    k = ds.keypoints.num_keypoints
    if inst.keypoints is None:
        return [_at(ds, rec, i, inst, Severity.WARNING, "missing_keypoints",
                    f"instance has a box but no keypoints in a {k}-keypoint dataset: add its keypoints "
                    "(until then every point counts as missing)")]
    if inst.keypoints.shape[0] != k:
        return [_at(ds, rec, i, inst, Severity.ERROR, "keypoint_count",
                    f"instance has {inst.keypoints.shape[0]} keypoints, the dataset's schema has {k}: "
                    "relabel it with the schema's keypoints")]
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
        out.append(_at(ds, rec, i, inst, Severity.WARNING, "keypoint_outside_box",
                       f"keypoint {j} ({name}) at ({xs[j]:.1f}, {ys[j]:.1f}) lies outside its box "
                       f"({_xyxy(inst)}): move it, mark it missing, or enlarge the box",
                       {"action": "mark_keypoint_missing", "keypoint": int(j), "safe": False}))
    return out


def _check_duplicates(ds: Dataset, rec: ImageRecord, boxes: list[list[float]]) -> list[Finding]:
    out: list[Finding] = []
    flagged: set[int] = set()
    for a, b, iou in _overlapping_pairs(rec.instances, boxes):
        if b in flagged:
            continue
        flagged.add(b)
        first, inst = rec.instances[a], rec.instances[b]
        where = f"line {first.source.line}" if first.source.line is not None else f"instance {a}"
        if inst.same_as(first):
            out.append(_at(ds, rec, b, inst, Severity.WARNING, "duplicate",
                           f"exact duplicate of {where} (same class and box): delete this copy, it counts "
                           "the object twice", {"action": "delete_instance", "safe": True, "duplicate_of": a}))
        else:
            out.append(_at(ds, rec, b, inst, Severity.WARNING, "duplicate",
                           f"almost the same box as {where} (IoU {iou:.2f}, same class): probably the "
                           "same object labeled twice; delete one",
                           {"action": "delete_instance", "safe": False, "duplicate_of": a}))
    return out


# Up to this many instances a plain pairwise loop beats setting up numpy arrays.
_PAIRWISE_LOOP_MAX = 12


def _overlapping_pairs(instances: list[Instance], boxes: list[list[float]]) -> list[tuple[int, int, float]]:
    """``(a, b, iou)`` with ``a < b`` for same-class pairs overlapping more than NEAR_DUPLICATE_IOU."""
    n = len(instances)
    if n < 2:
        return []
    if n > _PAIRWISE_LOOP_MAX:
        classes = np.array([inst.class_id for inst in instances])
        boxes_array = np.array(boxes)
        iou = box_iou(boxes_array, boxes_array)
        same = (classes[:, None] == classes[None, :]) & (iou > NEAR_DUPLICATE_IOU)
        return [(int(a), int(b), float(iou[a, b])) for a, b in zip(*np.nonzero(np.triu(same, k=1)), strict=True)]
    out = []
    for a in range(n):
        ca, (ax1, ay1, ax2, ay2) = instances[a].class_id, boxes[a]
        area_a = max(ax2 - ax1, 0.0) * max(ay2 - ay1, 0.0)
        for b in range(a + 1, n):
            if instances[b].class_id != ca:
                continue
            bx1, by1, bx2, by2 = boxes[b]
            inter = max(min(ax2, bx2) - max(ax1, bx1), 0.0) * max(min(ay2, by2) - max(ay1, by1), 0.0)
            union = area_a + max(bx2 - bx1, 0.0) * max(by2 - by1, 0.0) - inter
            if union > 0 and inter / union > NEAR_DUPLICATE_IOU:
                out.append((a, b, inter / union))
    return out

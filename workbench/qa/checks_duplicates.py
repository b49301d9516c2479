"""Duplicate boxes in one image: exact copies and same-class boxes overlapping almost entirely.

Done without an n x n IoU matrix (a label file can hold 100k boxes), by grouping
identical boxes and comparing only boxes of similar size in nearby grid cells.
"""

from __future__ import annotations

import math

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import DeleteInstance
from workbench.formats.base import record_finding
from workbench.qa.instance_finding import finding_at

# Overlap at which two same-class boxes are almost certainly the same object twice.
NEAR_DUPLICATE_IOU = 0.95


def check_duplicates(ds: Dataset, rec: ImageRecord, boxes: list[list[float]]) -> list[Finding]:
    out: list[Finding] = []
    pairs, complete = _overlapping_pairs(rec.instances, boxes)
    for a, b, iou in pairs[:MAX_DUPLICATE_FINDINGS]:
        first, inst = rec.instances[a], rec.instances[b]
        where = f"line {first.source.line}" if first.source.line is not None else f"instance {a}"
        exact = inst.same_as(first)
        message = (
            f"exact duplicate of {where} (same class and box): delete this copy, it counts the object twice"
            if exact
            else f"almost the same box as {where} (IoU {iou:.2f}, same class): probably the "
            "same object labeled twice; delete one"
        )
        fix = DeleteInstance(b, safe=exact, duplicate_of=a)
        out.append(finding_at(ds, rec, b, inst, Severity.WARNING, "duplicate", message, fix))
    if len(pairs) > MAX_DUPLICATE_FINDINGS:
        more = len(pairs) - MAX_DUPLICATE_FINDINGS
        out.append(
            record_finding(
                ds,
                rec,
                Severity.WARNING,
                "duplicate",
                f"and {more} more duplicate boxes in this file (only the first {MAX_DUPLICATE_FINDINGS} are "
                "listed): the file repeats boxes wholesale; regenerate it or remove the copies",
            )
        )
    if not complete:
        out.append(
            record_finding(
                ds,
                rec,
                Severity.WARNING,
                "duplicate_check_incomplete",
                f"{len(rec.instances)} boxes crowd the same places so densely that only exact duplicates were "
                "looked for (near duplicates were not): check how this label file was made",
            )
        )
    return out


# Up to this many instances a plain pairwise loop beats setting up numpy arrays.
_PAIRWISE_LOOP_MAX = 12
# Duplicate findings listed per image; the rest are counted in one "and N more" finding,
# so a file of 100k copies of one box gives a readable report, not 100k lines.
MAX_DUPLICATE_FINDINGS = 100
# Box pairs that may be compared for near duplicates in one image. Realistic files
# (even 100k boxes) need a few per box; only boxes piled on top of each other by the
# thousand get near it, and then the check falls back to exact duplicates.
MAX_CANDIDATE_PAIRS = 20_000_000
_PAIR_CHUNK = 1_000_000
# Size bins and grid cells a little coarser than the bound needs, so float rounding in
# log() and the division cannot push two near duplicates two bins or cells apart.
_BIN = math.log(1.0 / NEAR_DUPLICATE_IOU) * 1.01
_CELL = (1.0 - NEAR_DUPLICATE_IOU) * 1.02
_CELL_LIMIT = float(2**50)


def _overlapping_pairs(
    instances: list[Instance], boxes: list[list[float]]
) -> tuple[list[tuple[int, int, float]], bool]:
    """``(a, b, iou)`` for each box ``b`` that overlaps an earlier same-class box more than
    NEAR_DUPLICATE_IOU, ``a`` the earliest such box, sorted by ``b``; and whether the
    search was complete (False: only exact copies were looked for, see MAX_CANDIDATE_PAIRS).
    """
    n = len(instances)
    if n < 2:
        return [], True
    if n > _PAIRWISE_LOOP_MAX:
        return _grid_pairs(
            np.array([inst.class_id for inst in instances], dtype=np.int64),
            np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
        )
    out = []
    flagged: set[int] = set()
    for a in range(n):
        ca, (ax1, ay1, ax2, ay2) = instances[a].class_id, boxes[a]
        area_a = max(ax2 - ax1, 0.0) * max(ay2 - ay1, 0.0)
        for b in range(a + 1, n):
            if b in flagged or instances[b].class_id != ca:
                continue
            bx1, by1, bx2, by2 = boxes[b]
            inter = max(min(ax2, bx2) - max(ax1, bx1), 0.0) * max(min(ay2, by2) - max(ay1, by1), 0.0)
            union = area_a + max(bx2 - bx1, 0.0) * max(by2 - by1, 0.0) - inter
            if union > 0 and inter / union > NEAR_DUPLICATE_IOU:
                out.append((a, b, inter / union))
                flagged.add(b)
    out.sort(key=lambda p: p[1])
    return out, True


def _grid_pairs(classes: np.ndarray, boxes: np.ndarray) -> tuple[list[tuple[int, int, float]], bool]:
    """``_overlapping_pairs`` for many boxes, in about O(n log n) time and O(n) memory.

    Comparing every pair (an n x n IoU matrix) needs 8 GB for 10,000 boxes. Instead:

    - identical boxes (same class and coordinates) are grouped first, so 100k copies of
      one box are one group; a copy's earliest match is its group's first box or an
      earlier box near-duplicating the group;
    - IoU > t forces widths (and heights) within a factor t of each other and the left
      (top) edges within (1 - t) * the larger width (height): groups are binned by log
      width and height and gridded by x1, y1 with cells of that size per bin, and a group
      is compared only with the groups in the neighbouring bins and cells.

    Hash collisions of cell keys only add comparisons; the exact IoU decides, with the
    same formula as ``box_iou``, so the result is that of the full matrix.
    """
    finite = np.isfinite(boxes).all(axis=1)
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    # A box without area overlaps nothing (IoU 0), not even its own copy.
    usable = np.flatnonzero(finite & (w > 0) & (h > 0))
    if len(usable) < 2:
        return [], True
    rows = np.column_stack([classes[usable].astype(np.float64), boxes[usable]])
    uniq, first_pos, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    inverse = inverse.reshape(-1)
    first = usable[first_pos]  # each group's earliest instance index (np.unique keeps the first)
    m = len(uniq)
    partner = np.full(m, np.iinfo(np.int64).max, dtype=np.int64)  # earliest first index of a near-duplicate group
    partner_iou = np.zeros(m)
    complete = True
    if m > 1:
        complete = _near_groups(uniq, first, partner, partner_iou)
    out: list[tuple[int, int, float]] = []
    for pos, g in zip(usable.tolist(), inverse.tolist(), strict=True):
        own = int(first[g])
        cand = own if own < pos else None
        p = int(partner[g])
        if p < pos and (cand is None or p < cand):
            out.append((p, pos, float(partner_iou[g])))
        elif cand is not None:
            out.append((cand, pos, 1.0))
    return out, complete


def _near_groups(uniq: np.ndarray, first: np.ndarray, partner: np.ndarray, partner_iou: np.ndarray) -> bool:
    """Fill ``partner``/``partner_iou`` of each distinct box with its earliest near-duplicate group.

    False when the boxes are too crowded to compare within MAX_CANDIDATE_PAIRS.
    """
    with np.errstate(all="ignore"):  # absurd sizes (1e-300 px) only make the cells meaningless
        return _near_groups_unchecked(uniq, first, partner, partner_iou)


def _near_groups_unchecked(uniq: np.ndarray, first: np.ndarray, partner: np.ndarray, partner_iou: np.ndarray) -> bool:
    cls = uniq[:, 0].astype(np.int64)
    x1, y1, x2, y2 = uniq[:, 1], uniq[:, 2], uniq[:, 3], uniq[:, 4]
    bw = np.floor(np.log(x2 - x1) / _BIN).astype(np.int64)
    bh = np.floor(np.log(y2 - y1) / _BIN).astype(np.int64)

    def cells(coord: np.ndarray, b: np.ndarray) -> np.ndarray:
        # The widest box of bin b and b +- 1 is under exp((b + 2) * _BIN).
        size = _CELL * np.exp((b + 2) * _BIN)
        return np.floor(np.clip(coord / size, -_CELL_LIMIT, _CELL_LIMIT)).astype(np.int64)

    own = _cell_key(cls, bw, bh, cells(x1, bw), cells(y1, bh))
    order = np.argsort(own, kind="stable")
    keys = own[order]
    spans: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    total = 0
    for dw in (-1, 0, 1):
        qw = bw + dw
        cx = cells(x1, qw)
        for dh in (-1, 0, 1):
            qh = bh + dh
            cy = cells(y1, qh)
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    q = _cell_key(cls, qw, qh, cx + dx, cy + dy)
                    lo = np.searchsorted(keys, q, side="left")
                    hi = np.searchsorted(keys, q, side="right")
                    hit = np.flatnonzero(hi > lo)
                    if len(hit):
                        spans.append((hit, lo[hit], hi[hit]))
                        total += int((hi[hit] - lo[hit]).sum())
                        if total > MAX_CANDIDATE_PAIRS:
                            return False
    for hit, lo, hi in spans:
        counts = hi - lo
        start = 0
        while start < len(hit):
            # Enough queries for about _PAIR_CHUNK candidate pairs at a time.
            csum = np.cumsum(counts[start:])
            stop = start + max(1, int(np.searchsorted(csum, _PAIR_CHUNK, side="right")))
            _compare(uniq, first, order, hit[start:stop], lo[start:stop], counts[start:stop], partner, partner_iou)
            start = stop
    return True


def _compare(
    uniq: np.ndarray,
    first: np.ndarray,
    order: np.ndarray,
    qi: np.ndarray,
    lo: np.ndarray,
    counts: np.ndarray,
    partner: np.ndarray,
    partner_iou: np.ndarray,
) -> None:
    """Exact IoU of query groups ``qi`` with the groups in their key spans; keep the earliest match."""
    i = np.repeat(qi, counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    j = order[np.repeat(lo, counts) + offsets]
    keep = (i != j) & (uniq[i, 0] == uniq[j, 0])
    i, j = i[keep], j[keep]
    a, b = uniq[i, 1:], uniq[j, 1:]
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    wh = np.clip(np.minimum(a[:, 2:], b[:, 2:]) - np.maximum(a[:, :2], b[:, :2]), 0, None)
    inter = wh[:, 0] * wh[:, 1]
    union = area_a + area_b - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    near = iou > NEAR_DUPLICATE_IOU
    i, j, iou = i[near], j[near], iou[near]
    if not len(i):
        return
    # Per query group, the match whose group starts earliest (ties cannot happen: groups
    # have distinct first indices).
    fj = first[j]
    sel = np.lexsort((fj, i))
    i, fj, iou = i[sel], fj[sel], iou[sel]
    head = np.r_[True, i[1:] != i[:-1]]
    i, fj, iou = i[head], fj[head], iou[head]
    better = fj < partner[i]
    partner[i[better]] = fj[better]
    partner_iou[i[better]] = iou[better]


def _cell_key(cls: np.ndarray, bw: np.ndarray, bh: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """One int64 per (class, size bins, cell): a hash, wrapping on overflow; a collision only adds comparisons."""
    with np.errstate(over="ignore"):
        key = cls.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        for part, mult in (
            (bw, 0xBF58476D1CE4E5B9),
            (bh, 0x94D049BB133111EB),
            (cx, 0xD6E8FEB86659FD93),
            (cy, 0xA0761D6478BD642F),
        ):
            key = (key ^ part.astype(np.uint64)) * np.uint64(mult)
            key ^= key >> np.uint64(29)
    return key.view(np.int64)

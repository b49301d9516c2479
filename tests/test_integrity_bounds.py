"""Validation memory and time bounded by the data, not by the worst input; small parsing defects."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.qa import checks_image
from workbench.qa.checks_image import NEAR_DUPLICATE_IOU, _overlapping_pairs, check_instances
from workbench.qa.qc_geometry import box_iou


def reference_pairs(classes: list[int], boxes: list[list[float]]) -> list[tuple[int, int, float]]:
    """The full n x n IoU matrix, as the duplicate check was before: the results to match."""
    c = np.array(classes)
    iou = box_iou(np.array(boxes, dtype=np.float64), np.array(boxes, dtype=np.float64))
    same = (c[:, None] == c[None, :]) & (iou > NEAR_DUPLICATE_IOU)
    out: dict[int, tuple[int, int, float]] = {}
    for a, b in zip(*np.nonzero(np.triu(same, k=1)), strict=True):
        out.setdefault(int(b), (int(a), int(b), float(iou[a, b])))
    return [out[b] for b in sorted(out)]


def pairs_of(classes: list[int], boxes: list[list[float]]) -> list[tuple[int, int, float]]:
    insts = [Instance(c, np.array(b, dtype=np.float64)) for c, b in zip(classes, boxes, strict=True)]
    pairs, complete = _overlapping_pairs(insts, boxes)
    assert complete
    return pairs


def clustered_boxes(rng: np.random.Generator, n: int) -> tuple[list[int], list[list[float]]]:
    """Boxes in a few clusters, with exact copies and near copies (jittered by 0..3%), two classes."""
    base = []
    for _ in range(max(1, n // 4)):
        x, y = rng.uniform(-20, 600, 2)
        w, h = rng.uniform(0.01, 200, 2) if rng.random() < 0.2 else rng.uniform(5, 80, 2)
        base.append([x, y, x + w, y + h])
    classes, boxes = [], []
    for _ in range(n):
        b = list(base[rng.integers(len(base))])
        r = rng.random()
        if r < 0.4:
            w, h = b[2] - b[0], b[3] - b[1]
            b = [v + rng.uniform(-0.03, 0.03) * s for v, s in zip(b, (w, h, w, h), strict=True)]
        elif r < 0.45:
            b = [b[0], b[1], b[0], b[3]]  # no area: never a duplicate
        classes.append(int(rng.integers(2)))
        boxes.append(b)
    return classes, boxes


@pytest.mark.parametrize("seed", range(40))
def test_duplicate_pairs_equal_the_full_matrix(seed):
    rng = np.random.default_rng(seed)
    classes, boxes = clustered_boxes(rng, int(rng.integers(13, 300)))
    assert pairs_of(classes, boxes) == reference_pairs(classes, boxes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 6), st.integers(0, 6), st.integers(1, 4),
                          st.integers(1, 4), st.sampled_from([1.0, 20.0, 21.0, 40.0])), min_size=13, max_size=60))
def test_duplicate_pairs_equal_the_full_matrix_on_lattice_boxes(rows):
    # Small integer lattices make many exact ties and IoUs right at the threshold (20/21 > 0.95).
    classes = [r[0] for r in rows]
    boxes = [[r[1] * r[5], r[2] * 1.0, r[1] * r[5] + r[3] * r[5], r[2] + r[4] * 1.0] for r in rows]
    assert pairs_of(classes, boxes) == reference_pairs(classes, boxes)


def test_small_files_use_the_pairwise_loop_with_the_same_result():
    rng = np.random.default_rng(7)
    for _ in range(50):
        classes, boxes = clustered_boxes(rng, int(rng.integers(2, 13)))
        assert pairs_of(classes, boxes) == reference_pairs(classes, boxes)


def _record(classes: np.ndarray, boxes: np.ndarray) -> tuple[Dataset, ImageRecord]:
    ds = Dataset(root=__import__("pathlib").Path("."), classes=["a", "b"], format="yolo")
    rec = ImageRecord(path=__import__("pathlib").Path("a.jpg"), width=100_000, height=100_000)
    rec.instances = [Instance(int(c), b) for c, b in zip(classes, boxes, strict=True)]
    return ds, rec


def test_100k_random_boxes_are_checked_in_seconds():
    rng = np.random.default_rng(0)
    n = 100_000
    xy = rng.uniform(0, 99_000, (n, 2))
    wh = rng.uniform(5, 500, (n, 2))
    boxes = np.hstack([xy, xy + wh])
    boxes[:10] = boxes[10:20]  # ten exact copies
    start = time.perf_counter()
    ds, rec = _record(rng.integers(0, 2, n) * 0, boxes)
    dups = [f for f in check_instances(ds, rec) if f.kind == "duplicate"]
    assert time.perf_counter() - start < 20
    assert {f.instance for f in dups} == set(range(10, 20))


def test_100k_identical_boxes_give_a_bounded_report():
    n = 100_000
    boxes = np.tile([10.0, 10.0, 50.0, 60.0], (n, 1))
    ds, rec = _record(np.zeros(n, dtype=int), boxes)
    start = time.perf_counter()
    found = check_instances(ds, rec)
    assert time.perf_counter() - start < 20
    dups = [f for f in found if f.kind == "duplicate"]
    assert len(dups) == checks_image.MAX_DUPLICATE_FINDINGS + 1
    assert all(f.fix and f.fix["duplicate_of"] == 0 for f in dups[:-1])
    assert f"and {n - 1 - checks_image.MAX_DUPLICATE_FINDINGS} more duplicate boxes" in dups[-1].message


def test_boxes_piled_up_beyond_the_budget_fall_back_to_exact_copies(monkeypatch):
    monkeypatch.setattr(checks_image, "MAX_CANDIDATE_PAIRS", 1000)
    rng = np.random.default_rng(3)
    n = 2000
    boxes = np.array([10.0, 10.0, 50.0, 60.0]) + rng.uniform(0, 0.01, (n, 4))  # all near-duplicates
    boxes[1] = boxes[0]
    ds, rec = _record(np.zeros(n, dtype=int), boxes)
    found = check_instances(ds, rec)
    assert [f.instance for f in found if f.kind == "duplicate"] == [1]
    assert [f.kind for f in found if f.kind == "duplicate_check_incomplete"] == ["duplicate_check_incomplete"]

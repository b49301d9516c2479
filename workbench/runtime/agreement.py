"""Do two runs of one model agree? The check every export passes before its file is kept.

A detection of one run must have a partner in the other: same class, box IoU at least
``min_iou``, score within ``score_tol``. Only detections clear of the edges need one: a
score within ``score_tol`` of the threshold may fall on either side of it, and when a run
returns its maximum number of detections, the ones near its weakest may be cut in one run
and kept in the other. Both directions are checked, so a run with extra detections fails
as surely as one with missing ones.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workbench.core.prediction import Prediction

MIN_IOU = 0.99
SCORE_TOL = 1e-3
KEYPOINT_TOL_PX = 1.0
TIE = 1e-5


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of one box against each row of ``b`` (xyxy)."""
    if len(b) == 0:
        return np.zeros(0)
    x1 = np.maximum(a[0], b[:, 0])
    y1 = np.maximum(a[1], b[:, 1])
    x2 = np.minimum(a[2], b[:, 2])
    y2 = np.minimum(a[3], b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = max(0.0, (a[2] - a[0])) * max(0.0, (a[3] - a[1]))
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    union = area_a + area_b - inter
    # Two degenerate (zero-area) boxes at the same place are the same box.
    same = np.all(np.abs(b - a) < 1e-6, axis=1)
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), same.astype(float))


def _floor(preds: Sequence[Prediction], threshold: float, cap: int | None) -> float:
    if cap is not None and len(preds) >= cap and preds:
        return max(threshold, min(p.score for p in preds))
    return threshold


def _unmatched(
    a: Sequence[Prediction],
    b: Sequence[Prediction],
    need_above: float,
    min_iou: float,
    score_tol: float,
    a_name: str,
    b_name: str,
) -> list[str]:
    problems: list[str] = []
    boxes_b = np.array([p.box for p in b], dtype=np.float64).reshape(-1, 4)
    labels_b = np.array([p.class_id for p in b], dtype=np.int64)
    scores_b = np.array([p.score for p in b], dtype=np.float64)
    scores_a = np.array([p.score for p in a], dtype=np.float64)
    labels_a = np.array([p.class_id for p in a], dtype=np.int64)
    for i, p in enumerate(a):
        if p.score < need_above + score_tol:
            continue
        ties = int(np.sum((labels_a == p.class_id) & (np.abs(scores_a - p.score) < TIE))) - 1
        tie_note = (
            f"; its score ties {ties} other detection(s) of its class, and NMS may keep any of tied boxes "
            "(near-equal scores are what an untrained model gives)"
            if ties
            else ""
        )
        ious = box_iou(p.box, boxes_b) * (labels_b == p.class_id)
        ok = (ious >= min_iou) & (np.abs(scores_b - p.score) <= score_tol)
        if ok.any():
            if p.keypoints is not None:
                j = int(np.flatnonzero(ok)[np.argmax(ious[ok])])
                kb = b[j].keypoints
                if kb is None or kb.shape != p.keypoints.shape:
                    problems.append(f"{a_name} detection {i} has keypoints, {b_name}'s has none")
                else:
                    d = float(np.abs(kb[:, :2] - p.keypoints[:, :2]).max())
                    if d > KEYPOINT_TOL_PX:
                        problems.append(f"{a_name} detection {i}: keypoints {d:.2f} px apart in {b_name}")
            continue
        best = int(np.argmax(ious)) if len(ious) else -1
        if best < 0 or ious[best] == 0:
            problems.append(
                f"{a_name} detection {i} (class {p.class_id}, score {p.score:.4f}) has no counterpart "
                f"in {b_name}{tie_note}"
            )
        else:
            problems.append(
                f"{a_name} detection {i} (class {p.class_id}, score {p.score:.4f}): best {b_name} match has IoU "
                f"{ious[best]:.4f} (need {min_iou}) and score {scores_b[best]:.4f} (tolerance {score_tol:g}){tie_note}"
            )
    return problems


def compare_detections(
    reference: Sequence[Prediction],
    candidate: Sequence[Prediction],
    threshold: float,
    cap: int | None = None,
    min_iou: float = MIN_IOU,
    score_tol: float = SCORE_TOL,
    names: tuple[str, str] = ("PyTorch", "ONNX"),
) -> list[str]:
    """Why ``candidate`` does not reproduce ``reference`` (empty when it does).

    ``threshold`` is the score below which neither run reports anything; ``cap`` the most
    detections a run returns (torchvision's ``detections_per_img``).
    """
    floor = max(_floor(reference, threshold, cap), _floor(candidate, threshold, cap))
    ref_name, cand_name = names
    problems = _unmatched(reference, candidate, floor, min_iou, score_tol, ref_name, cand_name)
    problems += _unmatched(candidate, reference, floor, min_iou, score_tol, cand_name, ref_name)
    n_ref = sum(p.score >= floor + score_tol for p in reference)
    n_cand = sum(p.score >= floor + score_tol for p in candidate)
    if problems and n_ref != n_cand:
        problems.insert(0, f"{n_ref} {ref_name} against {n_cand} {cand_name} detections above score {floor:.3f}")
    return problems

"""COCO bbox AP and keypoint OKS AP, computed by pycocotools' COCOeval built in memory.

Ground truth comes from the records (via ``record_arrays``, so training and evaluation see
the same boxes), detections from ``Prediction`` lists. Nothing is re-implemented: the
numbers are pycocotools' own. Category ids are ``class_id + 1`` and image ids are
1-based positions, an internal detail of the evaluation.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from workbench.core.annotation import ImageRecord
from workbench.core.arrays import record_arrays
from workbench.core.keypoints import KeypointSchema
from workbench.core.prediction import Prediction

# The metric names every consumer uses (events, results.csv, console, plots, k-fold): one spelling.
MAP50_95 = "mAP50-95"
MAP50 = "mAP50"
KPT_AP = "kpt_AP"
BBOX_KEYS = (MAP50_95, MAP50, "mAP75", "mAP_small", "mAP_medium", "mAP_large")
KPT_KEYS = (KPT_AP, "kpt_AP50", "kpt_AP75")


def fitness_key(keypoints: bool) -> str:
    """The metric best.pt is chosen by: keypoint OKS AP for keypoint models (boxes are the easy
    part of their task), else box mAP50-95."""
    return KPT_AP if keypoints else MAP50_95


def coco_ground_truth(
    records: Sequence[ImageRecord], classes: Sequence[str], schema: KeypointSchema | None
) -> dict[str, Any]:
    """A COCO-format ground-truth dict for ``records`` (keypoint fields when ``schema``)."""
    k = schema.num_keypoints if schema else None
    images, annotations = [], []
    for i, rec in enumerate(records, start=1):
        arrays = record_arrays(rec, num_keypoints=k, num_classes=len(classes))
        images.append({"id": i, "width": rec.width or 0, "height": rec.height or 0, "file_name": str(rec.path)})
        crowd = [rec.instances[j].iscrowd for j in arrays.kept]
        for row in range(len(arrays.boxes)):
            x1, y1, x2, y2 = (float(v) for v in arrays.boxes[row])
            ann: dict[str, Any] = {
                "id": len(annotations) + 1,
                "image_id": i,
                "category_id": int(arrays.classes[row]) + 1,
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "area": (x2 - x1) * (y2 - y1),
                "iscrowd": int(crowd[row]),
            }
            if arrays.keypoints is not None:
                kp = arrays.keypoints[row].astype(np.float64).copy()
                kp[kp[:, 2] <= 0] = 0.0
                ann["keypoints"] = [float(v) for v in kp.reshape(-1)]
                ann["num_keypoints"] = int((kp[:, 2] > 0).sum())
            annotations.append(ann)
    categories = [{"id": c + 1, "name": str(n)} for c, n in enumerate(classes)]
    if schema is not None:
        for cat in categories:
            cat["keypoints"] = list(schema.names)
            cat["skeleton"] = [[a + 1, b + 1] for a, b in schema.skeleton]
    return {"images": images, "annotations": annotations, "categories": categories}


def coco_detections(predictions: Sequence[Sequence[Prediction]], with_keypoints: bool) -> list[dict[str, Any]]:
    """COCO results entries; ``predictions[i]`` belongs to image id ``i + 1``."""
    out = []
    for i, preds in enumerate(predictions, start=1):
        for p in preds:
            x1, y1, x2, y2 = (float(v) for v in p.box)
            det: dict[str, Any] = {
                "image_id": i,
                "category_id": int(p.class_id) + 1,
                "bbox": [x1, y1, x2 - x1, y2 - y1],
                "score": float(p.score),
            }
            if with_keypoints and p.keypoints is not None:
                kp = np.asarray(p.keypoints, dtype=np.float64).copy()
                kp[:, 2] = 1.0  # COCO results carry a score slot per point; OKS ignores it
                det["keypoints"] = [float(v) for v in kp.reshape(-1)]
            out.append(det)
    return out


def _run_cocoeval(
    gt: dict[str, Any], dets: list[dict[str, Any]], iou_type: str, sigmas: Sequence[float] | None = None
) -> Any:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(dets) if dets else COCO()
        ev = COCOeval(coco_gt, coco_dt, iou_type)
        if sigmas is not None:
            ev.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def per_class_ap(ev: Any) -> list[float]:
    """AP@[.5:.95] of each category (area all, most detections), -1 where it has no ground truth."""
    precision = ev.eval["precision"]  # [T, R, K, A, M]
    out = []
    for k in range(precision.shape[2]):
        p = precision[:, :, k, 0, -1]
        p = p[p > -1]
        out.append(float(p.mean()) if p.size else -1.0)
    return out


def evaluate(
    records: Sequence[ImageRecord],
    predictions: Sequence[Sequence[Prediction]],
    classes: Sequence[str],
    schema: KeypointSchema | None = None,
) -> dict[str, Any]:
    """bbox mAP50-95 / mAP50 / mAP75 (+ per-class AP) and, with ``schema``, keypoint OKS AP.

    Returns plain floats: ``metrics`` keys from BBOX_KEYS and KPT_KEYS, and ``per_class``
    (class name -> AP, -1 for a class with no ground truth). With no ground truth at all the
    numbers are -1 as pycocotools reports them.
    """
    gt = coco_ground_truth(records, classes, schema)
    dets = coco_detections(predictions, with_keypoints=schema is not None)
    result: dict[str, Any] = {"metrics": {}, "per_class": {}}
    if not gt["annotations"]:
        result["metrics"] = {k: -1.0 for k in BBOX_KEYS + (KPT_KEYS if schema else ())}
        return result
    if not dets:
        result["metrics"] = {k: 0.0 for k in BBOX_KEYS + (KPT_KEYS if schema else ())}
        result["per_class"] = {str(c): 0.0 for c in classes}
        return result
    ev = _run_cocoeval(gt, dets, "bbox")
    result["metrics"].update({k: float(v) for k, v in zip(BBOX_KEYS, ev.stats[[0, 1, 2, 3, 4, 5]], strict=True)})
    result["per_class"] = {str(c): ap for c, ap in zip(classes, per_class_ap(ev), strict=True)}
    if schema is not None:
        kev = _run_cocoeval(gt, dets, "keypoints", schema.sigmas)
        result["metrics"].update({k: float(v) for k, v in zip(KPT_KEYS, kev.stats[[0, 1, 2]], strict=True)})
    return result

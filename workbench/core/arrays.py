"""A record's labels as arrays, the shape detectors and metrics consume.

This is the one place the 'YOLO -> unnormalized xyxy, drop boxes with no area'
conversion lives (the crash torchvision's Faster R-CNN users hit on zero-width
boxes), so the training pipeline and exporters cannot disagree about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from workbench.core.annotation import ImageRecord

MIN_BOX_SIDE = 1e-3  # pixels


def clip_box(box: np.ndarray | Sequence[float], width: float | None, height: float | None) -> np.ndarray:
    """A copy of xyxy ``box`` clipped to a ``width`` x ``height`` image (unchanged when the size is unknown).

    The one clipping rule for every caller (a fix, a paste, the training arrays): what
    lies outside the image was never drawn on its pixels.
    """
    b = np.array(box, dtype=np.float64).reshape(4)
    if width is not None and height is not None:
        np.clip(b, 0, [width, height, width, height], out=b)
    return b


@dataclass
class LabelArrays:
    boxes: np.ndarray  # (N, 4) float32 xyxy pixels
    classes: np.ndarray  # (N,) int64
    keypoints: np.ndarray | None  # (N, K, 3) float32, or None for a box-only dataset
    kept: np.ndarray  # (N,) int64: index of each row in rec.instances


def record_arrays(
    rec: ImageRecord,
    num_keypoints: int | None = None,
    drop_degenerate: bool = True,
    clip: bool = True,
    skip_crowd: bool = False,
    num_classes: int | None = None,
) -> LabelArrays:
    """Boxes (clipped to the image), class ids and keypoints of one record.

    With ``drop_degenerate`` boxes whose width or height is not positive after
    clipping are left out; with ``num_classes`` so are class ids outside ``0..num_classes-1``
    (a model with that many outputs would index past its head); ``kept`` says which
    instances made it.
    """
    rec.ensure_loaded()
    w, h = rec.width, rec.height
    boxes, classes, kps, kept = [], [], [], []
    for i, inst in enumerate(rec.instances):
        if skip_crowd and inst.iscrowd:
            continue
        if num_classes is not None and not 0 <= inst.class_id < num_classes:
            continue
        box = clip_box(inst.box, w, h) if clip else inst.box.copy()
        if drop_degenerate and (box[2] - box[0] < MIN_BOX_SIDE or box[3] - box[1] < MIN_BOX_SIDE):
            continue
        boxes.append(box)
        classes.append(inst.class_id)
        kept.append(i)
        if num_keypoints is not None:
            k = np.zeros((num_keypoints, 3))
            if inst.keypoints is not None:
                n = min(num_keypoints, len(inst.keypoints))
                k[:n] = inst.keypoints[:n]
            kps.append(k)
    n = len(boxes)
    return LabelArrays(
        boxes=np.asarray(boxes, dtype=np.float32).reshape(n, 4),
        classes=np.asarray(classes, dtype=np.int64).reshape(n),
        keypoints=None if num_keypoints is None else np.asarray(kps, dtype=np.float32).reshape(n, num_keypoints, 3),
        kept=np.asarray(kept, dtype=np.int64).reshape(n),
    )

"""Tiny generated YOLO datasets for the training tests: bright rectangles on dark noise.

Small enough that a detector overfits them in seconds on a CPU; the keypoint variant puts
points at the top-left, top-right and center of each rectangle (flip_idx swaps the two
top corners), so a flip that forgets to swap is visible in the labels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

COLORS = [(255, 255, 255), (40, 220, 255)]  # BGR per class


def write_rect_dataset(
    root: Path,
    n_train: int = 6,
    n_val: int = 2,
    size: int = 96,
    keypoints: bool = False,
    classes: tuple[str, ...] = ("box", "bar"),
    seed: int = 0,
    max_objects: int = 2,
    val_is_train: bool = False,
) -> Path:
    """A YOLO (or YOLO pose) dataset under ``root``; returns its data.yaml path.

    ``val_is_train`` validates on the training images: what an overfitting test measures.
    """
    rng = np.random.default_rng(seed)
    for split, count in (("train", n_train), ("val", n_val)):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            img = rng.integers(0, 40, (size, size, 3), dtype=np.uint8)
            lines = []
            for _ in range(int(rng.integers(1, max_objects + 1))):
                c = int(rng.integers(0, len(classes)))
                w, h = (
                    (int(rng.integers(24, 40)), int(rng.integers(24, 40)))
                    if c == 0
                    else (int(rng.integers(36, 48)), int(rng.integers(12, 18)))
                )
                x1, y1 = int(rng.integers(2, size - w - 2)), int(rng.integers(2, size - h - 2))
                cv2.rectangle(img, (x1, y1), (x1 + w, y1 + h), COLORS[c % len(COLORS)], -1)
                line = f"{c} {(x1 + w / 2) / size:.6f} {(y1 + h / 2) / size:.6f} {w / size:.6f} {h / size:.6f}"
                if keypoints:
                    pts = [(x1, y1), (x1 + w, y1), (x1 + w / 2, y1 + h / 2)]
                    line += "".join(f" {x / size:.6f} {y / size:.6f} 2" for x, y in pts)
                lines.append(line)
            cv2.imwrite(str(root / "images" / split / f"{split}{i}.png"), img)
            (root / "labels" / split / f"{split}{i}.txt").write_text("\n".join(lines) + "\n")
    names = "".join(f"  {i}: {n}\n" for i, n in enumerate(classes))
    extra = "kpt_shape: [3, 3]\nflip_idx: [1, 0, 2]\n" if keypoints else ""
    yaml_path = root / "data.yaml"
    val = "images/train" if val_is_train else "images/val"
    yaml_path.write_text(f"path: {root}\ntrain: images/train\nval: {val}\n{extra}names:\n{names}")
    return yaml_path


# Keeps a from-scratch Faster R-CNN cheap on a CPU: fewer sampled RoIs and proposals.
LIGHT = {
    "box_batch_size_per_image": 32,
    "rpn_batch_size_per_image": 64,
    "rpn_pre_nms_top_n_train": 300,
    "rpn_post_nms_top_n_train": 300,
    "rpn_pre_nms_top_n_test": 300,
    "rpn_post_nms_top_n_test": 100,
}


def light_config(data: Path, out: Path, **overrides: Any) -> Any:
    """A TrainConfig for the training tests: from scratch, 64 px, batch 2, AdamW, the LIGHT
    model options, on the CPU in this process; ``overrides`` set what a test is about."""
    from workbench.train.config import TrainConfig

    base: dict[str, Any] = dict(
        data=str(data),
        epochs=1,
        imgsz=64,
        batch=2,
        weights="none",
        out=str(out),
        workers=0,
        optimizer="adamw",
        lr=0.001,
        model_options=dict(LIGHT),
        frozen_bn=True,
        device="cpu",
    )
    base.update(overrides)
    return TrainConfig(**base)

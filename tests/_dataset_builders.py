"""Tiny datasets written on the fly, in each on-disk format, for the format tests.

Images are small blank PNGs (the readers only look at headers); labels are written
by hand here, not by the writers under test, so a reader bug and a writer bug
cannot cancel each other out.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np


def write_image(path: Path, width: int = 64, height: int = 48) -> Path:
    """A black image; encoded in memory, so any file name works (``cv2.imwrite`` crashes on some)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(path.suffix or ".png", np.zeros((height, width, 3), dtype=np.uint8))
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def _write_pairs(root: Path, labels: dict[str, dict[str, str]], suffix: str, size: tuple[int, int]) -> None:
    """An image and its label file per ``labels[split][stem]``, laid out images/ beside labels/."""
    for split, files in labels.items():
        for stem, text in files.items():
            write_image(root / "images" / split / f"{stem}{suffix}", *size)
            label = root / "labels" / split / f"{stem}.txt"
            label.parent.mkdir(parents=True, exist_ok=True)
            label.write_text(text)


def yolo_det(
    root: Path, classes: list[str], labels: dict[str, dict[str, str]], size: tuple[int, int] = (64, 48)
) -> Path:
    """``labels[split][stem] = label text``; returns the data.yaml."""
    _write_pairs(root, labels, ".png", size)
    yaml = root / "data.yaml"
    lines = (
        [f"{split}: images/{split}" for split in labels] + ["names:"] + [f"  {i}: {n}" for i, n in enumerate(classes)]
    )
    yaml.write_text("\n".join(lines) + "\n")
    return yaml


def yolo_face(root: Path, size: tuple[int, int] = (80, 60)) -> Path:
    """A yolov5-face style dataset: widerface.yaml-like config (train, val, nc, names), 15-column lines."""
    labels = {
        "train": {
            "a": "0 0.5 0.5 0.4 0.5 0.4 0.4 0.6 0.4 0.5 0.5 0.42 0.6 0.58 0.6\n"
            "0 0.2 0.2 0.1 0.1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1\n",
            "b": "0 0.3 0.6 0.2 0.3 0.25 0.55 0.35 0.55 -1 -1 0.27 0.7 0.33 0.7\n",
        },
        "val": {"c": "0 0.7 0.3 0.3 0.3 0.62 0.25 0.78 0.25 0.7 0.3 0.64 0.38 0.76 0.38\n", "d": ""},
    }
    _write_pairs(root, labels, ".jpg", size)
    yaml = root / "widerface.yaml"
    yaml.write_text("train: images/train\nval: images/val\nnc: 1\nnames: ['face']\n")
    return yaml


def coco_json(
    path: Path,
    images: list[dict],
    annotations: list[dict],
    categories: list[dict],
    image_size: tuple[int, int] = (64, 48),
    image_dir: Path | None = None,
) -> Path:
    """A COCO json; each image entry's file is written under ``image_dir`` (default: beside the json)."""
    image_dir = image_dir if image_dir is not None else path.parent
    for img in images:
        write_image(image_dir / img["file_name"], *image_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": annotations, "categories": categories}))
    return path


def voc_xml(
    filename: str, objects: list[tuple[str, tuple[float, float, float, float], int]], size: tuple[int, int] = (64, 48)
) -> str:
    """What labelImg writes: ``objects`` are (name, (xmin, ymin, xmax, ymax), difficult)."""
    parts = [
        f"<annotation>\n  <folder>images</folder>\n  <filename>{filename}</filename>\n"
        f"  <size><width>{size[0]}</width><height>{size[1]}</height><depth>3</depth></size>\n"
        "  <segmented>0</segmented>"
    ]
    for name, (x1, y1, x2, y2), difficult in objects:
        parts.append(
            f"  <object>\n    <name>{name}</name>\n    <pose>Left</pose>\n    <truncated>1</truncated>\n"
            f"    <difficult>{difficult}</difficult>\n    <bndbox><xmin>{x1}</xmin><ymin>{y1}</ymin>"
            f"<xmax>{x2}</xmax><ymax>{y2}</ymax></bndbox>\n  </object>"
        )
    return "\n".join(parts) + "\n</annotation>\n"

"""Small YOLO datasets written on the fly for the validation tests (no tests in here).

Every image is a real JPEG written once by OpenCV per size and copied, so building
a dataset costs milliseconds and the header reader sees real files.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

_JPEGS: dict[tuple[int, int], bytes] = {}


def jpeg_bytes(width: int = 64, height: int = 48) -> bytes:
    if (width, height) not in _JPEGS:
        img = np.full((height, width, 3), 127, np.uint8)
        cv2.rectangle(img, (2, 2), (width // 2, height // 2), (0, 0, 255), -1)
        ok, buf = cv2.imencode(".jpg", img)
        assert ok
        _JPEGS[(width, height)] = buf.tobytes()
    return _JPEGS[(width, height)]


def make_yolo(
    root: Path,
    labels: dict[str, str | None],
    *,
    names: list[str] | None = None,
    nc: int | None = None,
    kpt_shape: list[int] | None = None,
    sizes: dict[str, tuple[int, int]] | None = None,
    yaml_name: str = "data.yaml",
) -> Path:
    """A dataset under ``root``: one 64x48 JPEG per key of ``labels`` in images/train.

    A ``None`` label text means no label file; ``sizes`` overrides an image's size;
    returns the yaml path.
    """
    images, label_dir = root / "images" / "train", root / "labels" / "train"
    images.mkdir(parents=True, exist_ok=True)
    label_dir.mkdir(parents=True, exist_ok=True)
    sizes = sizes or {}
    for stem, text in labels.items():
        (images / f"{stem}.jpg").write_bytes(jpeg_bytes(*sizes.get(stem, (64, 48))))
        if text is not None:
            (label_dir / f"{stem}.txt").write_text(text)
    lines = ["train: images/train", "val: images/train"]
    if nc is not None:
        lines.append(f"nc: {nc}")
    lines.append(f"names: {names or ['a']}")
    if kpt_shape is not None:
        lines.append(f"kpt_shape: {kpt_shape}")
    path = root / yaml_name
    path.write_text("\n".join(lines) + "\n")
    return path


def grid_boxes(n: int, cls: int) -> list[str]:
    """``n`` YOLO lines of class ``cls`` that do not overlap each other."""
    out = []
    for i in range(n):
        cx = 0.05 + 0.1 * (i % 10)
        cy = 0.05 + 0.1 * ((i // 10) % 10)
        out.append(f"{cls} {cx:.3f} {cy:.3f} 0.08 0.08")
    return out

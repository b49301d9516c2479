"""The bundled sample dataset: small, deterministic, and deliberately a little wrong.

It is drawn rather than shipped as files so it is the same on every machine and costs
nothing in the repository: 48 images (36 train, 12 val) of three kinds of cartoon
head (face, robot, alien), each with a box and five landmarks in the yolov5-face order
(left eye, right eye, nose, left mouth corner, right mouth corner), written as an
Ultralytics pose dataset. A detector learns it in a few CPU epochs.

A handful of labels are wrong on purpose (``INJECTED_MISTAKES``) so that validation
and label QC have something real to find on the first run.

``write_thermal_sample`` draws the same heads as a thermal camera would see them: 16-bit
greyscale frames (PNG for train, TIFF for val) whose warm objects sit a few hundred raw
counts above a noisy background around 7000..8000, boxes only, with its own few mistakes
(``THERMAL_MISTAKES``). Decoded the ordinary 8-bit way those frames are five grey levels;
they exercise the raw reader, the display window and the training input range.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml

from workbench.core.atomic import atomic_write_bytes, atomic_write_text
from workbench.core.image_io import write_image

CLASSES = ["face", "robot", "alien"]
KPT_NAMES = ["left_eye", "right_eye", "nose", "left_mouth", "right_mouth"]
FLIP_IDX = [1, 0, 2, 4, 3]
SKELETON = [[0, 1], [0, 2], [1, 2], [2, 3], [2, 4], [3, 4]]
WIDTH, HEIGHT = 320, 240
N_TRAIN, N_VAL = 36, 12
SEED = 20261122


@dataclass(frozen=True)
class InjectedMistake:
    """One deliberate error: where it is and which finding or suspect should catch it."""

    kind: str  # the validation kind or QC suspect kind expected to report it
    split: str
    image: str  # file name
    line: int | None  # 1-based line in the label file (None: the label is missing)
    description: str


@dataclass
class _Head:
    cls: int
    cx: float
    cy: float
    w: float
    h: float
    keypoints: np.ndarray  # (5, 3)


def _image_name(split: str, i: int) -> str:
    return f"{split}_{i:03d}.jpg"


# (split, image index, line, kind). The first head of an image is line 1.
_MISTAKE_PLAN = [
    ("train", 4, 1, "class_swap", "an alien labeled as class 0 (face)"),
    ("train", 9, 1, "bad_box", "the box is shifted off its object by ~45% of its width"),
    ("train", 15, 1, "landmark_off", "left and right eyes swapped (and mouth corners)"),
    ("train", 21, 1, "class_out_of_range", "class id 5, but the dataset has 3 classes (0..2)"),
    ("val", 3, None, "missing_label", "an object in the image has no label"),
    ("val", 7, 1, "class_swap", "an alien labeled as class 0 (face)"),
]

INJECTED_MISTAKES = [
    InjectedMistake(kind, split, _image_name(split, i), line, desc) for split, i, line, kind, desc in _MISTAKE_PLAN
]


def write_sample(out_dir: str | Path) -> Path:
    """Write the sample dataset into ``out_dir``; returns its ``data.yaml``.

    Existing files are overwritten, so this also restores a sample that was edited.
    """
    out = Path(out_dir)
    rng = np.random.default_rng(SEED)
    plan = {(s, i): (line, kind) for s, i, line, kind, _ in _MISTAKE_PLAN}
    for split, n in (("train", N_TRAIN), ("val", N_VAL)):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            image, heads = _draw_image(rng)
            name = _image_name(split, i)
            lines = [_label_line(h) for h in heads]
            mistake = plan.get((split, i))
            if mistake is not None:
                lines = _inject(mistake[1], heads, lines)
            write_image(out / "images" / split / name, image, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 92])
            atomic_write_text(
                out / "labels" / split / (Path(name).stem + ".txt"), "".join(line + "\n" for line in lines)
            )
    config = {
        "path": ".",
        "train": "images/train",
        "val": "images/val",
        "kpt_shape": [5, 3],
        "flip_idx": FLIP_IDX,
        "names": dict(enumerate(CLASSES)),
        "kpt_names": KPT_NAMES,
        "skeleton": SKELETON,
    }
    yaml_path = out / "data.yaml"
    header = "# Workbench sample dataset: three cartoon heads with 5 landmarks, a few labels wrong on purpose.\n"
    atomic_write_text(yaml_path, header + yaml.safe_dump(config, sort_keys=False))
    return yaml_path


# The thermal sample: fewer images, boxes only (a thermal dataset is a detection dataset).
THERMAL_SEED = 20261203
THERMAL_TRAIN, THERMAL_VAL = 24, 8
# Raw counts: the background near THERMAL_BASE, each 8-bit grey level of the drawn scene
# THERMAL_GAIN counts warmer, plus sensor noise: heads end up 300..700 counts above it.
THERMAL_BASE, THERMAL_GAIN, THERMAL_NOISE = 7000, 4.0, 12.0
_THERMAL_PLAN = [
    ("train", 3, 1, "class_swap", "an alien labeled as class 0 (face)"),
    ("train", 8, 1, "bad_box", "the box is shifted off its object by ~45% of its width"),
    ("train", 13, 1, "class_out_of_range", "class id 5, but the dataset has 3 classes (0..2)"),
    ("val", 2, None, "missing_label", "an object in the image has no label"),
]


def _thermal_name(split: str, i: int) -> str:
    return Path(_image_name(split, i)).with_suffix(".png" if split == "train" else ".tif").name


THERMAL_MISTAKES = [
    InjectedMistake(kind, split, _thermal_name(split, i), line, desc) for split, i, line, kind, desc in _THERMAL_PLAN
]


def write_thermal_sample(out_dir: str | Path) -> Path:
    """Write the 16-bit thermal sample into ``out_dir``; returns its ``data.yaml``.

    The scenes are the sample's own (``_draw_image``: same heads, same placement rules),
    turned into raw counts: brighter in the drawing is warmer on the sensor.
    """
    import tifffile

    out = Path(out_dir)
    rng = np.random.default_rng(THERMAL_SEED)
    plan = {(s, i): (line, kind) for s, i, line, kind, _ in _THERMAL_PLAN}
    for split, n in (("train", THERMAL_TRAIN), ("val", THERMAL_VAL)):
        (out / "images" / split).mkdir(parents=True, exist_ok=True)
        (out / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            scene, heads = _draw_image(rng)
            grey = cv2.cvtColor(scene, cv2.COLOR_BGR2GRAY).astype(np.float64)
            raw = THERMAL_BASE + THERMAL_GAIN * grey + rng.normal(0, THERMAL_NOISE, grey.shape)
            raw = np.clip(np.round(raw), 0, 65535).astype(np.uint16)
            name = _thermal_name(split, i)
            lines = [_box_line(line) for line in (_label_line(h) for h in heads)]
            mistake = plan.get((split, i))
            if mistake is not None:
                lines = [_box_line(line) for line in _inject(mistake[1], heads, [_label_line(h) for h in heads])]
            if name.endswith(".tif"):
                buf = io.BytesIO()
                tifffile.imwrite(buf, raw, photometric="minisblack")
                atomic_write_bytes(out / "images" / split / name, buf.getvalue())
            else:
                write_image(out / "images" / split / name, raw, ".png")
            atomic_write_text(
                out / "labels" / split / (Path(name).stem + ".txt"), "".join(line + "\n" for line in lines)
            )
    config = {"path": ".", "train": "images/train", "val": "images/val", "names": dict(enumerate(CLASSES))}
    yaml_path = out / "data.yaml"
    header = (
        "# Workbench thermal sample: 16-bit frames (raw counts ~7000..8000), warm heads, "
        "a few labels wrong on purpose.\n"
    )
    atomic_write_text(yaml_path, header + yaml.safe_dump(config, sort_keys=False))
    return yaml_path


def _box_line(line: str) -> str:
    """A pose label line cut to its class and box (the thermal sample has no landmarks)."""
    return " ".join(line.split()[:5])


def _inject(kind: str, heads: list[_Head], lines: list[str]) -> list[str]:
    first = heads[0]
    if kind == "class_swap":
        wrong = 1 if first.cls == 0 else 2 if first.cls == 1 else 0
        lines[0] = _label_line(_replace(first, cls=wrong))
    elif kind == "bad_box":
        lines[0] = _label_line(_replace(first, cx=first.cx + 0.45 * first.w))
    elif kind == "landmark_off":
        lines[0] = _label_line(_replace(first, keypoints=first.keypoints[FLIP_IDX]))
    elif kind == "class_out_of_range":
        lines[0] = _label_line(_replace(first, cls=5))
    elif kind == "missing_label":
        lines = lines[1:]
    return lines


def _replace(h: _Head, **changes: object) -> _Head:
    d = dict(h.__dict__)
    d.update(changes)
    return _Head(**d)  # type: ignore[arg-type]


def _label_line(h: _Head) -> str:
    cols = [str(h.cls), f"{h.cx / WIDTH:.6f}", f"{h.cy / HEIGHT:.6f}", f"{h.w / WIDTH:.6f}", f"{h.h / HEIGHT:.6f}"]
    for x, y, v in h.keypoints:
        if v == 0:
            cols += ["0", "0", "0"]
        else:
            cols += [f"{x / WIDTH:.6f}", f"{y / HEIGHT:.6f}", str(int(v))]
    return " ".join(cols)


def _background(rng: np.random.Generator) -> np.ndarray:
    top = rng.integers(20, 110, 3)
    bottom = rng.integers(20, 110, 3)
    t = np.linspace(0, 1, HEIGHT)[:, None, None]
    img = (top * (1 - t) + bottom * t) * np.ones((1, WIDTH, 1))
    img += rng.normal(0, 8, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _draw_image(rng: np.random.Generator) -> tuple[np.ndarray, list[_Head]]:
    img = _background(rng)
    heads: list[_Head] = []
    wanted = int(rng.integers(1, 4))
    for _ in range(60):
        if len(heads) == wanted:
            break
        cls = int(rng.integers(0, 3))
        w = float(rng.uniform(55, 100))
        h = w * (1.2 if cls == 0 else 1.0 if cls == 1 else 0.85)
        cx = float(rng.uniform(w / 2 + 4, WIDTH - w / 2 - 4))
        cy = float(rng.uniform(h / 2 + 4, HEIGHT - h / 2 - 4))
        if any(abs(cx - o.cx) < (w + o.w) / 2 + 6 and abs(cy - o.cy) < (h + o.h) / 2 + 6 for o in heads):
            continue
        heads.append(_draw_head(img, rng, cls, cx, cy, w, h))
    return img, heads


def _draw_head(img: np.ndarray, rng: np.random.Generator, cls: int, cx: float, cy: float, w: float, h: float) -> _Head:
    """Draw one head; landmarks are where the features are drawn, so they are learnable."""
    ex, ey = 0.22 * w, -0.12 * h  # eye offset from the center
    mx, my = 0.2 * w, 0.25 * h  # mouth corner offset
    jitter = rng.normal(0, 0.02 * w, (5, 2))
    pts = (
        np.array([[cx - ex, cy + ey], [cx + ex, cy + ey], [cx, cy + 0.05 * h], [cx - mx, cy + my], [cx + mx, cy + my]])
        + jitter
    )
    center = (int(round(cx)), int(round(cy)))
    axes = (int(round(w / 2)), int(round(h / 2)))
    if cls == 0:  # face: skin ellipse, dark eyes, red mouth
        skin = (int(rng.integers(90, 140)), int(rng.integers(150, 190)), int(rng.integers(200, 240)))
        cv2.ellipse(img, center, axes, 0, 0, 360, skin, -1, cv2.LINE_AA)
        eye, mouth = (40, 30, 20), (50, 50, 200)
    elif cls == 1:  # robot: gray block, cyan eyes, straight mouth
        gray = int(rng.integers(140, 200))
        cv2.rectangle(
            img,
            (int(cx - w / 2), int(cy - h / 2)),
            (int(cx + w / 2), int(cy + h / 2)),
            (gray, gray, gray + 10 if gray < 245 else gray),
            -1,
        )
        cv2.line(img, (int(cx), int(cy - h / 2)), (int(cx), int(cy - h / 2 - 6)), (gray, gray, gray), 2)
        eye, mouth = (230, 230, 40), (60, 60, 60)
    else:  # alien: green ellipse, big black eyes
        green = (int(rng.integers(40, 90)), int(rng.integers(170, 230)), int(rng.integers(40, 90)))
        cv2.ellipse(img, center, axes, 0, 0, 360, green, -1, cv2.LINE_AA)
        eye, mouth = (10, 10, 10), (30, 90, 30)
    eye_r = max(3, int(w * (0.09 if cls == 2 else 0.06)))
    vis = np.full(5, 2.0)
    occluded = cls != 1 and rng.random() < 0.12  # sometimes a hand covers one eye
    for k in (0, 1):
        cv2.circle(img, _pt(pts[k]), eye_r, eye, -1, cv2.LINE_AA)
    cv2.circle(img, _pt(pts[2]), max(2, int(w * 0.04)), tuple(int(c * 0.7) for c in eye), -1, cv2.LINE_AA)
    cv2.line(img, _pt(pts[3]), _pt(pts[4]), mouth, max(2, int(w * 0.035)), cv2.LINE_AA)
    if occluded:
        k = int(rng.integers(0, 2))
        p = pts[k]
        cv2.rectangle(img, _pt(p - eye_r - 3), _pt(p + eye_r + 3), (70, 110, 160), -1)
        vis[k] = 1.0
    kps = np.column_stack([pts, vis])
    return _Head(cls, cx, cy, w, h, kps)


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))

"""Ultralytics YOLO datasets (detection, pose) and yolov5-face datasets.

A dataset is a data.yaml (``path``, ``train``/``val``/``test``, ``names``, ``nc``,
``kpt_shape``, ``flip_idx``) or a bare folder of images and labels. Labels sit beside
the images by the Ultralytics rule: the last ``/images/`` in the image path becomes
``/labels/`` and the suffix ``.txt``.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.atomic import atomic_write_bytes, atomic_write_text
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import SetNc
from workbench.core.gc_pause import paused_gc
from workbench.core.imageheader import IMAGE_SUFFIXES, read_image_header
from workbench.core.keypoints import MAX_KEYPOINTS, KeypointSchema
from workbench.core.paths import OUTSIDE_FIX, contained_path, exists, inside_root, is_dir, is_file
from workbench.core.reading import open_regular, read_regular_text
from workbench.core.safe_yaml import YamlLimitError, safe_load_file
from workbench.formats.base import MAX_CLASSES, DatasetError, note_image_header, record_finding
from workbench.formats.files import class_list_text, link_or_copy, list_images, unique_file_name
from workbench.formats.yolo_labels import (
    MAX_LABEL_BYTES,
    LabelLayout,
    format_label_text,
    guess_layout_from_columns,
    label_file_limit_problem,
    minimal_label_text,
    parse_label_text,
    replace_undecodable,
)

SPLIT_KEYS = ("train", "val", "test")
FORMAT_BY_KIND = {"det": "yolo", "pose": "yolo-pose", "face": "yolo-face"}


def _count(value: Any, limit: int = MAX_CLASSES) -> int | None:
    """A non-negative integer up to `limit`, or None for anything else (floats with a fraction, text, inf)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
        integer = int(number)
    except (TypeError, ValueError, OverflowError):
        return None
    if integer != number or not 0 <= integer <= limit:
        return None
    return integer


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _user_path(value: Any) -> Path:
    """`~` expanded where it can be; `~nosuchuser` stays literal instead of raising."""
    p = Path(str(value))
    try:
        return p.expanduser()
    except RuntimeError:
        return p


def image_to_label_path(image: Path) -> Path:
    """The Ultralytics images->labels rule (labels beside the image when there is no ``images`` folder)."""
    parts = list(image.parts)
    for i in range(len(parts) - 2, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            return Path(*parts).with_suffix(".txt")
    return image.with_suffix(".txt")


# --------------------------------------------------------------------------- reading


def looks_like_yolo(path: Path) -> bool:
    """A data.yaml or list .txt, or a folder with a .yaml or a ``labels/`` folder.

    A folder of images with nothing else opens as YOLO too (unlabeled images to start on),
    but that is the registry's fallback, not a sign of YOLO.
    """
    if path.is_file():
        return path.suffix.lower() in (".yaml", ".yml", ".txt")
    return any(path.glob("*.yaml")) or any(path.glob("*.yml")) or (path / "labels").is_dir()


def read_yolo(source: Path) -> Dataset:
    """Open a data.yaml or a folder; records load lazily."""
    with paused_gc():  # two paths and a record per image
        return _read_yolo(Path(source))


def _read_yolo(source: Path) -> Dataset:
    if source.is_dir():
        yamls = sorted(p for p in source.glob("*.yaml") if p.is_file()) + sorted(source.glob("*.yml"))
        if len(yamls) == 1:
            return _read_from_yaml(yamls[0])
        return _read_folder(source)
    return _read_from_yaml(source)


def load_yaml(path: Path) -> dict[str, Any]:
    """Parse a yaml config, turning syntax errors into a message with the line."""
    try:
        data = safe_load_file(path)
    except OSError as e:
        raise DatasetError(f"{path}: cannot be read ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path}: not UTF-8 text (bad byte at offset {e.start}); save it as UTF-8") from None
    except YamlLimitError as e:
        raise DatasetError(f"{path}: refused: {e}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(e, "problem", None) or str(e)
        raise DatasetError(f"{where}: not valid YAML ({problem}); fix the syntax") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a mapping with train/val/names keys, got {type(data).__name__}")
    return data


def _read_from_yaml(yaml_path: Path) -> Dataset:
    cfg = load_yaml(yaml_path)
    findings: list[Finding] = []
    cfg_name = yaml_path.name
    root = _resolve_root(yaml_path, cfg, findings)

    classes, declared_nc = _read_names(cfg, cfg_name, findings)
    layout, schema = _read_keypoint_config(cfg, cfg_name, findings)

    splits: dict[str, list[Path]] = {}
    listed: dict[Path, list[Path]] = {}  # a folder named by two splits (val: images/train) is listed once
    for key in SPLIT_KEYS:
        spec = cfg.get(key)
        if spec in (None, "", []):
            continue
        splits[key] = _images_for_split(root, spec, key, cfg_name, findings, listed)
    if not splits:
        raise DatasetError(f"{yaml_path}: names no 'train' or 'val' images; add e.g. 'train: images/train'")

    ds = Dataset(
        root=root,
        classes=classes,
        format="yolo",
        source=yaml_path,
        config_file=yaml_path,
        declared_nc=declared_nc,
        findings=findings,
        keypoints=schema,
    )
    ds.meta["yaml"] = cfg
    _attach_records(ds, splits, layout)
    return ds


def _resolve_root(yaml_path: Path, cfg: dict[str, Any], findings: list[Finding]) -> Path:
    here = yaml_path.parent.resolve()
    path = cfg.get("path")
    if path in (None, ""):
        return here
    p = _user_path(path)
    root = p if p.is_absolute() else (here / p)
    if is_dir(root):
        return root.resolve()
    findings.append(
        Finding(
            Severity.WARNING,
            "dataset_path_missing",
            f"path: '{path}' in {yaml_path.name} does not exist here; using the yaml's folder instead "
            "(set 'path:' to the dataset folder or leave it empty)",
            label_file=yaml_path.name,
        )
    )
    return here


def _read_names(cfg: dict[str, Any], cfg_name: str, findings: list[Finding]) -> tuple[list[str], int | None]:
    names = cfg.get("names")
    nc = cfg.get("nc")
    declared_nc = None
    if nc is not None:
        declared_nc = _count(nc)
        if declared_nc is None:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "names_mismatch",
                    f"nc: {nc!r} in {cfg_name} is not a class count 0..{MAX_CLASSES}",
                    label_file=cfg_name,
                )
            )
    classes: list[str]
    if isinstance(names, dict):
        ids = [_count(k) for k in names]
        if any(i is None for i in ids):
            bad = [k for k, i in zip(names, ids, strict=True) if i is None]
            raise DatasetError(f"{cfg_name}: 'names' keys must be class ids 0..{MAX_CLASSES}, got {bad[:5]!r}")
        keyed = {i: str(v) for i, v in zip(ids, names.values(), strict=True)}
        n = max(keyed) + 1 if keyed else 0
        missing = [i for i in range(n) if i not in keyed]
        if missing:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "names_mismatch",
                    f"names in {cfg_name} skip class id(s) {missing[:10]}: class ids must be 0..nc-1 without gaps",
                    label_file=cfg_name,
                )
            )
        classes = [keyed.get(i, f"class{i}") for i in range(n)]
    elif isinstance(names, list):
        if len(names) > MAX_CLASSES + 1:
            raise DatasetError(f"{cfg_name}: 'names' lists {len(names)} classes, more than {MAX_CLASSES + 1}")
        classes = [str(n) for n in names]
    elif names is None:
        classes = [f"class{i}" for i in range(declared_nc or 0)]
        if declared_nc is None:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "names_missing",
                    f"{cfg_name} has neither 'names' nor 'nc': class ids cannot be checked",
                    label_file=cfg_name,
                )
            )
    else:
        raise DatasetError(f"{cfg_name}: 'names' must be a list or a mapping of id: name")
    if declared_nc is not None and names is not None and declared_nc != len(classes):
        findings.append(
            Finding(
                Severity.ERROR,
                "names_mismatch",
                f"nc: {declared_nc} in {cfg_name} but {len(classes)} names are listed: make them agree",
                label_file=cfg_name,
                fix=SetNc(len(classes)),
            )
        )
    return classes, declared_nc


def _read_keypoint_config(
    cfg: dict[str, Any], cfg_name: str, findings: list[Finding]
) -> tuple[LabelLayout | None, KeypointSchema | None]:
    """(layout, schema); layout None means 'decide from the label files'."""
    shape = cfg.get("kpt_shape")
    if shape is None:
        return None, None
    parts = [_count(v, MAX_KEYPOINTS) for v in shape] if isinstance(shape, list) else []
    if len(parts) != 2 or None in parts or not parts[0] or parts[1] not in (2, 3):
        raise DatasetError(
            f"{cfg_name}: kpt_shape must be [K, 2] or [K, 3] with 1 <= K <= {MAX_KEYPOINTS}, got {shape!r}"
        )
    k, dims = parts
    flip = cfg.get("flip_idx")
    flip_idx = None
    if isinstance(flip, list):
        flip_idx = [_count(i, MAX_KEYPOINTS) for i in flip]
        if None in flip_idx:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "bad_keypoint_schema",
                    f"flip_idx {flip!r} must list keypoint indices 0..{k - 1}; "
                    "ignoring it (flip augmentation will not swap left/right)",
                    label_file=cfg_name,
                )
            )
            flip_idx = None
    elif flip is not None:
        findings.append(
            Finding(
                Severity.ERROR,
                "bad_keypoint_schema",
                f"flip_idx {str(flip)[:60]!r} is not a list of {k} keypoint indices; "
                "ignoring it (flip augmentation will not swap left/right): write it as "
                f"[0, 2, 1, ...] with {k} entries",
                label_file=cfg_name,
            )
        )
    schema = KeypointSchema.generic(k, flip_idx, dims)
    names = cfg.get("kpt_names")
    if isinstance(names, dict) and names:
        names = next(iter(names.values()))
    if isinstance(names, list) and len(names) == k:
        schema.names = [str(n) for n in names]
    skeleton = cfg.get("skeleton")
    if isinstance(skeleton, list):
        edges = [tuple(_count(v, MAX_KEYPOINTS) for v in e) if isinstance(e, list) else () for e in skeleton]
        if all(len(e) == 2 and None not in e for e in edges):
            schema.skeleton = [(int(a), int(b)) for a, b in edges]  # type: ignore[arg-type]
        else:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "bad_keypoint_schema",
                    "skeleton must be a list of [i, j] keypoint pairs; ignoring it: write each edge as [i, j]",
                    label_file=cfg_name,
                )
            )
    sigmas = cfg.get("kpt_sigmas", cfg.get("oks_sigmas"))
    if isinstance(sigmas, list) and len(sigmas) == k:
        values = [_finite(s) for s in sigmas]
        if None in values:
            findings.append(
                Finding(
                    Severity.WARNING,
                    "bad_keypoint_schema",
                    f"kpt_sigmas must be {k} positive numbers; using defaults: fix them or remove the key",
                    label_file=cfg_name,
                )
            )
        else:
            schema.sigmas = values  # type: ignore[assignment]
    for problem in schema.problems():
        # The finding's label_file names the yaml already: a report prints "data.yaml: <message>".
        findings.append(
            Finding(
                Severity.ERROR,
                "bad_keypoint_schema",
                f"{problem}: fix the keypoint keys (kpt_shape, flip_idx, kpt_sigmas, skeleton) in {cfg_name}",
                label_file=cfg_name,
            )
        )
    return LabelLayout("pose", k, dims), schema


def _images_for_split(
    root: Path,
    spec: Any,
    key: str,
    cfg_name: str,
    findings: list[Finding],
    listed: dict[Path, list[Path]] | None = None,
) -> list[Path]:
    """The images a split names (folders, list files, single images).

    ``listed`` caches folder listings and list files, so a folder or a ``train.txt`` that two
    splits name is read once and a bad line in it is reported once.
    """
    listed = {} if listed is None else listed
    items = spec if isinstance(spec, list) else [spec]
    images: list[Path] = []
    for item in items:
        p = _user_path(item)
        if not p.is_absolute():
            p = root / p
        a_file = is_file(p)
        if is_dir(p):
            if p not in listed:
                listed[p] = list_images(p)
            images.extend(listed[p])
        elif a_file and p.suffix == ".txt":
            if p not in listed:
                listed[p] = _images_from_list(p, root, findings)
            images.extend(listed[p])
        elif a_file and p.suffix.lower() in IMAGE_SUFFIXES:
            images.append(p)
        else:
            findings.append(
                Finding(
                    Severity.ERROR,
                    "split_missing",
                    f"{key}: '{item}' in {cfg_name} does not exist under {root}: fix the path",
                    label_file=cfg_name,
                )
            )
    return images


def _images_from_list(list_file: Path, root: Path, findings: list[Finding]) -> list[Path]:
    out = []
    for number, raw in enumerate(read_regular_text(list_file, errors="replace").splitlines(), 1):
        entry = raw.strip()
        if not entry:
            continue
        # Ultralytics reads './x' relative to the list file; plain relative entries
        # are usually relative to the dataset root.
        p = contained_path(list_file.parent if entry.startswith("./") else root, entry, root)
        if p is not None and not os.path.isabs(entry) and not exists(p):
            beside = contained_path(list_file.parent, entry, root)
            if beside is not None and exists(beside):
                p = beside
        if p is None or not inside_root(p, root):
            findings.append(
                Finding(
                    Severity.ERROR,
                    "path_outside_dataset",
                    f"{list_file.name} line {number}: '{entry}' leads outside the dataset folder {root}; it was "
                    f"not read: {OUTSIDE_FIX}",
                    label_file=_rel_to(list_file, root),
                    line=number,
                )
            )
            continue
        out.append(p)
    return out


def _rel_to(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _read_folder(folder: Path) -> Dataset:
    """A bare folder: ``images/<split>/`` + ``labels/<split>/``, or images and .txt side by side."""
    findings: list[Finding] = []
    images_dir = folder / "images"
    splits: dict[str, list[Path]] = {}
    if images_dir.is_dir():
        subdirs = sorted(d for d in images_dir.iterdir() if d.is_dir())
        if subdirs:
            for d in subdirs:
                splits[d.name] = list_images(d)
            loose = [p for p in images_dir.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
            if loose:
                splits.setdefault("train", []).extend(sorted(loose))
        else:
            splits["train"] = list_images(images_dir)
    else:
        splits["train"] = list_images(folder)
    if not any(splits.values()):
        raise DatasetError(f"{folder}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    classes_file = next((p for p in (folder / "classes.txt", folder / "labels" / "classes.txt") if p.is_file()), None)
    classes = []
    if classes_file is not None:
        classes = [c.strip() for c in read_regular_text(classes_file, "utf-8-sig").splitlines() if c.strip()]
    ds = Dataset(
        root=folder.resolve(),
        classes=classes,
        format="yolo",
        source=folder,
        config_file=classes_file,
        findings=findings,
    )
    _attach_records(ds, splits, None)
    if classes_file is None:
        # No class list: name the ids we see, so the data is usable, and say so.
        top = max((i.class_id for r in ds.load_all() for i in r.instances), default=-1)
        ds.classes = [f"class{i}" for i in range(top + 1)]
        findings.append(
            Finding(
                Severity.WARNING,
                "names_missing",
                "no data.yaml or classes.txt: class names are made up from the ids found, so wrong ids "
                "cannot be caught; add a data.yaml with 'names'",
                label_file=None,
            )
        )
    return ds


def _attach_records(ds: Dataset, splits: dict[str, list[Path]], layout: LabelLayout | None) -> None:
    """One unloaded record per image, with its label path; lists folders, never opens a file."""
    existing = _ExistingFiles()
    claimed = _make_records(ds, splits, existing)
    if layout is None:
        layout = _guess_layout(ds.records)
        if layout.kind == "face":
            ds.keypoints = KeypointSchema.generic(layout.num_keypoints, dims=2)
    ds.format = FORMAT_BY_KIND[layout.kind]
    ds.meta["layout"] = layout
    loader = partial(_load_record, ds, layout)
    for rec in ds.records:
        rec._loader = loader
    _find_orphan_labels(ds, existing, claimed)


def _make_records(ds: Dataset, splits: dict[str, list[Path]], existing: _ExistingFiles) -> dict[Path, set[str]]:
    """``ds.records`` from the split lists, each image once, with its label path and whether that exists.

    Runs once per image of a dataset of up to 100k images, so the work per folder (the
    images -> labels rule, the listing of the label folder) is done once per folder, and
    per image there is string handling and one ``Path`` join. Returns the label file
    names the records claim, per label folder.
    """
    claimed: dict[Path, set[str]] = {}
    # image folder -> its label folder, that folder's listing, the names claimed in it
    label_dirs: dict[str, tuple[Path, set[str], set[str], dict[str, Path]]] = {}
    # label folder -> label file name -> the first image that reads it; per label folder, as
    # two image folders can lead to one (images/x/a.jpg and labels/x/a.jpg both read labels/x/a.txt)
    owners: dict[Path, dict[str, Path]] = {}
    seen: set[str] = set()
    for split, images in splits.items():
        for img in images:
            img = img if img.is_absolute() else img.resolve()
            key = str(img)
            if key in seen:  # the same image listed in two splits: keep the first
                continue
            seen.add(key)
            folder = os.path.dirname(key)
            where = label_dirs.get(folder)
            if where is None:
                label_dir = image_to_label_path(img).parent
                where = (
                    label_dir,
                    existing.listing(label_dir),
                    claimed.setdefault(label_dir, set()),
                    owners.setdefault(label_dir, {}),
                )
                label_dirs[folder] = where
            name = label_file_name(img.name)
            first = where[3].setdefault(name, img)
            if first is not img:
                _note_shared_label(ds, where[0] / name, first, img)
            where[2].add(name)
            ds.records.append(
                ImageRecord(
                    path=img, split=split, label_path=where[0] / name, has_labels=name in where[1], loaded=False
                )
            )
    return claimed


def _note_shared_label(ds: Dataset, label: Path, first: Path, other: Path) -> None:
    """Two images of one folder whose names differ only in the extension (``a.jpg``, ``a.png``).

    YOLO names a label file after the image's stem, so both read ``a.txt``: neither image
    has labels of its own, and saving an edit of one rewrites the other's.
    """
    ds.findings.append(
        Finding(
            Severity.WARNING,
            "label_file_shared",
            f"{ds.rel(first)} and {ds.rel(other)} both take their labels from {ds.rel(label)} (YOLO names a "
            "label file after the image without its extension): an edit of one changes the other; rename or "
            "move one image so each has its own label file",
            image=ds.rel(other),
            label_file=ds.rel(label),
        )
    )


def label_file_name(image_name: str) -> str:
    """``Path(image_name).with_suffix(".txt").name`` by string: the label file's name for an image."""
    i = image_name.rfind(".")
    if 0 < i < len(image_name) - 1:  # pathlib's rule for what a suffix is
        return image_name[:i] + ".txt"
    return image_name + ".txt"


def _guess_layout(records: list[ImageRecord], sample: int = 64) -> LabelLayout:
    counts: list[int] = []
    looked = 0
    for rec in records:
        if not rec.has_labels or rec.label_path is None:
            continue
        try:
            size, data = _read_bytes(rec.label_path, MAX_LABEL_BYTES)
        except OSError:
            continue
        if data is None or label_file_limit_problem(size, data) is not None:
            continue  # reported when the record loads
        text = data.decode("utf-8", errors="replace")
        counts.extend(len(line.split()) for line in text.splitlines() if line.strip())
        looked += 1
        if looked >= sample:
            break
    return guess_layout_from_columns(counts) or LabelLayout("det")


def _load_record(ds: Dataset, layout: LabelLayout, rec: ImageRecord) -> None:
    note_image_header(
        ds,
        rec,
        read_image_header(rec.path),
        "the image listed for this split does not exist: restore it or remove it from the list",
    )
    if not rec.has_labels or rec.label_path is None:
        return
    try:
        size, data = _read_bytes(rec.label_path, MAX_LABEL_BYTES)
    except OSError as e:
        rec.findings.append(
            record_finding(
                ds, rec, Severity.ERROR, "unreadable_label", f"label file cannot be read ({e.strerror or e})"
            )
        )
        return
    problem = label_file_limit_problem(size, data)
    if problem is not None:
        rec.findings.append(record_finding(ds, rec, Severity.ERROR, "label_file_too_large", problem))
        return
    assert data is not None  # label_file_limit_problem reports a file whose bytes were not kept
    text = data.decode("utf-8", errors="replace")
    if "\ufffd" in text:
        rec.findings.append(
            record_finding(
                ds, rec, Severity.WARNING, "not_utf8", "label file is not UTF-8 text; unreadable bytes were replaced"
            )
        )
    # A corrupt image has no size; parse in normalized units so nothing is lost.
    w, h = (rec.width or 1), (rec.height or 1)
    parsed = parse_label_text(text, layout, w, h, rec.label_path)
    rec.instances = parsed.instances
    rec.extra_lines = parsed.extra_lines
    for issue in parsed.issues:
        rec.findings.append(
            record_finding(
                ds,
                rec,
                issue.severity,
                issue.kind,
                issue.message,
                line=issue.line,
                instance=issue.instance,
                fix=issue.fix,
            )
        )


def _read_bytes(path: Path, limit: int) -> tuple[int, bytes | None]:
    """``(size, bytes)`` of a file with ``os.open``/``os.read`` (half the cost of ``Path.read_bytes``
    for a small label file); bytes None when it holds more than ``limit`` bytes.

    Reading stops after ``limit + 1`` bytes even where the size said less (a link to
    ``/dev/zero``, a file still growing), so memory stays bounded by ``limit``.
    """
    fd = open_regular(path)
    try:
        size = os.fstat(fd).st_size
        if size > limit:
            return size, None
        chunks = []
        got = 0
        while got <= limit and (chunk := os.read(fd, 1 << 16)):
            chunks.append(chunk)
            got += len(chunk)
        if got > limit:
            return max(size, got), None
        return got, b"".join(chunks)
    finally:
        os.close(fd)


class _ExistingFiles:
    """Which label files exist, one ``listdir`` per folder instead of a stat per image."""

    def __init__(self) -> None:
        self._dirs: dict[Path, set[str]] = {}

    def listing(self, folder: Path) -> set[str]:
        if folder not in self._dirs:
            try:
                self._dirs[folder] = set(os.listdir(folder))
            except OSError:
                self._dirs[folder] = set()
        return self._dirs[folder]

    def folders(self) -> Iterable[Path]:
        return list(self._dirs)


def _find_orphan_labels(ds: Dataset, existing: _ExistingFiles, claimed: dict[Path, set[str]]) -> None:
    """Label files whose image is gone: the labels are there but can never be trained on.

    ``claimed``: the label file names the records use, per label folder.
    """
    for folder in existing.folders():
        if folder == ds.root or folder.name == "images" or not _looks_like_label_folder(folder):
            continue
        for name in sorted(existing.listing(folder) - claimed.get(folder, set())):
            if not name.endswith(".txt") or name == "classes.txt":
                continue
            ds.findings.append(
                Finding(
                    Severity.WARNING,
                    "missing_image",
                    "label file has no image (looked for an image with the same name under images/): "
                    "restore the image or delete the label file",
                    image=None,
                    label_file=ds.rel(folder / name),
                )
            )


def _looks_like_label_folder(folder: Path) -> bool:
    return "labels" in folder.parts


# --------------------------------------------------------------------------- writing


def layout_for(ds: Dataset, fmt: str | None = None) -> LabelLayout:
    """The line layout for writing ``ds`` as ``fmt`` (default: its own format)."""
    fmt = fmt or ds.format
    if fmt == "yolo":
        return LabelLayout("det")
    if ds.keypoints is None:
        raise DatasetError(f"cannot write {fmt}: the dataset has no keypoints")
    k = ds.keypoints.num_keypoints
    if fmt == "yolo-face":
        return LabelLayout("face", k, 2)
    return LabelLayout("pose", k, ds.keypoints.dims if fmt == ds.format else 3)


def save_yolo(ds: Dataset, records: list[ImageRecord] | None = None) -> list[Path]:
    """Write edited records back to their label files, atomically; returns what was written."""
    layout = ds.meta.get("layout") or layout_for(ds)
    written = []
    for rec in records if records is not None else ds.dirty_records():
        if rec.label_path is None or rec.width is None or rec.height is None:
            continue
        old = _current_text(rec.label_path)
        text = minimal_label_text(rec.instances, rec.extra_lines, layout, rec.width, rec.height, rec.label_path, old)
        if text == old or (old is None and not text and not rec.label_path.exists()):
            # Back to what is on disk (an edit and its undo), or still no labels for an image
            # that never had a label file (YOLO reads a missing file as "no objects"): nothing to write.
            rec.dirty = False
            continue
        atomic_write_bytes(rec.label_path, text.encode("utf-8", "surrogateescape"))
        rec.dirty = False  # only once written: a failed save leaves the edit to save again
        rec.has_labels = True
        written.append(rec.label_path)
    if ds.config_file is not None and ds.classes_dirty:
        names_file = _save_class_names(ds)
        if names_file is not None:
            written.append(names_file)
        ds.classes_dirty = False
    return written


def _current_text(path: Path) -> str | None:
    """The label file as it is on disk, or None when it cannot be kept line by line.

    Bytes that are not UTF-8 (a Latin-1 comment line) decode as ``surrogateescape``
    characters, so an untouched line goes back byte for byte when the file is written.
    """
    try:
        if not path.is_file() or path.stat().st_size > MAX_LABEL_BYTES:
            return None
        return path.read_bytes().decode("utf-8", "surrogateescape")
    except OSError:
        return None


def _save_class_names(ds: Dataset) -> Path | None:
    """Class list edits (a class added in the GUI) go back into the yaml or classes.txt.

    Only when the list on disk differs (add a class, then undo: nothing is written), and
    then only ``names`` (and ``nc``) change: ruamel.yaml's round trip keeps the user's
    comments, key order, quoting and unknown keys.
    """
    path = ds.config_file
    assert path is not None
    if path.suffix == ".txt":
        old = _current_text(path)
        text = class_list_text(list(ds.classes), old)
        if old == text:
            return None
        atomic_write_text(path, text)
        return path
    cfg = load_yaml(path)  # the safe, budgeted reader decides what the names are
    names = cfg.get("names")
    on_disk = (
        [str(names[k]) for k in sorted(names)]
        if isinstance(names, dict)
        else ([str(n) for n in names] if isinstance(names, list) else None)
    )
    if on_disk == list(ds.classes) and ("nc" not in cfg or cfg["nc"] == len(ds.classes)):
        return None
    from ruamel.yaml import YAML

    rt = YAML()  # round-trip mode
    rt.preserve_quotes = True
    text = _current_text(path)
    if text is None or replace_undecodable(text) != text:
        raise DatasetError(
            f"{path}: cannot be read back as UTF-8 to update its class names; "
            "save it as UTF-8 (or edit names: by hand) and save again"
        )
    _match_layout(rt, text)
    doc = rt.load(text)
    if isinstance(doc.get("names"), dict):
        doc["names"] = (
            dict(enumerate(ds.classes)) if not isinstance(names, dict) else _updated_dict(doc["names"], ds.classes)
        )
    elif isinstance(doc.get("names"), list):
        doc["names"] = _updated_list(doc["names"], ds.classes)
    else:
        doc["names"] = list(ds.classes)
    if "nc" in doc:
        doc["nc"] = len(ds.classes)
    buf = io.StringIO()
    rt.dump(doc, buf)
    atomic_write_text(path, _with_line_endings_of(text, buf.getvalue()))
    return path


def _match_layout(rt: Any, text: str) -> None:
    """Indent block lists and mappings as the file does (``  - cat`` stays ``  - cat``).

    ruamel.yaml keeps comments and order but writes its own default indentation, which
    turned every line of a ``names:`` list indented by two into a changed line.
    """
    from ruamel.yaml.util import load_yaml_guess_indent

    try:
        _, indent, block_seq_indent = load_yaml_guess_indent(text)
    except Exception:  # noqa: BLE001 - a guess only; the budgeted loader already accepted the file
        return
    if block_seq_indent is not None and indent is not None:
        rt.indent(mapping=max(2, indent - block_seq_indent), sequence=indent, offset=block_seq_indent)
    elif indent is not None:
        rt.indent(mapping=indent, sequence=indent + 2, offset=2)


def _with_line_endings_of(original: str, text: str) -> str:
    """``text`` with the original's CRLF line ends and its final newline, or lack of one."""
    if "\r\n" in original:
        text = text.replace("\r\n", "\n").replace("\n", "\r\n")
    if not original.endswith("\n"):
        text = text.rstrip("\r\n")
    return text


def _updated_dict(mapping: Any, classes: list[str]) -> Any:
    """The ``names`` mapping edited in place, so the comments beside its entries survive."""
    last = next(reversed(mapping), None) if len(mapping) else None
    for k in [k for k in mapping if not (isinstance(k, int) and 0 <= k < len(classes))]:
        del mapping[k]
    for i, name in enumerate(classes):
        if mapping.get(i) != name:
            mapping[i] = name
    if last in mapping and len(mapping):
        _move_trailing_comment(mapping, last, next(reversed(mapping)), 2)
    return mapping


def _updated_list(seq: Any, classes: list[str]) -> Any:
    """The ``names`` list edited in place: a flow list ``[cat, dog]`` stays on its line with its comment."""
    last = len(seq) - 1
    for i, name in enumerate(classes):
        if i >= len(seq):
            seq.append(name)
        elif seq[i] != name:
            seq[i] = name
    del seq[len(classes) :]
    if 0 <= last < len(seq):
        _move_trailing_comment(seq, last, len(seq) - 1, 0)
    return seq


def _move_trailing_comment(container: Any, old: Any, new: Any, slot: int) -> None:
    """Comment lines after the last entry stay after the last entry when entries are added.

    ruamel.yaml keeps the lines after a block list (``# end``, blank lines before the next
    key) with the entry they follow, so an appended class landed after them. The entry's
    own end-of-line comment stays where it is.
    """
    items = getattr(getattr(container, "ca", None), "items", None)
    if old == new or not items or old not in items or items[old][slot] is None:
        return
    from ruamel.yaml.tokens import CommentToken

    token = items[old][slot]
    own, newline, after = token.value.partition("\n")
    if not after:
        return
    if own:
        token.value = own + newline
    else:
        items[old][slot] = None
    entry = [None, None, None, None]
    entry[slot] = CommentToken("\n" + after, token.start_mark, None)
    items[new] = entry


def write_yolo(ds: Dataset, out: Path, fmt: str = "yolo") -> Path:
    """Export a copy: ``out/images/<split>``, ``out/labels/<split>``, ``out/data.yaml``.

    Images are hard-linked where possible (copied otherwise) so an export of a large
    dataset is cheap and the original is never touched.
    """
    out = Path(out)
    layout = layout_for(ds, fmt)
    used: dict[str, set[str]] = {}
    for rec in ds.load_all():
        if rec.width is None or rec.height is None:
            continue
        img_dst = out / "images" / rec.split / unique_file_name(rec.path, used.setdefault(rec.split, set()))
        link_or_copy(rec.path, img_dst)
        label_dst = image_to_label_path(img_dst)
        atomic_write_text(label_dst, format_label_text(rec.instances, layout, rec.width, rec.height))
    cfg: dict[str, Any] = {"path": "."}
    for split in ds.splits:
        cfg[split] = f"images/{split}"
    if fmt == "yolo-face":
        cfg["nc"] = ds.nc
        cfg["names"] = list(ds.classes)
    else:
        cfg["names"] = dict(enumerate(ds.classes))
    if fmt == "yolo-pose" and ds.keypoints is not None:
        cfg["kpt_shape"] = [ds.keypoints.num_keypoints, layout.dims]
        cfg["flip_idx"] = list(ds.keypoints.flip_idx)
    if fmt != "yolo" and ds.keypoints is not None:
        # Extra keys Ultralytics ignores; they keep the schema with the data.
        cfg["kpt_names"] = list(ds.keypoints.names)
        cfg["skeleton"] = [list(e) for e in ds.keypoints.skeleton]
        cfg["kpt_sigmas"] = list(ds.keypoints.sigmas)
    yaml_path = out / "data.yaml"
    atomic_write_text(yaml_path, yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
    return yaml_path

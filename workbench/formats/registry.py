"""Which format a path holds, and one entry point each for open, save and export.

Every format module provides ``read_X(path) -> Dataset``, ``save_X(ds, records)``
(write edited records back in place, atomically) and ``write_X(ds, out) -> Path``
(export a copy). The GUI and the CLI only ever call the three functions here.
"""

from __future__ import annotations

import json
from pathlib import Path

from workbench.core.annotation import Dataset, ImageRecord
from workbench.formats.base import DatasetError

FORMATS = ("yolo", "yolo-pose", "yolo-face", "coco", "voc")


def detect_format(path: str | Path) -> str:
    """``yolo`` (any YOLO flavour, refined when read), ``coco`` or ``voc``."""
    p = Path(path)
    if not p.exists():
        raise DatasetError(f"{p}: no such file or folder")
    if p.is_file():
        suffix = p.suffix.lower()
        if suffix == ".json":
            return "coco"
        if suffix in (".yaml", ".yml", ".txt"):
            return "yolo"
        if suffix == ".xml":
            return "voc"
        raise DatasetError(f"{p}: not a dataset config; open a data.yaml, a COCO .json or a folder")
    if (p / "Annotations").is_dir() or _has_xml(p):
        return "voc"
    if any(p.glob("*.yaml")) or any(p.glob("*.yml")) or (p / "labels").is_dir():
        return "yolo"
    jsons = [j for j in p.glob("*.json") if _is_coco_json(j)]
    if not jsons and (p / "annotations").is_dir():
        jsons = [j for j in (p / "annotations").glob("*.json") if _is_coco_json(j)]
    if jsons:
        return "coco"
    return "yolo"


def _has_xml(folder: Path) -> bool:
    return any(folder.glob("*.xml"))


def _is_coco_json(path: Path) -> bool:
    try:
        with open(path, encoding="utf-8") as f:
            head = f.read(4096)
    except OSError:
        return False
    return '"images"' in head or '"annotations"' in head or '"categories"' in head or _full_check(path)


def _full_check(path: Path) -> bool:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "images" in data


def open_dataset(path: str | Path) -> Dataset:
    """Open any supported dataset; records load lazily on first access."""
    fmt = detect_format(path)
    if fmt == "coco":
        from workbench.formats.coco import read_coco

        return read_coco(Path(path))
    if fmt == "voc":
        from workbench.formats.voc import read_voc

        return read_voc(Path(path))
    from workbench.formats.yolo import read_yolo

    return read_yolo(Path(path))


def save_dataset(ds: Dataset, records: list[ImageRecord] | None = None) -> list[Path]:
    """Write edited records (default: all dirty ones) back in the dataset's own format."""
    if ds.format == "coco":
        from workbench.formats.coco import save_coco

        return save_coco(ds, records)
    if ds.format == "voc":
        from workbench.formats.voc import save_voc

        return save_voc(ds, records)
    from workbench.formats.yolo import save_yolo

    return save_yolo(ds, records)


def export_dataset(ds: Dataset, fmt: str, out: str | Path) -> Path:
    """Write a copy of ``ds`` in ``fmt`` under ``out``; returns the config or annotation file."""
    out = Path(out)
    if fmt not in FORMATS:
        raise DatasetError(f"unknown format '{fmt}': choose one of {', '.join(FORMATS)}")
    if fmt in ("yolo-pose", "yolo-face") and ds.keypoints is None:
        raise DatasetError(f"cannot convert to {fmt}: the dataset has no keypoints")
    if fmt == "coco":
        from workbench.formats.coco import write_coco

        return write_coco(ds, out)
    if fmt == "voc":
        from workbench.formats.voc import write_voc

        return write_voc(ds, out)
    from workbench.formats.yolo import write_yolo

    return write_yolo(ds, out, fmt)

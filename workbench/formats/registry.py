"""Which format a path holds, and one entry point each for open, save and export.

Every format module provides ``looks_like_X(path)``, ``read_X(path) -> Dataset``,
``save_X(ds, records)`` (write edited records back in place, atomically) and
``write_X(ds, out) -> Path`` (export a copy). The table below is all that ties them
together; the GUI and the CLI only ever call the functions of this module. No format
module imports this one, so adding a format is a new module and one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from workbench.core.annotation import Dataset, ImageRecord
from workbench.formats.base import DatasetError
from workbench.formats.coco import looks_like_coco, read_coco, save_coco, write_coco
from workbench.formats.voc import looks_like_voc, read_voc, save_voc, write_voc
from workbench.formats.yolo import looks_like_yolo, read_yolo, save_yolo, write_yolo


@dataclass(frozen=True)
class Format:
    """One format family: how to recognise it, open it and write edits back."""

    name: str
    looks_like: Callable[[Path], bool]
    read: Callable[[Path], Dataset]
    save: Callable[[Dataset, list[ImageRecord] | None], list[Path]]


# In the order a folder is tried: a VOC folder may also hold a classes.txt, and a YOLO
# folder may hold a stray .json, so the more specific signs come first.
FAMILIES: tuple[Format, ...] = (
    Format("voc", looks_like_voc, read_voc, save_voc),
    Format("yolo", looks_like_yolo, read_yolo, save_yolo),
    Format("coco", looks_like_coco, read_coco, save_coco),
)
_FALLBACK = "yolo"  # a bare folder of images: start labeling it as YOLO

# Export targets: the YOLO flavours differ only in what the label lines carry.
WRITERS: dict[str, Callable[[Dataset, Path], Path]] = {
    "yolo": partial(write_yolo, fmt="yolo"),
    "yolo-pose": partial(write_yolo, fmt="yolo-pose"),
    "yolo-face": partial(write_yolo, fmt="yolo-face"),
    "coco": write_coco,
    "voc": write_voc,
}
FORMATS = tuple(WRITERS)
_NEEDS_KEYPOINTS = ("yolo-pose", "yolo-face")


def _family(name: str) -> Format:
    """``yolo-pose`` and ``yolo-face`` datasets are read and saved by the YOLO family."""
    base = name.split("-", 1)[0]
    return next(f for f in FAMILIES if f.name == base)


def detect_format(path: str | Path) -> str:
    """``yolo`` (any YOLO flavour, refined when read), ``coco`` or ``voc``."""
    p = Path(path)
    try:
        p.stat()
    except FileNotFoundError:
        raise DatasetError(f"{p}: no such file or folder") from None
    except OSError as e:  # a name too long, a file where a folder belongs, a loop of links
        raise DatasetError(f"{p}: cannot be opened ({e.strerror or e})") from None
    for fmt in FAMILIES:
        if fmt.looks_like(p):
            return fmt.name
    if p.is_file():
        raise DatasetError(f"{p}: not a dataset config; open a data.yaml, a COCO .json or a folder")
    return _FALLBACK


def open_dataset(path: str | Path) -> Dataset:
    """Open any supported dataset; records load lazily on first access."""
    return _family(detect_format(path)).read(Path(path))


def save_dataset(ds: Dataset, records: list[ImageRecord] | None = None) -> list[Path]:
    """Write edited records (default: all dirty ones) back in the dataset's own format."""
    return _family(ds.format).save(ds, records)


def export_dataset(ds: Dataset, fmt: str, out: str | Path) -> Path:
    """Write a copy of ``ds`` in ``fmt`` under ``out``; returns the config or annotation file."""
    if fmt not in WRITERS:
        raise DatasetError(f"unknown format '{fmt}': choose one of {', '.join(FORMATS)}")
    if fmt in _NEEDS_KEYPOINTS and ds.keypoints is None:
        raise DatasetError(f"cannot convert to {fmt}: the dataset has no keypoints")
    return WRITERS[fmt](ds, Path(out))

"""Dataset -> image records -> instances.

Coordinates are float pixel ``xyxy`` in the image's own pixel space and keypoints are
``(K, 3)`` arrays of ``x, y, v`` (v: 0 missing, 1 occluded, 2 visible). Formats
convert at the edge, so nothing above this layer ever asks "is this normalized?".

Records load lazily: building the index of a 100k-image folder only lists files;
label parsing and the image-header read happen the first time a record is touched.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.findings import Finding
from workbench.core.gc_pause import paused_gc
from workbench.core.imageheader import ImageDepth
from workbench.core.keypoints import KeypointSchema

_FLOAT64 = np.dtype(np.float64)


@dataclass(frozen=True)
class Source:
    """Where an instance was read from: the label file and its 1-based line."""

    label_file: Path | None = None
    line: int | None = None
    # A COCO annotation's "id": what a message names for the user to search the JSON for.
    annotation_id: int | str | None = None


@dataclass
class Instance:
    """One labeled object."""

    class_id: int
    box: np.ndarray  # (4,) float64 xyxy, pixels
    keypoints: np.ndarray | None = None  # (K, 3) float64: x, y, v
    source: Source = field(default_factory=Source)
    iscrowd: bool = False

    def __post_init__(self) -> None:
        # A reader that already made a float64 (4,) array (the YOLO reader, for each of the
        # tens of thousands of instances a validation loads) skips the conversion.
        box = self.box
        if not (type(box) is np.ndarray and box.dtype is _FLOAT64 and box.shape == (4,)):
            self.box = np.asarray(box, dtype=np.float64).reshape(4)
        if self.keypoints is not None:
            self.keypoints = np.asarray(self.keypoints, dtype=np.float64).reshape(-1, 3)

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def copy(self) -> Instance:
        kp = None if self.keypoints is None else self.keypoints.copy()
        return Instance(self.class_id, self.box.copy(), kp, self.source, self.iscrowd)

    def same_as(self, other: Instance, tol: float = 1e-6) -> bool:
        """Equal labels (class, box, keypoints), ignoring where they were read from."""
        if self.class_id != other.class_id or not np.allclose(self.box, other.box, atol=tol):
            return False
        if (self.keypoints is None) != (other.keypoints is None):
            return False
        if self.keypoints is not None:
            return self.keypoints.shape == other.keypoints.shape and bool(
                np.allclose(self.keypoints, other.keypoints, atol=tol)
            )
        return True


Loader = Callable[["ImageRecord"], None]


@dataclass(eq=False)
class ImageRecord:
    """One image and its labels.

    ``label_path`` is where the labels live (or will be written, for an unlabeled
    image); ``has_labels`` says whether that file existed when the dataset was
    opened. ``findings`` holds what went wrong while reading this record (a line
    that would not parse, an unreadable header); validation adds the rest.
    ``extra_lines`` keeps label lines the reader could not parse, so saving an edit
    to this image never silently drops something the user wrote.
    """

    path: Path
    split: str = "train"
    label_path: Path | None = None
    has_labels: bool = False
    width: int | None = None
    height: int | None = None
    instances: list[Instance] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    extra_lines: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    # The pixel format the header gave (16-bit greyscale, 8-bit RGB...), None when unknown.
    # After the older fields, so records built with positional arguments keep their meaning.
    depth: ImageDepth | None = None
    dirty: bool = False
    loaded: bool = True
    _loader: Loader | None = field(default=None, repr=False)

    def ensure_loaded(self) -> ImageRecord:
        if not self.loaded and self._loader is not None:
            self._loader(self)
            self.loaded = True
            # The loader holds the dataset, which holds this record: once it has done its
            # job, dropping it leaves no reference cycle, so a dataset whose records are
            # loaded is freed as soon as it is dropped (the cyclic collector would walk
            # every instance of it first: 0.4 s for 20k images).
            self._loader = None
        return self

    @property
    def size(self) -> tuple[int, int] | None:
        if self.width is None or self.height is None:
            return None
        return self.width, self.height

    def set_instances(self, instances: list[Instance]) -> None:
        """Replace the labels (an edit): marks the record dirty for saving."""
        self.ensure_loaded()
        self.instances = instances
        self.dirty = True


@dataclass(eq=False)
class Dataset:
    """A labeled dataset in memory, whatever format it came from.

    ``format`` names the on-disk format (``yolo``, ``yolo-pose``, ``yolo-face``,
    ``coco``, ``voc``) and ``source`` the file or folder it was opened from, so
    saving goes back to the same place in the same format. ``declared_nc`` is the
    ``nc`` the config claims (it may disagree with ``names``; validation reports it).
    """

    root: Path
    classes: list[str]
    records: list[ImageRecord] = field(default_factory=list)
    keypoints: KeypointSchema | None = None
    format: str = "yolo"
    source: Path | None = None
    config_file: Path | None = None
    declared_nc: int | None = None
    findings: list[Finding] = field(default_factory=list)
    # The class list was edited since it was read or last saved: the savers write the
    # config (data.yaml, classes.txt, COCO categories) only then, and reset it.
    classes_dirty: bool = False
    # What only the format that read the dataset uses (COCO's parsed files, YOLO's layout):
    # nothing outside that format's module reads it.
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def nc(self) -> int:
        return len(self.classes)

    @property
    def splits(self) -> dict[str, list[ImageRecord]]:
        out: dict[str, list[ImageRecord]] = {}
        for r in self.records:
            out.setdefault(r.split, []).append(r)
        return out

    def split(self, name: str) -> list[ImageRecord]:
        return [r for r in self.records if r.split == name]

    @property
    def has_keypoints(self) -> bool:
        return self.keypoints is not None

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[ImageRecord]:
        return iter(self.records)

    def load_all(self) -> Dataset:
        with paused_gc():
            for r in self.records:
                r.ensure_loaded()
        return self

    def rel(self, path: Path | None) -> str | None:
        """A path relative to the dataset root, posix style, for reports.

        A path spelled under the (absolute) root is cut by string, without touching the
        disk: every finding names its image and label file this way, and resolving
        costs a ``stat`` per path component. Other paths are resolved first, so a
        relative path or one reached through a link into the root still comes out
        relative. (A link inside the root therefore keeps the name it has under the
        root, which is the name the user knows.)
        """
        if path is None:
            return None
        fast = _under_root(os.fspath(path), os.fspath(self.root))
        if fast is not None:
            return fast
        try:
            return Path(path).resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return Path(path).as_posix()

    def dirty_records(self) -> list[ImageRecord]:
        return [r for r in self.records if r.dirty]

    def class_counts(self) -> np.ndarray:
        """Instances per class id; ids outside ``0..nc-1`` are not counted."""
        counts = np.zeros(max(self.nc, 1), dtype=np.int64)
        for r in self.records:
            for inst in r.ensure_loaded().instances:
                if 0 <= inst.class_id < len(counts):
                    counts[inst.class_id] += 1
        return counts[: self.nc]


def _under_root(path: str, root: str) -> str | None:
    """``path`` relative to ``root`` when it is spelled as a plain path below it, else None.

    Only absolute, normalized spellings qualify (no ``.``, ``..`` or empty components),
    so the answer is what ``Path.relative_to`` would give for the same strings.
    """
    if not os.path.isabs(root) or os.sep + ".." + os.sep in root + os.sep:
        return None
    prefix = root if root.endswith(os.sep) else root + os.sep
    if not path.startswith(prefix):
        return None
    parts = path[len(prefix) :].split(os.sep)
    if "" in parts or "." in parts or ".." in parts:
        return None
    return "/".join(parts)

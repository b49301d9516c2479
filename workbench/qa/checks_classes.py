"""Class checks: an id outside the class list, classes nobody uses, classes used suspiciously rarely.

A class id that appears twice among thousands of boxes of other classes is most
often a typo (``1`` for ``7``) or a label file copied from another dataset. That is a
statistical hint, so it is a warning with the counts in the message, and it only
fires when there are enough instances for "rare" to mean something.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import SetClass
from workbench.qa.instance_finding import finding_at

# Below these, class frequencies say nothing about typos.
RARE_MIN_INSTANCES = 100
RARE_MIN_MEDIAN = 20
# A class is rare when it has at most this fraction of the median used class's count
# (and at least RARE_MIN_COUNT, so two or fewer always counts as rare in a big dataset).
RARE_FRACTION = 0.01
RARE_MIN_COUNT = 2


def config_name(ds: Dataset) -> str:
    """How messages name the file that declares the classes."""
    if ds.config_file is not None:
        return ds.config_file.name
    return "the COCO categories" if ds.format == "coco" else "the dataset's class list"


def class_finding(ds: Dataset, rec: ImageRecord, i: int, inst: Instance) -> Finding:
    """The error for a class id outside ``0..nc-1``, worded for whether the dataset has classes at all."""
    cfg = config_name(ds)
    if ds.nc == 0:
        msg = f"class id {inst.class_id} cannot be checked: {cfg} defines no classes; add 'names' to the dataset config"
    else:
        msg = (
            f"class id {inst.class_id} is outside 0..{ds.nc - 1} (nc={ds.nc} in {cfg}): "
            f"change it to one of 0..{ds.nc - 1} or add the missing class to 'names'"
        )
    # With a single class there is only one id it can have meant; still not applied
    # automatically (a typo in a one-class dataset can also be a stray line).
    fix = SetClass(i, 0) if ds.nc == 1 else None
    return finding_at(ds, rec, i, inst, Severity.ERROR, "class_out_of_range", msg, fix)


@dataclass
class RecordClasses:
    """One image's class ids and the lines they are written on: enough for class statistics.

    Kept this small (and paths absolute) because it exists for every image and goes
    through the cache and between processes; paths become dataset-relative only for
    the few instances that get a finding.
    """

    rec: ImageRecord
    class_ids: list[int]
    lines: list[int | None]
    label_file: str | None = None  # where the labels are written, when not rec.label_path
    # The image's pixel format (dtype, channels) for the dataset-wide bit-depth check
    # (``checks_pixels``): a record checked in a worker process stays unloaded here.
    depth: tuple[str, int | None] | None = None

    @classmethod
    def of(cls, rec: ImageRecord) -> RecordClasses:
        insts = rec.instances
        label = insts[0].source.label_file if insts else None
        # Identity first: the YOLO reader stores rec.label_path itself, and comparing paths is slow.
        other = str(label) if label is not None and label is not rec.label_path and label != rec.label_path else None
        depth = (rec.depth.dtype, rec.depth.channels) if rec.depth is not None else None
        return cls(rec, [i.class_id for i in insts], [i.source.line for i in insts], other, depth)

    def to_list(self) -> list:
        return [self.class_ids, self.lines, self.label_file, list(self.depth) if self.depth else None]

    @classmethod
    def from_list(cls, rec: ImageRecord, v: list) -> RecordClasses:
        depth = v[3] if len(v) > 3 else None
        return cls(rec, v[0], v[1], v[2], (str(depth[0]), depth[1]) if depth else None)

    def label_path(self) -> Path | None:
        if self.label_file is not None:
            return Path(self.label_file)
        return self.rec.label_path if self.rec.has_labels else None


def rare_class_threshold(counts: np.ndarray) -> int | None:
    """How many instances or fewer make a used class rare; None when the data is too small to tell."""
    used = counts[counts > 0]
    if len(used) < 2 or counts.sum() < RARE_MIN_INSTANCES:
        return None
    median = float(np.median(used))
    if median < RARE_MIN_MEDIAN:
        return None
    return max(RARE_MIN_COUNT, int(RARE_FRACTION * median))


EMPTY_CLASSES_SHOWN = 8


def check_class_names(ds: Dataset) -> list[Finding]:
    """``duplicate_class_name``: two class ids with one name.

    VOC names a box's class by its name, and a model's classes are matched to a dataset's
    by name, so a conversion or a model would merge the two classes without a word.
    """
    first: dict[str, int] = {}
    out = []
    cfg = ds.config_file.name if ds.config_file is not None else None
    for c, name in enumerate(ds.classes):
        key = name.strip()
        if key not in first:
            first[key] = c
            continue
        out.append(
            Finding(
                Severity.WARNING,
                "duplicate_class_name",
                f"class {first[key]} and class {c} in {config_name(ds)} are both named '{name}': a conversion "
                "to VOC or a model matched by name would merge them; give each class its own name",
                label_file=cfg,
            )
        )
    return out


def check_classes(ds: Dataset, per_image: list[RecordClasses]) -> list[Finding]:
    """``rare_class`` per instance of a rare class, one ``empty_class`` naming the classes with no instance."""
    nc = ds.nc
    out_names = check_class_names(ds)
    if nc == 0:
        return out_names
    ids = np.fromiter((c for r in per_image for c in r.class_ids), dtype=np.int64)
    if len(ids) == 0:
        return out_names
    ids = ids[(ids >= 0) & (ids < nc)]
    counts = np.bincount(ids, minlength=nc)[:nc]
    out: list[Finding] = out_names
    threshold = rare_class_threshold(counts)
    if threshold is not None:
        median = int(np.median(counts[counts > 0]))
        rare = {int(c) for c in np.flatnonzero((counts > 0) & (counts <= threshold))}
        for r in per_image:
            if rare.isdisjoint(r.class_ids):
                continue
            for i, (c, line) in enumerate(zip(r.class_ids, r.lines, strict=True)):
                if c not in rare:
                    continue
                n = int(counts[c])
                out.append(
                    Finding(
                        Severity.WARNING,
                        "rare_class",
                        f"class {c} ({ds.classes[c]}) has only {n} instance{'s' * (n != 1)} while the median "
                        f"class has {median} (of {len(ids)} instances): check this label, a rare class id is "
                        "often a typo",
                        image=ds.rel(r.rec.path),
                        label_file=ds.rel(r.label_path()),
                        line=line,
                        instance=i,
                        fix=SetClass(i),
                    )
                )
    cfg = ds.config_file.name if ds.config_file is not None else None
    empty = [int(c) for c in np.flatnonzero(counts == 0)]
    if empty:
        # One finding for all of them: a 80-class COCO names list over a small dataset would
        # otherwise bury every other finding under 70 identical lines.
        shown = ", ".join(f"class {c} ({ds.classes[c]})" for c in empty[:EMPTY_CLASSES_SHOWN])
        more = f" and {len(empty) - EMPTY_CLASSES_SHOWN} more" if len(empty) > EMPTY_CLASSES_SHOWN else ""
        verb = "has" if len(empty) == 1 else "have"
        out.append(
            Finding(
                Severity.INFO,
                "empty_class",
                f"{shown}{more} in {config_name(ds)} {verb} no instances in any split: add examples "
                "or remove unused classes from 'names' (a class never seen cannot be learned)",
                label_file=cfg,
            )
        )
    return out

"""Convert a dataset from any format to any other, saying what the target cannot hold.

The readers and writers do the work; this module decides what goes into the copy
(images whose size is unknown cannot be written; with ``drop_empty_boxes`` boxes
with no area inside the image are left out, by the same rule the training
pipeline uses in ``core.arrays.record_arrays``) and counts what the target format
loses, so a conversion never drops information silently.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.arrays import record_arrays
from workbench.core.atomic import current_umask
from workbench.core.findings import Severity
from workbench.core.paths import is_file
from workbench.formats.base import DatasetError
from workbench.formats.files import portable_name
from workbench.formats.registry import FORMATS, export_dataset, open_dataset


@dataclass
class ConversionReport:
    """What a conversion wrote and what it could not carry over."""

    source_format: str
    target_format: str
    output: Path
    images: int = 0
    instances: int = 0
    classes: int = 0
    dropped_boxes: int = 0
    skipped_images: int = 0
    source_errors: int = 0
    losses: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """The report as the CLI prints it."""
        out = [
            f"converted {self.source_format} -> {self.target_format}: wrote {self.output}",
            f"  {self.images} images, {self.instances} boxes, {self.classes} classes",
        ]
        if self.dropped_boxes:
            out.append(f"  dropped {self.dropped_boxes} boxes with no area inside the image (--drop-empty-boxes)")
        if self.skipped_images:
            out.append(
                f"  skipped {self.skipped_images} images whose file is missing or unreadable "
                "(run 'workbench validate' on the source)"
            )
        out.extend(f"  lost: {loss}" for loss in self.losses)
        if self.source_errors:
            out.append(
                f"  the source has {self.source_errors} errors found while reading it: run "
                "'workbench validate' on it to see them"
            )
        return out


def convert_dataset(
    src: str | Path | Dataset, fmt: str, out: str | Path, drop_empty_boxes: bool = False
) -> ConversionReport:
    """Open ``src`` (a path in any format, or a Dataset), export it as ``fmt`` into the empty folder ``out``."""
    if fmt not in FORMATS:
        raise DatasetError(f"unknown format '{fmt}': choose one of {', '.join(FORMATS)}")
    out = Path(out)
    ds = src if isinstance(src, Dataset) else open_dataset(src)
    _refuse_nesting(ds.root, out)  # first: "OUT is the source" says more than "OUT is not empty"
    try:
        taken = out.exists() and (not out.is_dir() or any(out.iterdir()))
    except OSError as e:
        raise _unwritable(out, e) from None
    if taken:
        raise DatasetError(
            f"{out}: already exists and is not an empty folder; choose a new folder so the "
            "converted dataset does not mix with other files"
        )
    view, report = _export_view(ds, fmt, out, drop_empty_boxes)
    try:
        written = _write_into(view, fmt, out)
    except OSError as e:
        raise _unwritable(out, e) from None
    report.output = written
    return report


def _write_into(view: Dataset, fmt: str, out: Path) -> Path:
    """Export into a temporary sibling of ``out``, renamed to ``out`` once complete."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(out)
    work = Path(tempfile.mkdtemp(prefix=f"{_partial_prefix(out)}{os.getpid()}-", dir=out.parent))
    try:
        os.chmod(work, 0o777 & ~current_umask())  # mkdtemp's 0700 would stay on the renamed folder
        written = export_dataset(view, fmt, work)
        if out.exists():
            out.rmdir()  # empty, checked above
        os.replace(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return out / written.relative_to(work)


def _unwritable(out: Path, e: OSError) -> DatasetError:
    """OUT under a file, too long a name, a read-only place, a full disk: one line, not a traceback.

    The temporary sibling is removed before this is raised, so nothing is left half-written.
    """
    where = f" ({e.filename})" if e.filename and str(e.filename) != str(out) else ""
    return DatasetError(
        f"{out}: the converted dataset cannot be written there ({e.strerror or e}){where}; nothing was "
        "written: choose another folder"
    )


def _partial_prefix(out: Path) -> str:
    """The temporary sibling a conversion writes into is ``.OUT.partial-<pid>-<random>``."""
    return f".{out.name}.partial-"


def _remove_stale_partials(out: Path) -> None:
    """Remove the temporary siblings of ``out`` left by conversions that were killed.

    Only those whose process is gone: a conversion into the same folder still running in
    another process keeps its work (it fails at the rename instead, with a clear message).
    A sibling without a pid in its name comes from no running conversion and goes too.
    """
    prefix = _partial_prefix(out)
    for stale in out.parent.glob(f"{glob.escape(prefix)}*"):
        pid = stale.name[len(prefix) :].split("-", 1)[0]
        if not (pid.isdigit() and _alive(int(pid))):
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists (``kill`` with signal 0 only asks)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process (a pid too large for one)
        return False
    except OSError:
        return True  # exists but is another user's, or cannot be asked: leave its folder alone
    return True


def _refuse_nesting(root: Path, out: Path) -> None:
    """OUT inside the source would be read back as part of it (val images leaking into train)."""
    src, dst = os.path.realpath(root), os.path.realpath(out)
    if src == dst:
        raise DatasetError(
            f"{out}: the output folder is the source dataset's folder {root}; choose a new "
            "folder outside it, so the source is never overwritten"
        )
    if os.path.commonpath([src, dst]) in (src, dst):
        where = "inside" if os.path.commonpath([src, dst]) == src else "around"
        raise DatasetError(
            f"{out}: the output folder is {where} the source dataset {root}; choose a folder "
            "outside it, so the copy is never read back as part of the source"
        )


def _export_view(ds: Dataset, fmt: str, out: Path, drop_empty_boxes: bool) -> tuple[Dataset, ConversionReport]:
    """A copy of ``ds`` holding what will be written; the source dataset is not modified."""
    report = ConversionReport(ds.format, fmt, out, classes=ds.nc)
    view = Dataset(
        root=ds.root,
        # Text files get UTF-8 names: a lone surrogate (a JSON "\udce9" escape) becomes U+FFFD.
        classes=[portable_name(c) for c in ds.classes],
        keypoints=ds.keypoints,
        format=ds.format,
        source=ds.source,
        config_file=ds.config_file,
        declared_nc=ds.declared_nc,
        meta=dict(ds.meta),
    )
    with_keypoints = occluded = crowd = unread = segmentations = 0
    for rec in ds.load_all():
        if rec.width is None or rec.height is None or not is_file(rec.path):
            report.skipped_images += 1
            continue
        instances = rec.instances
        if drop_empty_boxes:
            kept = record_arrays(rec, drop_degenerate=True, clip=True).kept
            report.dropped_boxes += len(instances) - len(kept)
            instances = [instances[i] for i in kept]
        view.records.append(
            ImageRecord(
                path=rec.path,
                split=rec.split,
                label_path=rec.label_path,
                has_labels=rec.has_labels,
                width=rec.width,
                height=rec.height,
                instances=[i.copy() for i in instances],
                meta=rec.meta,
            )
        )
        report.images += 1
        report.instances += len(instances)
        for inst in instances:
            crowd += inst.iscrowd
            if inst.keypoints is not None and inst.keypoints[:, 2].any():
                with_keypoints += 1
                occluded += int((inst.keypoints[:, 2] == 1).sum())
        unread += len(rec.extra_lines) + len(rec.meta.get("coco_unparsed", ())) + len(rec.meta.get("voc_unparsed", ()))
        segmentations += sum(1 for a in rec.meta.get("coco_anns", ()) if a.get("segmentation"))
    report.source_errors = sum(f.severity is Severity.ERROR for f in ds.findings) + sum(
        f.severity is Severity.ERROR for r in ds.records for f in r.findings
    )
    if with_keypoints and fmt in ("yolo", "voc"):
        report.losses.append(
            f"keypoints of {with_keypoints} instances: {fmt} has no keypoints "
            "(convert to yolo-pose or coco to keep them)"
        )
    if occluded and fmt == "yolo-face":
        report.losses.append(
            f"{occluded} occluded keypoints (v=1) are written as plain points: yolo-face has no visibility flag"
        )
    if crowd and fmt.startswith("yolo"):
        report.losses.append(
            f"the crowd/difficult flag of {crowd} instances: YOLO has no such flag, they become ordinary boxes"
        )
    if fmt == "voc":
        report.losses.extend(_voc_name_losses(view))
    if segmentations:
        report.losses.append(
            f"segmentation masks of {segmentations} COCO annotations: only boxes and keypoints are converted"
        )
    if unread:
        report.losses.append(
            f"{unread} labels that could not be read (run 'workbench validate' on the source to see and fix them)"
        )
    return view, report


def _voc_name_losses(view: Dataset) -> list[str]:
    """What VOC, which names a box's class by its (stripped) ``<name>`` text, cannot keep."""
    out = []
    used = Counter(inst.class_id for rec in view.records for inst in rec.instances)
    merged = sorted(n for n, k in Counter(c.strip() for c in view.classes).items() if k > 1 and n)
    if merged:
        out.append(
            f"classes named alike ({', '.join(repr(n) for n in merged)}): VOC names a box's class by its name, so "
            "their boxes become one class (rename the classes in the source to keep them apart)"
        )
    blank = [i for i, c in enumerate(view.classes) if not c.strip()]
    lost = sum(used[i] for i in blank)
    if lost:
        out.append(
            f"{lost} box{'es' * (lost != 1)} of classes with an empty name ({', '.join(map(str, blank))}): "
            "a VOC <object> without a <name> cannot be read back (name the classes in the source)"
        )
    padded = [c for c in view.classes if c.strip() and c.strip() != c]
    if padded:
        out.append(
            f"the spaces around class names {', '.join(repr(c) for c in padded[:5])}: VOC reads <name> without them"
        )
    return out

"""Validation: everything wrong with a dataset, as findings, without decoding an image.

The readers already report what they meet while parsing (a line with the wrong
column count, a truncated JPEG, nc disagreeing with names); this module adds the
checks that need the parsed labels (class ids, box geometry, duplicates, keypoints)
and the whole dataset (class statistics), and puts it all in one sorted list.
"""

from __future__ import annotations

from collections.abc import Iterable

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import DeleteLine
from workbench.core.gc_pause import paused_gc
from workbench.qa.cache import ValidationCache, stamp
from workbench.qa.checks_classes import RecordClasses, check_classes
from workbench.qa.checks_image import check_image
from workbench.qa.checks_instances import check_instances
from workbench.qa.checks_pixels import check_pixel_formats
from workbench.qa.parallel import map_records

# Reader findings about the image or the whole file stay true after an edit; those
# about a parsed line are superseded by the in-memory checks once the user edits.
_FILE_LEVEL = frozenset(
    {
        "corrupt_image",
        "image_too_large",
        "missing_image",
        "unreadable_label",
        "not_utf8",
        "label_file_too_large",
        "image_size_mismatch",
    }
)


def validate_record(ds: Dataset, rec: ImageRecord) -> list[Finding]:
    """The findings of one image, from its labels as they are in memory (never re-read from disk)."""
    rec.ensure_loaded()
    out = _reader_findings(rec)
    out.extend(check_image(ds, rec))
    out.extend(check_instances(ds, rec))
    return sort_findings(out)


def validate_dataset(
    ds: Dataset, *, check_images: bool = True, workers: int | None = None, cache: bool = False
) -> list[Finding]:
    """Every finding about ``ds``, errors first, then by file and line.

    ``check_images=False`` skips the image checks that cost a read beyond the header
    (the JPEG end-of-image marker, where the reader supports skipping it) and the
    image-size warning. ``cache=True`` reuses the results of a previous run for
    images whose image and label files are unchanged (same size and mtime).
    ``workers``: processes for a large dataset (default: one per CPU; 1 = in this
    process). Records checked in worker processes stay unloaded here.
    """
    with paused_gc():  # tens of thousands of records load here
        return _validate_dataset(ds, check_images, workers, cache)


def _validate_dataset(ds: Dataset, check_images: bool, workers: int | None, cache: bool) -> list[Finding]:
    store = ValidationCache(ds) if cache else None
    stamps = [stamp(r) for r in ds.records] if store is not None else [None] * len(ds.records)
    findings, per_image = _check_records(ds, check_images, workers, store, stamps)
    findings.extend(check_classes(ds, per_image))
    findings.extend(check_no_labels(ds, per_image))
    findings.extend(check_pixel_formats(ds, per_image))
    if store is not None:
        store.retain(ds.records)
        store.save()
    return sort_findings(findings)


def _check_records(
    ds: Dataset, check_images: bool, workers: int | None, store: ValidationCache | None, stamps: list
) -> tuple[list[Finding], list[RecordClasses]]:
    """Reader and per-image findings of every record, from the cache where it is still valid."""
    findings: list[Finding] = list(ds.findings)
    per_image: list[RecordClasses] = []
    todo: list[int] = []
    for i, (rec, st) in enumerate(zip(ds.records, stamps, strict=True)):
        hit = store.get(rec, st) if store is not None and not rec.loaded else None
        if hit is None:
            todo.append(i)
        else:
            findings.extend(hit[0])
            per_image.append(hit[1])

    for i, (found, classes) in zip(todo, map_records(ds, _check_record, todo, workers), strict=True):
        rec = ds.records[i]
        if not check_images:
            found = [f for f in found if f.kind != "tiny_image"]
        findings.extend(found)
        per_image.append(RecordClasses.from_list(rec, classes))
        if store is not None and check_images:
            store.put(rec, stamps[i], found, per_image[-1])
    return findings, per_image


def check_no_labels(ds: Dataset, per_image: list[RecordClasses]) -> list[Finding]:
    """One ``no_labels`` error when images exist but not one instance does.

    Every other check is about labels that are there, so a dataset whose label files
    sit in the wrong folder validated clean and then trained on nothing.
    """
    if not per_image or any(r.class_ids for r in per_image):
        return []
    n = len(per_image)
    with_files = sum(1 for r in per_image if r.rec.has_labels)
    images = f"{n} image{'s' * (n != 1)}"
    if ds.format.startswith("yolo"):
        where = (
            "YOLO looks for each image's labels in a .txt file at the same place under labels/ "
            "(images/train/a.jpg -> labels/train/a.txt): put the label files in labels/ beside images/, "
            "or check the dataset layout"
        )
    else:
        where = f"check that the {ds.format.upper()} annotations belong to these images (file names, layout)"
    if with_files:
        what = (
            f"the dataset has {images} and {with_files} label file{'s' * (with_files != 1)}, "
            "but not one object is labeled"
        )
        where = "label the images, or fix the unreadable label lines reported above"
    else:
        what = f"the dataset has {images} but no labels at all"
    return [
        Finding(
            Severity.ERROR,
            "no_labels",
            f"{what}: {where}",
            label_file=ds.config_file.name if ds.config_file is not None else None,
        )
    ]


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then info; within a severity by file, line and instance."""
    return sorted(
        findings, key=lambda f: (f.severity.rank, f.label_file or f.image or "", f.line or 0, f.instance or 0, f.kind)
    )


def _check_record(ds: Dataset, index: int) -> tuple[list[Finding], list]:
    """What a worker sends back for one record: its findings and its class ids (list form)."""
    rec = ds.records[index]
    return validate_record(ds, rec), RecordClasses.of(rec).to_list()


def _reader_findings(rec: ImageRecord) -> list[Finding]:
    if not rec.dirty:
        return list(rec.findings)
    # After an edit, findings about a parsed instance or line describe labels that may be
    # gone or moved; a line the reader could not parse is still there while it is in
    # extra_lines, and findings about the image or the file as a whole still hold.
    extra = set(rec.extra_lines)
    return [
        f
        for f in rec.findings
        if f.kind in _FILE_LEVEL
        or (f.line is None and f.instance is None)
        or (isinstance(f.fix, DeleteLine) and f.fix.text in extra)
    ]

"""What every format shares: the error for unusable input and the finding helpers."""

from __future__ import annotations

from pathlib import Path

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import ExcludeImage, FixAction
from workbench.core.imageheader import ImageHeader
from workbench.core.paths import exists

# A config or an annotation file may say anything; more classes than this are typos or
# hostile, and every reader refuses them alike, so no conversion writes a dataset that
# another reader refuses.
MAX_CLASSES = 100_000


class DatasetError(Exception):
    """The input cannot be used at all (no such file, unreadable config...).

    The message names the file and says what to do; the CLI prints it and exits 2.
    Problems inside an otherwise usable dataset are findings, never this.
    """


def record_finding(
    ds: Dataset,
    rec: ImageRecord,
    severity: Severity,
    kind: str,
    message: str,
    line: int | None = None,
    instance: int | None = None,
    label_file: Path | None = None,
    fix: FixAction | None = None,
) -> Finding:
    """A finding located at one image (and its label file), relative to the dataset root."""
    return Finding(
        severity=severity,
        kind=kind,
        message=message,
        image=ds.rel(rec.path),
        label_file=ds.rel(label_file if label_file is not None else rec.label_path)
        if (label_file is not None or rec.has_labels)
        else None,
        line=line,
        instance=instance,
        fix=fix,
    )


def format_number(v: float) -> str:
    """Six decimals without trailing zeros: what YOLO tools write, lossless to ~1e-6."""
    s = f"{v:.6f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def note_image_header(ds: Dataset, rec: ImageRecord, header: ImageHeader, missing_message: str) -> None:
    """Take the image size from its header, with a ``missing_image``, ``corrupt_image`` or
    ``image_too_large`` finding.

    Every reader words the missing case for its own format (a split list, an .xml, a json);
    the rest is the same for all of them.
    """
    if header.width is None and not exists(rec.path):
        rec.findings.append(record_finding(ds, rec, Severity.ERROR, "missing_image", missing_message))
    elif header.problem:
        rec.findings.append(
            record_finding(
                ds,
                rec,
                Severity.ERROR,
                header.problem_kind or "corrupt_image",
                f"unusable image: {header.problem}",
                fix=ExcludeImage(),
            )
        )
    rec.width, rec.height = header.width, header.height
    rec.depth = header.depth

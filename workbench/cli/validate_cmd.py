"""`workbench validate DATA [--json] [--fix] [--no-images] [--cache]`.

Exit status: 0 when nothing is an error, 1 when something is (so a CI job or a
training script can refuse a broken dataset), 2 when the input cannot be used at all.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict

from workbench.core.annotation import Dataset
from workbench.core.findings import Finding, Severity, summarize
from workbench.core.wording import count_noun

# Human output lists this many findings of one kind, then says how many more there are.
MAX_PER_KIND = 20


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "validate",
        help="report what is wrong with a dataset (exit 1 on errors)",
        description="Check a dataset's labels and images and report every problem with its file and line. "
        "Exit status: 0 no errors, 1 errors found, 2 the dataset cannot be opened.",
    )
    p.add_argument("data", help="a data.yaml, a COCO .json, a VOC folder or a folder of images and labels")
    p.add_argument("--json", action="store_true", help='print {"findings": [...], "summary": {...}} as JSON')
    p.add_argument(
        "--fix",
        action="store_true",
        help="apply the safe fixes (clip boxes to the image, delete zero-area boxes and exact "
        "duplicates, take an image's own size over a wrong declared one), save the changed "
        "label files atomically, then report what remains",
    )
    p.add_argument(
        "--no-images", action="store_true", help="skip the image checks beyond the header (JPEG end marker, image size)"
    )
    p.add_argument(
        "--cache",
        action="store_true",
        help="reuse results for unchanged files from the previous run (keyed by size and mtime)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    from workbench.formats.base import DatasetError
    from workbench.formats.registry import open_dataset, save_dataset
    from workbench.qa import apply_safe_fixes, validate_dataset

    ds = open_dataset(args.data)
    check_images = not args.no_images
    findings = validate_dataset(ds, check_images=check_images, cache=args.cache)
    changes: list[str] = []
    if args.fix:
        changes = apply_safe_fixes(ds, findings)
        if changes:
            try:
                written = save_dataset(ds)
            except OSError as e:  # read-only file or folder, full disk: the files stay as they were
                where = e.filename or ds.source or ds.root
                raise DatasetError(
                    f"{where}: cannot save the fixes ({e.strerror or e}); nothing was "
                    "changed in that file: make it writable or free disk space, then run "
                    "--fix again"
                ) from None
            names = ", ".join(ds.rel(p) or str(p) for p in written)
            changes.append(
                f"saved {count_noun(len(written), 'changed file')}"
                + (f" ({names}); line numbers above are the lines before the fix" if written else "")
            )
            # Re-read what was saved, so the remaining findings name the lines as they are now.
            ds = open_dataset(args.data)
            findings = validate_dataset(ds, check_images=check_images, cache=args.cache)
    summary = summarize(findings)
    try:
        _print(args, ds, findings, summary, changes)
    except BrokenPipeError:  # `workbench validate DATA | head`: the reader left, not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1 if summary["by_severity"][Severity.ERROR.value] else 0


def _print(args: argparse.Namespace, ds: Dataset, findings: list[Finding], summary: dict, changes: list[str]) -> None:
    if args.json:
        out = {"findings": [f.to_dict() for f in findings], "summary": summary}
        if args.fix:
            out["fixed"] = changes
        json.dump(out, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        if args.fix:
            print("\n".join(changes) if changes else "nothing to fix safely")
            print()
        print(format_report(findings, summary, f"{args.data} ({len(ds)} images, {ds.nc} classes, {ds.format})"))


def where(f: Finding) -> str:
    """``file:line``; for a label file without lines (COCO JSON) also the image and instance."""
    loc = f.location()
    if f.line is None and f.image and f.label_file and f.image != f.label_file:
        inst = f", instance {f.instance}" if f.instance is not None else ""
        loc = f"{loc} ({f.image}{inst})"
    return loc


def format_report(findings: list[Finding], summary: dict, title: str) -> str:
    """Findings grouped by severity, ``file:line: message [kind]``, then a one-line summary."""
    lines = [title]
    by_sev: dict[Severity, list[Finding]] = defaultdict(list)
    for f in findings:
        by_sev[f.severity].append(f)
    for sev in Severity:
        group = by_sev.get(sev)
        if not group:
            continue
        lines.append("")
        lines.append(f"{sev.value}s ({len(group)}):")
        shown: dict[str, int] = defaultdict(int)
        for f in group:
            shown[f.kind] += 1
            if shown[f.kind] <= MAX_PER_KIND:
                loc = where(f)
                lines.append(f"  {loc + ': ' if loc else ''}{f.message} [{f.kind}]")
        for kind, n in shown.items():
            if n > MAX_PER_KIND:
                lines.append(f"  ... and {n - MAX_PER_KIND} more [{kind}] (--json lists them all)")
    counts = summary["by_severity"]
    lines.append("")
    if summary["total"] == 0:
        lines.append("no problems found")
    else:
        kinds = ", ".join(f"{k} {n}" for k, n in summary["by_kind"].items())
        lines.append(
            f"{count_noun(counts['error'], 'error')}, {count_noun(counts['warning'], 'warning')}, "
            f"{counts['info']} info ({kinds})"
        )
    return "\n".join(lines)

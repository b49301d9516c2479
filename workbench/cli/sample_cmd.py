"""`workbench sample [DIR]`: write the bundled sample dataset."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "sample",
        help="write the sample dataset (3 classes, 5 landmarks, a few mistakes)",
        description="Write the bundled sample dataset: 48 images of three kinds of cartoon head "
        "with boxes and 5 landmarks, and a few deliberate labeling mistakes for "
        "validation and label QC to find.",
    )
    p.add_argument(
        "dir",
        nargs="?",
        default=None,
        help="where to write it (default: workbench-sample, or workbench-thermal-sample with --thermal)",
    )
    p.add_argument(
        "--thermal",
        action="store_true",
        help="write the thermal sample instead: 32 16-bit greyscale frames (PNG and TIFF, raw counts "
        "~7000..8000) with boxes and a few mistakes",
    )
    return p


def run(args: argparse.Namespace) -> int:
    from workbench.sample_data import INJECTED_MISTAKES, THERMAL_MISTAKES, write_sample, write_thermal_sample

    if args.thermal:
        yaml_path, mistakes = write_thermal_sample(Path(args.dir or "workbench-thermal-sample")), THERMAL_MISTAKES
    else:
        yaml_path, mistakes = write_sample(Path(args.dir or "workbench-sample")), INJECTED_MISTAKES
    print(f"wrote {yaml_path}")
    print(f"  {len(mistakes)} labels are wrong on purpose; find them with:")
    print(f"  workbench validate {yaml_path}")
    print(f"  workbench open {yaml_path}")
    return 0

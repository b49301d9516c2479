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
    p.add_argument("dir", nargs="?", default="workbench-sample", help="where to write it (default: %(default)s)")
    return p


def run(args: argparse.Namespace) -> int:
    from workbench.sample_data import INJECTED_MISTAKES, write_sample

    yaml_path = write_sample(Path(args.dir))
    print(f"wrote {yaml_path}")
    print(f"  {len(INJECTED_MISTAKES)} labels are wrong on purpose; find them with:")
    print(f"  workbench validate {yaml_path}")
    print(f"  workbench open {yaml_path}")
    return 0

"""`workbench convert SRC --to FORMAT OUT [--drop-empty-boxes]`: export a dataset in another format."""

from __future__ import annotations

import argparse

from workbench.formats.registry import FORMATS


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "convert",
        help="convert a dataset to another format",
        description="Open SRC (a data.yaml, a COCO .json, a VOC folder or any dataset folder) and write a copy "
        "in another format into OUT, a new or empty folder. Images are hard-linked when possible. "
        "Whatever the target format cannot hold (keypoints in VOC, crowd flags in YOLO...) is "
        "listed after the conversion.",
    )
    p.add_argument("src", metavar="SRC", help="the dataset to convert")
    p.add_argument("--to", required=True, choices=FORMATS, dest="fmt", help="the target format")
    p.add_argument("out", metavar="OUT", help="where to write the converted dataset (a new or empty folder)")
    p.add_argument(
        "--drop-empty-boxes",
        action="store_true",
        help="leave out boxes with no area inside the image (the ones that crash Faster R-CNN)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    from workbench.formats.convert import convert_dataset

    report = convert_dataset(args.src, args.fmt, args.out, drop_empty_boxes=args.drop_empty_boxes)
    print("\n".join(report.lines()))
    return 0

"""`workbench eval WEIGHTS DATA`: COCO bbox AP (and keypoint OKS AP) of a checkpoint on a split."""

from __future__ import annotations

import argparse
import json
from typing import Any

from workbench.cli.arg_types import positive_int
from workbench.cli.model_loading import add_class_map_argument


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "eval",
        help="COCO mAP (and keypoint AP) of a checkpoint on a dataset split",
        description="Evaluate a Workbench checkpoint with pycocotools on one split of a dataset.",
    )
    p.add_argument("weights", help="a Workbench checkpoint (best.pt / last.pt)")
    p.add_argument("data", help="dataset: data.yaml, COCO .json or folder")
    p.add_argument("--split", default="val")
    p.add_argument("--batch", type=positive_int, default=4)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda:N")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    add_class_map_argument(p)
    return p


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from workbench.cli.model_loading import class_mapping, load_predictor, resolve_weights
    from workbench.formats.base import DatasetError
    from workbench.formats.registry import open_dataset
    from workbench.train.data import ImageReadError
    from workbench.train.evaluate import predict_records
    from workbench.train.metrics import evaluate
    from workbench.train.models import get_spec

    predictor = load_predictor(resolve_weights(Path(args.weights)), args.device)
    ds = open_dataset(args.data)
    records = ds.split(args.split)
    if not records:
        have = ", ".join(sorted(ds.splits)) or "none"
        raise DatasetError(f"{args.data}: no images in split '{args.split}' (splits: {have}); use --split")
    schema = predictor.keypoints
    if schema is not None and ds.keypoints is None:
        raise DatasetError(f"{args.weights} predicts {schema.num_keypoints} keypoints but {args.data} has none")
    mapping = class_mapping(predictor, ds, args.weights, args.data, args.class_map)
    try:
        predictions = predict_records(
            predictor.model,
            get_spec(predictor.model_name),
            records,
            schema,
            predictor.device,
            args.batch,
            input_range=predictor.input_range,
        )
    except ImageReadError as e:  # mAP over fewer images than the split has would be another number
        raise DatasetError(f"{e} (evaluation needs every image of the split '{args.split}')") from None
    # Scored in the dataset's classes (and keypoint order): a mapped class is scored as its target.
    result = evaluate(
        records, [mapping.apply(p) for p in predictions], ds.classes, None if schema is None else ds.keypoints
    )
    if args.json:
        print(
            json.dumps(
                {
                    "weights": str(args.weights),
                    "data": str(args.data),
                    "split": args.split,
                    "images": len(records),
                    **result,
                }
            )
        )
        return 0
    print(f"{args.weights} on {args.data} [{args.split}, {len(records)} images]")
    for key, value in result["metrics"].items():
        print(f"  {key:<12} {value:.4f}")
    if result["per_class"]:
        print("  per-class AP50-95:")
        for name, ap in result["per_class"].items():
            print(f"    {name:<20} {'-' if ap < 0 else f'{ap:.4f}'}")
    return 0

"""`workbench train DATA`: validate the dataset, then fine-tune a torchvision detector.

The progress line consumes the same event stream as the GUI plots (``train.events``).
Under ``torchrun --nproc_per_node=N -m workbench train ...`` every process runs this
command and rank 0 does the talking and the writing.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

from workbench.cli.arg_types import non_negative_float, non_negative_int, positive_float, positive_int
from workbench.train.console import TrainProgress
from workbench.train.events import EndReason

# Exit status per end reason: 0 ended as asked, 1 the run failed (its settings), 2 bad input.
EXIT = {EndReason.FINISHED: 0, EndReason.STOPPED: 0, EndReason.NAN: 1, EndReason.OOM: 1, EndReason.ERROR: 2}


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        help="fine-tune a detector (boxes or keypoints) on a dataset",
        description="Fine-tune a torchvision detector. The dataset is validated first; "
        "errors stop the run with the list.",
    )
    p.add_argument("data", help="dataset: data.yaml, COCO .json or folder")
    add_model_arguments(p)
    p.add_argument("--out", default="runs", help="folder that receives the run folder")
    p.add_argument("--name", default="train", help="run folder name (a number is added if it exists)")
    p.add_argument("--resume", default="", metavar="RUN", help="run folder (or its last.pt) to continue")
    p.add_argument("--lr", type=positive_float, default=0.0, help="initial lr (default: 0.01 SGD, 0.0005 AdamW)")
    p.add_argument("--optimizer", choices=["sgd", "adamw"], default="sgd")
    p.add_argument("--scheduler", choices=["cosine", "step", "constant"], default="cosine")
    p.add_argument("--warmup-epochs", type=non_negative_float, default=1.0)
    p.add_argument("--accumulate", type=positive_int, default=1, help="batches per optimizer step")
    p.add_argument("--clip-grad", type=non_negative_float, default=10.0, help="max gradient norm (0: off)")
    p.add_argument("--freeze-backbone-epochs", type=non_negative_int, default=0)
    p.add_argument("--workers", type=non_negative_int, default=2, help="DataLoader worker processes")
    p.add_argument("--no-amp", action="store_true", help="disable mixed precision on CUDA")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-augment", action="store_true", help="no horizontal flips")
    p.add_argument(
        "--input-range",
        default="auto",
        metavar="auto|percentile|none|LO,HI",
        help="how 16-bit / float images become the model's input: auto (a fixed range over the training "
        "images, computed once; 8-bit data as is), percentile (each image's 1st..99th), none, or LO,HI raw "
        "values; stored in the checkpoint (default auto)",
    )
    p.add_argument("--skip-validation", action="store_true", help="train even if validation finds errors")
    p.add_argument("--json", action="store_true", help="print events as JSON lines instead of a progress line")
    return p


def add_model_arguments(p: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--model, --epochs, --imgsz, --batch, --device, --weights: which model trains, how long, where.

    Shared with `workbench qc --kfold`, which trains one model per fold, so both commands
    take the same flags with the same defaults.
    """
    p.add_argument(
        "--model",
        default="",
        help="model name (default: keypointrcnn_mobilenet_v3_large_fpn for "
        "keypoint datasets, fasterrcnn_mobilenet_v3_large_fpn otherwise)",
    )
    p.add_argument("--epochs", type=positive_int, default=30, help="passes over the training images (default 30)")
    p.add_argument(
        "--imgsz", type=positive_int, default=640, help="longer image side fed to the model (pixels; default 640)"
    )
    p.add_argument("--batch", type=positive_int, default=4, help="images per batch (default 4)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda:N (default auto)")
    p.add_argument(
        "--weights",
        default="default",
        help="default (torchvision pretrained), none (from scratch) or a checkpoint/state_dict path",
    )


def config_from_args(args: argparse.Namespace) -> Any:
    from workbench.train.config import TrainConfig

    return TrainConfig(
        data=args.data,
        model=args.model,
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        device=args.device,
        weights=args.weights,
        out=args.out,
        name=args.name,
        resume=args.resume,
        lr=args.lr,
        optimizer=args.optimizer,
        scheduler=args.scheduler,
        warmup_epochs=args.warmup_epochs,
        accumulate=args.accumulate,
        clip_grad=args.clip_grad,
        freeze_backbone_epochs=args.freeze_backbone_epochs,
        workers=args.workers,
        amp=not args.no_amp,
        seed=args.seed,
        augment=not args.no_augment,
        input_range=args.input_range,
    )


def _is_main_process() -> bool:
    return os.environ.get("RANK", "0") == "0"


def validation_errors(data: str, out: TextIO) -> list[str]:
    """Error findings of ``workbench.qa.validate``; empty (with a note) where it is not installed."""
    try:
        from workbench.qa.validate import validate_dataset
    except ImportError:
        print("note: dataset validation is not available in this build; training without it", file=out)
        return []
    from workbench.core.findings import Severity
    from workbench.formats.registry import open_dataset

    ds = open_dataset(data)
    return [str(f) for f in validate_dataset(ds) if f.severity == Severity.ERROR]


def run(args: argparse.Namespace) -> int:
    from workbench.train.engine import train
    from workbench.train.worker import EventWriter

    main = _is_main_process()
    if not args.resume and not args.skip_validation:
        errors = validation_errors(args.data, sys.stderr if main else open(os.devnull, "w"))
        if errors:
            if main:
                print(
                    f"workbench train: {args.data} has {len(errors)} error(s); fix them (see `workbench "
                    f"validate`) or pass --skip-validation:",
                    file=sys.stderr,
                )
                for line in errors[:50]:
                    print(f"  {line}", file=sys.stderr)
                if len(errors) > 50:
                    print(f"  ... and {len(errors) - 50} more", file=sys.stderr)
            return 2
    # --json: the very lines the GUI's worker process writes (one JSON object per event).
    callback = EventWriter(sys.stdout) if args.json else TrainProgress(sys.stdout)
    result = train(config_from_args(args), [callback] if main else [])
    if result.reason == EndReason.ERROR and main:
        print(f"workbench train: {result.message}", file=sys.stderr)
    return EXIT.get(result.reason, 1)

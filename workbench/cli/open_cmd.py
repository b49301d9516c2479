"""`workbench open DATA`: the annotation GUI on a dataset (also what `workbench` alone runs)."""

from __future__ import annotations

import argparse
import sys

# What run() reads, for `workbench` with no command (cli.main fills these in).
DEFAULTS: dict[str, object] = {"screenshot": None, "run": None, "view": "train"}


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "open",
        help="open a dataset in the annotation GUI",
        description="Open a dataset (a folder, a YOLO data.yaml or a COCO JSON) in the GUI: "
        "browse images, fix boxes, classes and keypoints, review validation findings.",
    )
    p.add_argument(
        "data",
        nargs="?",
        default=None,
        help="dataset folder, data.yaml or COCO JSON (default: the last dataset, or the start page)",
    )
    # SUPPRESS: `workbench --screenshot X open DATA` keeps the top-level value.
    p.add_argument(
        "--screenshot",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="render the main window at 1400x900 to a PNG once loaded, then exit",
    )
    p.add_argument(
        "--run",
        metavar="RUN",
        default=None,
        help="a training run folder (or a checkpoint in one) to show with the dataset",
    )
    p.add_argument(
        "--view",
        choices=["train", "predictions", "qc"],
        default="train",
        help="with --run: the train panel with the run's curves, the first image with its "
        "predictions, or the Label QC panel judging every label with the run's model "
        "(default: train)",
    )
    return p


def run(args: argparse.Namespace) -> int:
    screenshot = getattr(args, "screenshot", DEFAULTS["screenshot"])
    if getattr(args, "run", None):
        if not args.data:
            print("workbench: --run needs a dataset: workbench open DATA --run RUN", file=sys.stderr)
            return 2
        if args.view in ("predictions", "qc"):
            _check_run_checkpoint(args.run)
        from workbench.gui.training.run_view import open_with_run

        return open_with_run(args.data, args.run, args.view, screenshot)
    from workbench.gui.app import run as run_gui

    return run_gui(getattr(args, "data", None), screenshot)


def _check_run_checkpoint(run: str) -> None:
    """Load the checkpoint the view would predict with, once, before any window opens.

    The GUI turns a refused checkpoint into a message in its viewer and keeps running,
    which is right for a person and wrong for ``--screenshot``: it would wait out its
    timeout for predictions that never come. Here it is one line on stderr and exit 2.
    """
    from pathlib import Path

    from workbench.cli.model_loading import load_predictor, resolve_weights

    path = Path(run)
    if path.is_file() and path.suffix == ".pt":
        path = path.parent  # the view predicts with the run's best.pt (else last.pt), whichever file was named
    if path.is_dir():
        load_predictor(resolve_weights(path), "cpu")

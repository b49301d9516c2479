"""`workbench qc WEIGHTS_OR_RUN DATA [--json] [--split S] [--top N] [--conf C]`: label QC, headless.

Runs a trained checkpoint over the dataset at a low confidence threshold and ranks the
labels it disagrees with (``workbench.qa.label_qc``), the same list the GUI's Label QC
panel shows.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.qa.label_qc import Suspect

RUN_WEIGHTS = ("best.pt", "last.pt")  # in a run folder, in order of preference


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "qc", help="rank the labels a trained model disagrees with",
        description="Predict DATA with the model in WEIGHTS_OR_RUN (a .pt checkpoint, or a run folder: its best.pt, "
                    "else last.pt) and list the labels most likely wrong, most likely first: class swaps, missing "
                    "labels, badly placed boxes, landmarks off, labels the model finds no trace of. For an honest "
                    "judgement use a model that did not train on these images (the val split, or k-fold).")
    p.add_argument("weights", metavar="WEIGHTS_OR_RUN", help="a checkpoint file or a training run folder")
    p.add_argument("data", metavar="DATA", help="the dataset (a data.yaml, a COCO .json or a dataset folder)")
    p.add_argument("--json", action="store_true", help='print {"suspects": [...]} instead of a table')
    p.add_argument("--split", help="only this split (e.g. val); default: every image")
    p.add_argument("--top", type=int, default=30, metavar="N", help="show the N most likely (0: all; default 30)")
    p.add_argument("--conf", type=float, default=0.01,
                   help="keep predictions down to this score (default 0.01: QC needs the model's doubts too)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--batch", type=int, default=4, help="images per forward pass (default 4)")
    return p


def run(args: argparse.Namespace) -> int:
    from workbench.formats.base import DatasetError
    from workbench.formats.registry import open_dataset
    from workbench.qa.label_qc import find_label_issues

    if not 0.0 <= args.conf <= 1.0:
        raise DatasetError(f"--conf {args.conf}: a score threshold must be between 0 and 1")
    weights = resolve_weights(Path(args.weights))
    ds = open_dataset(args.data)
    records = ds.records if args.split is None else ds.split(args.split)
    if not records:
        have = ", ".join(sorted(ds.splits)) or "none"
        raise DatasetError(f"{args.data}: no images in split '{args.split}' (splits: {have})")

    predictor = load_predictor(weights, args.device, args.conf)
    _check_classes(predictor, ds.classes, weights, args.data)
    progress = None if args.json or not sys.stderr.isatty() else _progress_line
    predictions = predictor.predict_paths([r.path for r in records], batch_size=args.batch, progress=progress)
    if progress is not None:
        print(file=sys.stderr)
    for path, why in sorted(getattr(predictor, "failed", {}).items()):
        print(f"workbench: {ds.rel(path)}: not judged, the image could not be read ({why})", file=sys.stderr)

    suspects = find_label_issues(ds, predictions, records=records)
    shown = suspects if args.top <= 0 else suspects[: args.top]
    if args.json:
        print(json.dumps({"suspects": [s.to_dict() for s in shown], "total": len(suspects),
                          "images": len(predictions), "by_kind": _by_kind(suspects)}, indent=1))
    else:
        print(_table(suspects, len(shown), len(predictions)))
    return 0


def resolve_weights(path: Path) -> Path:
    """A checkpoint file, or a run folder's best (else last) checkpoint; a clear error otherwise."""
    from workbench.formats.base import DatasetError

    if path.is_dir():
        for name in RUN_WEIGHTS:
            if (path / name).is_file():
                return path / name
        raise DatasetError(f"{path}: this run folder holds no {' or '.join(RUN_WEIGHTS)}; "
                           "train first (workbench train) or pass a checkpoint file")
    if not path.is_file():
        raise DatasetError(f"{path}: no such checkpoint file or run folder")
    return path


def load_predictor(weights: Path, device: str, conf: float) -> Any:
    """The engine's Predictor, imported here so that `workbench qc --help` does not load torch."""
    from workbench.formats.base import DatasetError
    from workbench.train.predictor import Predictor

    try:
        return Predictor(weights, device=device, conf=conf)
    except (OSError, RuntimeError, ValueError, KeyError) as e:
        # CheckpointError is a RuntimeError that already names the file.
        msg = str(e) if str(weights) in str(e) else f"{weights}: cannot load the model ({e})"
        raise DatasetError(msg) from None


def _check_classes(predictor: Any, classes: list[str], weights: Path, data: str) -> None:
    """Refuse a model of another class list: its class ids would mean different things."""
    from workbench.formats.base import DatasetError

    model_classes = list(getattr(predictor, "classes", classes))
    if len(model_classes) != len(classes):
        raise DatasetError(f"{weights}: the model knows {len(model_classes)} classes ({_names(model_classes)}) but "
                           f"{data} has {len(classes)} ({_names(classes)}); QC needs a model trained on this "
                           "dataset's classes")
    if model_classes != classes:
        print(f"workbench: warning: the model's class names ({_names(model_classes)}) differ from the dataset's "
              f"({_names(classes)}); comparing by class id", file=sys.stderr)


def _names(classes: list[str], limit: int = 5) -> str:
    more = f", ... {len(classes) - limit} more" if len(classes) > limit else ""
    return ", ".join(classes[:limit]) + more


def _progress_line(done: int, total: int) -> None:
    print(f"\rpredicting {done}/{total}", end="", file=sys.stderr, flush=True)


def _by_kind(suspects: list[Suspect]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in suspects:
        out[s.kind] = out.get(s.kind, 0) + 1
    return dict(sorted(out.items()))


def _table(every: list[Suspect], top: int, images: int) -> str:
    if not every:
        return f"no suspects in {images} images: the model agrees with the labels"
    suspects = every[:top]
    where = [s.location() for s in suspects]
    ww = max(len("where"), *(len(w) for w in where))
    kw = max(len("kind"), *(len(s.kind) for s in suspects))
    lines = [f"{'#':>3}  {'score':>5}  {'kind':<{kw}}  {'where':<{ww}}  message"]
    for n, (s, w) in enumerate(zip(suspects, where, strict=True), 1):
        lines.append(f"{n:>3}  {s.score:5.2f}  {s.kind:<{kw}}  {w:<{ww}}  {s.message}")
    kinds = ", ".join(f"{k} {v}" for k, v in _by_kind(every).items())
    head = f"top {top} of {len(every)}" if top < len(every) else f"{len(every)}"
    lines.append(f"{head} suspects in {images} images ({kinds}); fix them in the GUI's Label QC panel or by hand")
    return "\n".join(lines)

"""`workbench qc WEIGHTS_OR_RUN DATA` or `workbench qc DATA --kfold K`: label QC, headless.

Runs a trained checkpoint over the dataset at a low confidence threshold and ranks the
labels it disagrees with (``workbench.qa.label_qc``), the same list the GUI's Label QC
panel shows. A model tends to reproduce the mistakes it was trained on, so ``--kfold K``
trains K fold models instead (``workbench.train.kfold``) and judges every image with the
one that never saw it: out-of-sample, at the cost of K trainings. The output is the same
either way; in JSON ``out_of_sample`` is ``{"k", "runs", "folds"}`` after --kfold and null
for a given model (which may or may not have trained on these images: QC cannot tell).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.cli.arg_types import non_negative_int, probability
from workbench.cli.model_loading import add_class_map_argument, class_mapping, load_predictor, resolve_weights
from workbench.cli.train_cmd import add_model_arguments
from workbench.train.events import EndReason

if TYPE_CHECKING:
    from workbench.core.annotation import Dataset, ImageRecord
    from workbench.core.prediction import Prediction
    from workbench.qa.label_qc import Suspect
    from workbench.qa.qc_reliability import ModelReliability, Provenance

# Options that only mean something when --kfold trains fold models; their defaults (None
# here) become TrainConfig's, which are `workbench train`'s.
KFOLD_ONLY = ("model", "epochs", "imgsz", "weights", "out")
USAGE = """workbench qc WEIGHTS_OR_RUN DATA [--json] [--split S] [--top N] [--conf C] [--device D] [--batch B]
                    [--class-map CKPT=DATA,...]
       workbench qc DATA --kfold K [--epochs E] [--model M] [--imgsz PX] [--weights W] [--out RUNS] [...]"""


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "qc",
        help="rank the labels a trained model disagrees with",
        usage=USAGE,
        description="Predict DATA with the model in WEIGHTS_OR_RUN (a .pt checkpoint, or a run folder: its best.pt, "
        "else last.pt) and list the labels most likely wrong, most likely first: class swaps, missing "
        "labels, badly placed boxes, landmarks off, labels the model finds no trace of. For an honest "
        "judgement use a model that did not train on these images: the val split, or --kfold K, which "
        "trains K models on DATA itself, each on K-1 folds, and judges every image with the model "
        "that did not see it.",
    )
    p.add_argument(
        "checkpoint",
        nargs="?",
        metavar="WEIGHTS_OR_RUN",
        help="a checkpoint file or a training run folder (not with --kfold)",
    )
    p.add_argument(
        "data", nargs="?", metavar="DATA", help="the dataset (a data.yaml, a COCO .json or a dataset folder)"
    )
    p.add_argument("--json", action="store_true", help='print {"suspects": [...]} instead of a table')
    p.add_argument("--split", help="only this split (e.g. val); default: every image")
    p.add_argument(
        "--top", type=non_negative_int, default=30, metavar="N", help="show the N most likely (0: all; default 30)"
    )
    p.add_argument(
        "--conf",
        type=probability,
        default=0.01,
        help="keep predictions down to this score (default 0.01: QC needs the model's doubts too)",
    )
    add_class_map_argument(p)
    g = p.add_argument_group(
        "k-fold (out-of-sample)",
        "Train K fold models like `workbench train` (same flags and defaults) into RUNS/qc_kfold; --batch and "
        "--device also apply to prediction. --split limits the folds to that split's images.",
    )
    g.add_argument("--kfold", type=int, metavar="K", help="train K fold models (K >= 2) instead of WEIGHTS_OR_RUN")
    add_model_arguments(g)
    g.add_argument("--out", metavar="RUNS", help="folder that receives the qc_kfold run folder (default runs)")
    p.set_defaults(**dict.fromkeys(KFOLD_ONLY))
    return p


def run(args: argparse.Namespace) -> int:
    from workbench.formats.base import DatasetError
    from workbench.formats.registry import open_dataset

    checkpoint, data = _check_invocation(args)
    if not 0.0 <= args.conf <= 1.0:
        raise DatasetError(f"--conf {args.conf}: a score threshold must be between 0 and 1")
    weights = None if checkpoint is None else resolve_weights(Path(checkpoint))
    ds = open_dataset(data)
    records = ds.records if args.split is None else ds.split(args.split)
    if not records:
        have = ", ".join(sorted(ds.splits)) or "none"
        raise DatasetError(f"{data}: no images in split '{args.split}' (splits: {have})")

    from workbench.qa.qc_reliability import OUT_OF_SAMPLE, measure_reliability, reference_records

    if weights is None:
        from workbench.train.kfold import FoldTrainingError

        try:
            predictions, failed, kfold = _kfold_predictions(args, data, ds, records)
        except FoldTrainingError as e:
            if e.reason == EndReason.ERROR:  # bad input: the dataset, the weights, the device
                raise DatasetError(str(e)) from None
            print(f"workbench: {e}", file=sys.stderr)  # nan, oom: the fold's settings, not the input
            return 1
        provenance = OUT_OF_SAMPLE
        reliability = measure_reliability(ds, predictions, records, source="k-fold")
        judged = predictions
    else:
        predictions, failed, provenance, classes_match = _model_predictions(args, weights, data, ds, records)
        kfold = None
        # How good the model is, on the labeled images it never trained on, whatever --split
        # asked to judge: those are predicted too (and not judged) when the split leaves them out.
        held_out = reference_records(ds, provenance)
        reliability = measure_reliability(
            ds, predictions, held_out, source="held-out images", checkpoint_map50=provenance.val_map50
        )
        reliability.classes_match = classes_match
        in_scope = {r.path for r in records}
        judged = {p: v for p, v in predictions.items() if p in in_scope}
    for path, why in sorted(failed.items()):
        print(f"workbench: {ds.rel(path)}: not judged, the image could not be read ({why})", file=sys.stderr)

    from workbench.qa.label_qc import find_label_issues

    suspects = find_label_issues(ds, judged, records=records, reliability=reliability, provenance=provenance)
    shown = suspects if args.top <= 0 else suspects[: args.top]
    if args.json:
        print(
            json.dumps(
                {
                    "model": reliability.to_dict(),
                    "suspects": [s.to_dict() for s in shown],
                    "total": len(suspects),
                    "likely": sum(s.likely for s in suspects),
                    "images": len(judged),
                    "by_kind": _by_kind(suspects),
                    "out_of_sample": kfold,
                },
                indent=1,
            )
        )
    else:
        print(_model_line(reliability))
        print(_table(suspects, len(shown), len(judged)))
        if kfold is not None:
            print(
                f"out-of-sample: each image judged by the one of {kfold['k']} fold models that did not train "
                f"on it (models in {kfold['runs']})"
            )
    return 0


def _check_invocation(args: argparse.Namespace) -> tuple[str | None, str]:
    """(checkpoint or None, data): the two shapes of the command, or a usage error that says which is which."""
    from workbench.formats.base import DatasetError

    given = [a for a in (args.checkpoint, args.data) if a is not None]
    if args.kfold is None:
        stray = [f"--{name}" for name in KFOLD_ONLY if getattr(args, name) is not None]
        if stray:
            verb = "applies" if len(stray) == 1 else "apply"
            raise DatasetError(f"{', '.join(stray)} only {verb} with --kfold K, to the fold models it trains")
        if len(given) != 2:
            raise DatasetError(
                "qc needs a model and a dataset: `workbench qc WEIGHTS_OR_RUN DATA`, or "
                "`workbench qc DATA --kfold K` to train out-of-sample fold models on DATA"
            )
        return args.checkpoint, args.data
    if len(given) != 1:
        why = "both WEIGHTS_OR_RUN and DATA" if given else "no DATA"
        raise DatasetError(
            f"--kfold {args.kfold} trains its own fold models and takes only DATA, but got {why}: "
            "`workbench qc DATA --kfold K`"
        )
    if args.kfold < 2:
        raise DatasetError(f"--kfold {args.kfold}: k-fold needs at least 2 folds")
    if args.class_map is not None:
        raise DatasetError("--class-map maps a given checkpoint's classes; --kfold trains on DATA's own classes")
    return None, given[0]


def _model_predictions(
    args: argparse.Namespace, weights: Path, data: str, ds: Dataset, records: list[ImageRecord]
) -> tuple[dict[Path, list[Prediction]], dict[Path, str], Provenance, bool]:
    """One trained model over the records and the labeled images it never trained on:
    (predictions, unreadable images with the reason, what the model learned from, whether
    its classes are the dataset's by name without a --class-map)."""
    from workbench.qa.qc_reliability import Provenance, reference_records

    predictor = load_predictor(weights, args.device, args.conf)
    mapping = class_mapping(predictor, ds, weights, data, args.class_map)
    provenance = getattr(predictor, "provenance", None) or Provenance()
    wanted = {r.path: None for r in records}
    wanted.update({r.path: None for r in reference_records(ds, provenance)})
    progress = None if args.json or not sys.stderr.isatty() else _progress_line
    predictions = predictor.predict_paths(list(wanted), batch_size=args.batch, progress=progress)
    if progress is not None:
        print(file=sys.stderr)
    classes_match = args.class_map is None
    return mapping.apply_all(predictions), dict(getattr(predictor, "failed", {})), provenance, classes_match


def _kfold_predictions(
    args: argparse.Namespace,
    data: str,
    ds: Dataset,
    records: list[ImageRecord],
) -> tuple[dict[Path, list[Prediction]], dict[Path, str], dict[str, Any]]:
    """Out-of-sample predictions from ``args.kfold`` fold models: (predictions, unreadable images, JSON summary)."""
    from workbench.formats.base import DatasetError
    from workbench.train.config import TrainConfig
    from workbench.train.console import TrainProgress
    from workbench.train.kfold import kfold_engine_predictions

    k = args.kfold
    if k > len(records):
        raise DatasetError(
            f"--kfold {k}: {data} has only {len(records)} images to split"
            + (f" in '{args.split}'" if args.split else "")
            + f"; use --kfold 2..{len(records)}"
        )
    given = {name: getattr(args, name) for name in KFOLD_ONLY}
    base = TrainConfig(
        data=str(data),
        batch=args.batch,
        device=args.device,
        **{name: value for name, value in given.items() if value is not None},
    )
    # The engine's own lines (epochs, warnings) on stderr; with --json only its warnings.
    console: Any = _EngineWarnings(sys.stderr) if args.json else TrainProgress(sys.stderr)
    result = kfold_engine_predictions(
        ds,
        k,
        base,
        records=records,
        conf=args.conf,
        callbacks=[console],
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    summary = {
        "k": k,
        "runs": str(result.root),
        "reused": result.reused,
        "folds": [
            {
                "fold": f.fold,
                "run": str(f.run_dir),
                "trained_on": len(f.trained_on),
                "held_out": len(f.held_out),
                "metrics": f.metrics,
            }
            for f in result.folds
        ],
    }
    return result.predictions, result.failed, summary


class _EngineWarnings:
    """Only the engine's warnings, for --json runs: stdout stays JSON, stderr stays short."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def on_log(self, event: Any) -> None:
        if event.level != "info":
            print(f"{event.level}: {event.message}", file=self.stream, flush=True)


def _model_line(rel: ModelReliability) -> str:
    """The verdict above the table: how good the model is and what QC makes of it."""
    if rel.judges_reliably:
        return f"model: {rel.reason}; likely mistakes first"
    return f"model: {rel.reason}; no suspect is marked as a likely mistake"


def _progress_line(done: int, total: int) -> None:
    print(f"\rpredicting {done}/{total}", end="", file=sys.stderr, flush=True)


def _by_kind(suspects: list[Suspect]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in suspects:
        out[s.kind] = out.get(s.kind, 0) + 1
    return dict(sorted(out.items()))


def _table(every: list[Suspect], top: int, images: int) -> str:
    """One row per suspect: likely mistakes (marked ``!``) first, with the probability the
    label is wrong when the model was measured, else QC's raw score; ``in`` marks a
    judgement by a model that trained on the image."""
    if not every:
        return f"no suspects in {images} images: the model agrees with the labels"
    suspects = every[:top]
    where = [s.location() for s in suspects]
    ww = max(len("where"), *(len(w) for w in where))
    kw = max(len("kind"), *(len(s.kind) for s in suspects))
    lines = [f"{'#':>3}     {'p':>4}  {'kind':<{kw}}  {'where':<{ww}}  message"]
    for n, (s, w) in enumerate(zip(suspects, where, strict=True), 1):
        mark = "!" if s.likely else " "
        sample = "in" if s.in_sample else "  "
        p = s.p_wrong if s.p_wrong is not None else s.score
        lines.append(f"{n:>3} {mark}{sample} {p:4.2f}  {s.kind:<{kw}}  {w:<{ww}}  {s.message}")
    kinds = ", ".join(f"{k} {v}" for k, v in _by_kind(every).items())
    head = f"top {top} of {len(every)}" if top < len(every) else f"{len(every)}"
    likely = sum(s.likely for s in every)
    lines.append(
        f"{head} suspects in {images} images ({kinds}); {likely} likely mistakes (!), the rest worth a look"
        + ("; 'in': the model trained on that image" if any(s.in_sample for s in suspects) else "")
        + "; fix them in the GUI's Label QC panel or by hand"
    )
    return "\n".join(lines)

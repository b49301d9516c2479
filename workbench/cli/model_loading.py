"""A trained model for `workbench eval / predict / qc`: the checkpoint argument, loaded or refused in one line.

Every way a checkpoint can be unusable (no such file, not a torch file, not a Workbench
checkpoint, an unknown model name, a missing field, a class list that does not fit the
trained head, another dataset's classes) ends as a ``DatasetError`` whose message names
the file: ``cli.main`` prints it as one line and exits 2, never a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def resolve_weights(path: Path) -> Path:
    """A checkpoint file, or the checkpoint a run folder stands for (``runs.run_checkpoint``)."""
    from workbench.formats.base import DatasetError
    from workbench.train.runs import run_checkpoint

    if path.is_dir():
        return run_checkpoint(path)  # NoCheckpointError is a DatasetError: one line, exit 2
    if not path.is_file():
        raise DatasetError(f"{path}: no such checkpoint file or run folder")
    return path


def load_predictor(weights: Path, device: str, conf: float | None = None) -> Any:
    """The engine's Predictor, imported here so that `--help` does not load torch."""
    from workbench.formats.base import DatasetError
    from workbench.train.predictor import Predictor

    try:
        return Predictor(weights, device=device) if conf is None else Predictor(weights, device=device, conf=conf)
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as e:
        raise DatasetError(_one_line(weights, e)) from None


def _one_line(weights: Path, e: Exception) -> str:
    """One line that names the file. CheckpointError, WeightsError, DeviceError and ModelError
    already say what is wrong; torch's own size-mismatch list is many lines about tensors."""
    text = str(e).strip()
    if "size mismatch" in text:
        return (
            f"{weights}: the trained weights do not fit the model the file describes (its class list or "
            "keypoint schema was changed after training, or the file is damaged); use the checkpoint "
            "`workbench train` wrote"
        )
    first = text.splitlines()[0] if text else e.__class__.__name__
    if isinstance(e, KeyError):
        first = f"the checkpoint has no {first} entry"
    return first if str(weights) in first else f"{weights}: cannot load the model ({first})"


def check_classes(predictor: Any, classes: list[str], weights: Path | str, data: str, purpose: str) -> None:
    """Refuse a model of another class count: its class ids would mean different things.

    Same count, other names: a warning, compared by class id (a renamed class is common).
    """
    from workbench.formats.base import DatasetError

    model_classes = list(getattr(predictor, "classes", classes))
    if len(model_classes) != len(classes):
        raise DatasetError(
            f"{weights}: the model knows {len(model_classes)} classes ({names(model_classes)}) but "
            f"{data} has {len(classes)} ({names(classes)}); {purpose} needs a model trained on "
            "this dataset's classes"
        )
    if model_classes != classes:
        print(
            f"workbench: warning: the model's class names ({names(model_classes)}) differ from the dataset's "
            f"({names(classes)}); comparing by class id",
            file=sys.stderr,
        )


def names(classes: list[str], limit: int = 5) -> str:
    more = f", ... {len(classes) - limit} more" if len(classes) > limit else ""
    return ", ".join(classes[:limit]) + more

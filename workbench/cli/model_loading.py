"""A trained model for `workbench eval / predict / qc`: the checkpoint argument, loaded or refused in one line.

Every way a checkpoint can be unusable (no such file, not a torch file, not a Workbench
checkpoint, an unknown model name, a missing field, a class list that does not fit the
trained head, another dataset's classes without ``--class-map``) ends as a ``DatasetError``
whose message names the file: ``cli.main`` prints it as one line and exits 2, never a traceback.
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


def load_predictor(weights: Path, device: str, conf: float | None = None, onnx: bool = False) -> Any:
    """The engine's Predictor, imported here so that `--help` does not load torch.

    With ``onnx``, an .onnx file gets the onnxruntime predictor (``runtime.onnx_predictor``),
    which never imports torch; commands that need the PyTorch model itself (eval) leave it off
    and an .onnx file is refused with a line that says which commands take one.
    """
    from workbench.formats.base import DatasetError
    from workbench.runtime.onnx_predictor import is_onnx_path

    if is_onnx_path(weights):
        if not onnx:
            raise DatasetError(
                f"{weights}: an exported ONNX model runs with `workbench predict` and in the detection viewer; "
                "this command needs the PyTorch checkpoint it was exported from (best.pt / last.pt)"
            )
        from workbench.runtime.onnx_predictor import OnnxPredictor

        try:
            return OnnxPredictor(weights, device=device) if conf is None else OnnxPredictor(weights, device, conf)
        except ValueError as e:  # OnnxModelError: names the file already
            raise DatasetError(str(e)) from None
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


def add_class_map_argument(parser: Any) -> None:
    """``--class-map``, the same for every command that runs a model on a dataset."""
    parser.add_argument(
        "--class-map",
        metavar="CKPT=DATA,...",
        help="how the checkpoint's class names map to the dataset's when they differ, e.g. "
        "face=person,hand=ignore (a class left out keeps a dataset class of its own name, else is "
        "ignored); the same names in another order are mapped without it",
    )


def class_mapping(predictor: Any, ds: Any, weights: Path | str, data: Path | str, class_map: str | None) -> Any:
    """The checkpoint's classes (and keypoints) matched to the dataset's by name (``core.class_map``).

    A mismatch without ``--class-map`` is a ``DatasetError`` naming both files and both lists
    (exit 2): a model's class 0 judged as another dataset's class 0 would be nonsense. A
    mapping that changes anything is announced on stderr.
    """
    from workbench.core.class_map import ClassMatchError, match_classes, parse_class_map
    from workbench.formats.base import DatasetError

    try:
        mapping = match_classes(
            list(getattr(predictor, "classes", ds.classes)),
            list(ds.classes),
            None if class_map is None else parse_class_map(class_map),
            model_keypoints=getattr(predictor, "keypoints", None),
            dataset_keypoints=ds.keypoints,
            checkpoint=str(weights),
            dataset=str(data),
        )
    except ClassMatchError as e:
        raise DatasetError(str(e)) from None
    if not mapping.is_identity:
        print(f"workbench: {weights} on {data}: {mapping.describe()}", file=sys.stderr)
    return mapping

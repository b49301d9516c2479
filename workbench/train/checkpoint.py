"""Checkpoints as plain tensors and plain data, written atomically.

Everything in a checkpoint (model/optimizer/scheduler/scaler state, epoch, best fitness,
class names, keypoint schema, model name, image size, the input range that maps a 16-bit
image to the model's input, the run config) is tensors, numbers,
strings, lists and dicts, so ``torch.load(weights_only=True)`` reads it: a ``.pt`` file
from someone else can never run code. A kill while saving leaves the old file.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from workbench.core.atomic import atomic_write_bytes

FORMAT = "workbench-checkpoint"
VERSION = 1


class CheckpointError(RuntimeError):
    """A file that is not a readable checkpoint; the message names it."""


def make_checkpoint(
    *,
    model_state: dict[str, torch.Tensor],
    model_name: str,
    classes: list[str],
    keypoints: dict[str, Any] | None,
    imgsz: int,
    frozen_bn: bool,
    epoch: int,
    model_options: dict[str, Any] | None,
    best_fitness: float | None,
    config: dict[str, Any],
    metrics: dict[str, float] | None = None,
    trained_on: list[str] | None = None,
    input_range: dict[str, Any] | None = None,
    optimizer: dict[str, Any] | None = None,
    scheduler: dict[str, Any] | None = None,
    scaler: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The checkpoint dict; ``epoch`` is the last completed epoch (0-based).

    ``input_range`` is ``core.input_range.InputRange.to_dict()``: every reader of the
    checkpoint (predict, eval, QC, the viewer) maps images exactly as training did. None
    (and a checkpoint from before it existed) means the images as ``read_image`` gives them.
    """
    return {
        "format": FORMAT,
        "version": VERSION,
        "model_name": model_name,
        "model": {k: v.detach().cpu() for k, v in model_state.items()},
        "classes": [str(c) for c in classes],
        "keypoints": keypoints,
        "imgsz": int(imgsz),
        "frozen_bn": bool(frozen_bn),
        "model_options": dict(model_options or {}),
        "epoch": int(epoch),
        "best_fitness": None if best_fitness is None else float(best_fitness),
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
        "config": config,
        "trained_on": [str(p) for p in (trained_on or [])],
        "input_range": input_range,
        "optimizer": optimizer,
        "scheduler": scheduler,
        "scaler": scaler,
    }


def save_checkpoint(path: str | Path, checkpoint: dict[str, Any], *copies: str | Path) -> Path:
    """Serialize once, then write ``path`` (and each of ``copies``, e.g. best.pt) atomically."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    data = buffer.getvalue()
    for target in (path, *copies):
        atomic_write_bytes(target, data)
    return Path(path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """``torch.load(weights_only=True)`` with the failures turned into CheckpointError."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: no such checkpoint file")
    if not zipfile.is_zipfile(p):  # every torch.save since PyTorch 1.6 writes a zip archive
        raise CheckpointError(
            f"{p}: not a readable PyTorch file (not a torch.save archive); "
            f"pass a .pt written by torch.save or by `workbench train`"
        )
    try:
        return torch.load(p, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"{p}: refused to load: the file holds Python objects, not just tensors and plain data "
            f"(loading it could run code). Re-save its state_dict with torch.save(model.state_dict(), path). "
            f"({str(e).splitlines()[0]})"
        ) from e
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise CheckpointError(f"{p}: not a readable PyTorch file ({e.__class__.__name__}: {e})") from e


def is_checkpoint(data: Any) -> bool:
    return isinstance(data, dict) and data.get("format") == FORMAT


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """A Workbench checkpoint, or CheckpointError saying what the file is instead."""
    data = load_checkpoint(path)
    if not is_checkpoint(data):
        raise CheckpointError(
            f"{path}: not a Workbench checkpoint (a plain state_dict has no class names; "
            f"use it as --weights for training instead)"
        )
    check_checkpoint(data, path)
    return data


def check_checkpoint(data: dict[str, Any], path: str | Path) -> None:
    """Refuse a checkpoint whose fields cannot describe a model, before any model is built.

    A hand-edited or truncated file would otherwise fail deep inside torchvision with a
    KeyError or a tensor-shape list; here it fails with the file and the field.
    """
    from workbench.train.model_specs import MODELS

    def bad(what: str) -> CheckpointError:
        return CheckpointError(
            f"{path}: damaged Workbench checkpoint: {what}; use a checkpoint as "
            "`workbench train` wrote it (best.pt / last.pt)"
        )

    name = data.get("model_name")
    if not isinstance(name, str) or not name:
        raise bad("no model_name")
    if name not in MODELS:
        raise CheckpointError(
            f"{path}: unknown model '{name}' (this version knows {', '.join(MODELS)}); "
            "a newer Workbench may have written it"
        )
    state = data.get("model")
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise bad("no model weights (the 'model' entry is missing or not a dict of tensors)")
    classes = data.get("classes")
    if not isinstance(classes, list) or not classes or not all(isinstance(c, str) for c in classes):
        raise bad("no class list (the 'classes' entry must be a non-empty list of names)")
    kp = data.get("keypoints")
    if kp is not None and not (isinstance(kp, dict) and isinstance(kp.get("names"), list) and kp["names"]):
        raise bad("the 'keypoints' entry has no list of keypoint names")
    if MODELS[name].keypoints != (kp is not None):
        raise bad(
            f"{name} is {'a keypoint' if MODELS[name].keypoints else 'a box'} model but the file "
            f"{'has no' if kp is None else 'has a'} keypoint schema"
        )
    from workbench.core.input_range import InputRange, InputRangeError

    try:
        InputRange.from_dict(data.get("input_range"))
    except (InputRangeError, TypeError, ValueError) as e:
        raise bad(f"the 'input_range' entry is not usable ({e})") from None
    imgsz = data.get("imgsz", 640)
    if isinstance(imgsz, bool) or not isinstance(imgsz, int) or imgsz < 1:
        raise bad(f"imgsz {imgsz!r} is not a positive whole number")

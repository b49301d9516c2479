"""Starting weights: torchvision's pretrained ones, a Workbench checkpoint or a state_dict.

Whatever the source, every tensor whose name and shape fit the new model is loaded and
the rest (a class head for another class count, a keypoint head for another K) keeps its
fresh initialization; the report says which is which, so "why is mAP zero after epoch 1"
has an answer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn


class WeightsError(RuntimeError):
    """Weights that cannot be had or read; the message names the file and the alternatives."""


@dataclass
class LoadReport:
    source: str
    loaded: list[str] = field(default_factory=list)  # model keys taken from the source
    reset: list[str] = field(default_factory=list)  # model keys left at their initialization
    unused: list[str] = field(default_factory=list)  # source keys the model has no place for

    def summary_lines(self) -> list[str]:
        """Short human lines: counts plus the reset modules (grouped, not 200 tensor names)."""
        lines = [f"weights from {self.source}: {len(self.loaded)} tensors loaded, {len(self.reset)} reset"]
        for prefix in group_prefixes(self.reset):
            lines.append(f"  reset (new shape or missing): {prefix}")
        if self.unused:
            lines.append(f"  {len(self.unused)} tensors in the file were not used")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "loaded": list(self.loaded),
            "reset": list(self.reset),
            "unused": list(self.unused),
        }


def group_prefixes(keys: list[str], depth: int = 3) -> list[str]:
    """``roi_heads.box_predictor.cls_score.weight`` -> ``roi_heads.box_predictor.cls_score``."""
    seen: dict[str, None] = {}
    for k in keys:
        seen[".".join(k.split(".")[:depth])] = None
    return list(seen)


# BatchNorm's step counter means nothing for a transferred model and FrozenBatchNorm2d has
# no such buffer; leaving it out keeps the loaded/reset report about real weights.
_IGNORED_SUFFIXES = ("num_batches_tracked",)


def load_matching(model: nn.Module, state: dict[str, torch.Tensor], source: str) -> LoadReport:
    """Load every tensor of ``state`` whose key and shape match ``model``; report the rest."""
    own = model.state_dict()
    report = LoadReport(source)
    take: dict[str, torch.Tensor] = {}
    for key, value in own.items():
        if key.endswith(_IGNORED_SUFFIXES):
            continue
        src = state.get(key)
        if isinstance(src, torch.Tensor) and tuple(src.shape) == tuple(value.shape):
            take[key] = src
            report.loaded.append(key)
        else:
            report.reset.append(key)
    report.unused = [k for k in state if k not in own and not k.endswith(_IGNORED_SUFFIXES)]
    model.load_state_dict(take, strict=False)
    return report


def torchvision_weights(enum_name: str) -> Any:
    """The DEFAULT member of a torchvision detection weights enum, by class name."""
    from torchvision.models import detection

    return getattr(detection, enum_name).DEFAULT


def expected_weights_file(enum_name: str) -> Path:
    """Where torchvision looks for the download: TORCH_HOME/hub/checkpoints/<url basename>."""
    url = torchvision_weights(enum_name).url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def pretrained_state(enum_name: str) -> dict[str, torch.Tensor]:
    """torchvision's pretrained state_dict, from the TORCH_HOME cache or downloaded.

    Offline, the failed download becomes a WeightsError that names the file to put in
    place and the alternatives, instead of a urllib traceback.
    """
    weights = torchvision_weights(enum_name)
    target = expected_weights_file(enum_name)
    try:
        return weights.get_state_dict(progress=False, check_hash=False)
    except (OSError, RuntimeError, ValueError) as e:  # URLError is an OSError
        raise WeightsError(
            f"could not get the pretrained weights {enum_name}.DEFAULT ({e.__class__.__name__}: {e}).\n"
            f"  Download {weights.url}\n"
            f"  and put it at {target} (TORCH_HOME={os.environ.get('TORCH_HOME', '~/.cache/torch')}),\n"
            f"  or use --weights PATH with a checkpoint or state_dict you have, or --weights none to "
            f"train from scratch."
        ) from e


def state_from_file(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, Any] | None]:
    """A state_dict from a Workbench checkpoint or a plain torchvision state_dict file.

    Returns the model tensors and, for a Workbench checkpoint, the whole checkpoint.
    Loaded with ``weights_only=True``: a file from someone else can never run code.
    """
    from workbench.train.checkpoint import CheckpointError, is_checkpoint, load_checkpoint

    p = Path(path)
    try:
        data = load_checkpoint(p)
    except CheckpointError as e:
        raise WeightsError(str(e)) from e
    if is_checkpoint(data):
        return data["model"], data
    if isinstance(data, dict) and isinstance(data.get("model"), dict):  # torchvision references' format
        data = data["model"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise WeightsError(f"{p}: not a state_dict or a Workbench checkpoint (expected a dict of tensors)")
    return data, None


def model_from_checkpoint(checkpoint: dict[str, Any]) -> nn.Module:
    """The trained model a Workbench checkpoint describes, with its weights loaded strictly."""
    from workbench.train.models import build_model

    kp = checkpoint.get("keypoints")
    model = build_model(
        checkpoint["model_name"],
        len(checkpoint["classes"]),
        len(kp["names"]) if kp else None,
        int(checkpoint.get("imgsz", 640)),
        frozen_bn=bool(checkpoint.get("frozen_bn", False)),
        options=checkpoint.get("model_options"),
    )
    state = {k: v for k, v in checkpoint["model"].items() if not k.endswith(_IGNORED_SUFFIXES)}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith(_IGNORED_SUFFIXES)]
    if missing or unexpected:
        raise WeightsError(
            f"checkpoint does not fit {checkpoint['model_name']}: "
            f"{len(missing)} missing and {len(unexpected)} unexpected tensors "
            f"(first: {(missing + unexpected)[0]})"
        )
    return model

"""Everything a training run needs to know, as one plain dataclass.

It is written to the run folder as ``config.yaml`` and into every checkpoint, so a run can
be resumed or reproduced from either; ``to_dict``/``from_dict`` keep it plain data.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any


class ConfigError(ValueError):
    """An option no run can use (``epochs 0``, ``lr nan``); the message names the option and the value."""


@dataclass
class TrainConfig:
    """Options of one run; defaults suit fine-tuning a pretrained detector on a small dataset.

    ``weights`` is ``default`` (torchvision's pretrained weights), ``none`` (from scratch) or
    the path of a Workbench checkpoint / torchvision state_dict. ``model`` empty means "the
    default for the dataset": keypoints or boxes. ``resume`` is a run folder (or its
    ``last.pt``) to continue from the next epoch with the same schedule.
    """

    data: str = ""
    model: str = ""
    epochs: int = 30
    imgsz: int = 640
    batch: int = 4
    device: str = "auto"
    weights: str = "default"
    out: str = "runs"
    name: str = "train"
    resume: str = ""
    lr: float = 0.0  # 0: the optimizer's default (0.01 SGD, 0.0005 AdamW)
    optimizer: str = "sgd"  # sgd | adamw
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0
    scheduler: str = "cosine"  # cosine | step | constant
    lr_final: float = 0.01  # final lr as a fraction of the initial one
    step_epochs: list[int] = field(default_factory=list)  # for 'step': decay x0.1 at these epochs
    accumulate: int = 1
    clip_grad: float = 10.0  # 0 disables
    freeze_backbone_epochs: int = 0
    workers: int = 2
    amp: bool = True  # used on CUDA only
    seed: int = 0
    augment: bool = True  # horizontal flip
    train_split: str = "train"
    val_split: str = "val"
    # Exactly these images of the dataset (paths, absolute or relative to its root; any split) instead of
    # train_split / val_split: how k-fold label QC trains each fold model on the other folds, whatever the
    # format. Plain paths, so config.yaml and every checkpoint still say what the model learned.
    train_images: list[str] = field(default_factory=list)
    val_images: list[str] = field(default_factory=list)
    val_every: int = 1
    # BatchNorm in the backbone: None = torchvision's choice (frozen when starting from pretrained
    # weights for the models torchvision freezes); True/False force it. Frozen BN also avoids
    # the train/eval mismatch of batch statistics over tiny batches when training from scratch.
    frozen_bn: bool | None = None
    # Extra plain keyword arguments of the torchvision model (see models.build_model), e.g.
    # {"box_batch_size_per_image": 128} or {"keypoint_layers": [128, 128, 128, 128]}.
    model_options: dict[str, Any] = field(default_factory=dict)
    max_iterations_per_epoch: int = 0  # 0: whole epoch; >0 for smoke tests and benchmarks
    # How raw pixels become the model's input (core.input_range): "auto" (a fixed range over the
    # training images when they are 16-bit or float, else the images as read), "percentile"
    # (each image's own 1st..99th), "none", or [lo, hi] in raw values. Resolved once when the
    # run starts (config.yaml then holds the [lo, hi] it chose) and stored in every checkpoint.
    input_range: Any = "auto"

    def check(self) -> None:
        """Refuse settings that would train nothing or train silently on something else.

        The CLI's argparse types refuse these at the flag already; this is the same rule for
        every other caller (the GUI's train panel, k-fold QC, Python), checked before any
        work starts. ``lr`` 0 keeps its meaning "the optimizer's default".
        """
        ints = {
            "epochs": 1,
            "imgsz": 1,
            "batch": 1,
            "accumulate": 1,
            "workers": 0,
            "freeze_backbone_epochs": 0,
            "val_every": 1,
            "max_iterations_per_epoch": 0,
        }
        for name, least in ints.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(f"{name} = {value!r}: must be a whole number >= {least}")
        from workbench.core.input_range import InputRangeError, check_setting

        try:
            check_setting(self.input_range)
        except InputRangeError as e:
            raise ConfigError(str(e)) from None
        floats = {
            "lr": 0.0,
            "warmup_epochs": 0.0,
            "clip_grad": 0.0,
            "momentum": 0.0,
            "weight_decay": 0.0,
            "lr_final": 0.0,
        }
        for name, least in floats.items():
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < least
            ):
                raise ConfigError(f"{name} = {value!r}: must be a finite number >= {least:g}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Unknown keys are ignored so a config from a newer version still loads."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    @property
    def base_lr(self) -> float:
        if self.lr > 0:
            return self.lr
        return 0.0005 if self.optimizer == "adamw" else 0.01


def fold_settings(base: TrainConfig, conf: float) -> dict[str, Any]:
    """What besides the labels decides k-fold QC's fold models: a run made otherwise is not reused.

    Here, torch-free, because the GUI looks for a reusable run before it starts any process.
    """
    keys = ("model", "epochs", "imgsz", "weights", "seed", "augment", "optimizer", "lr", "model_options")
    return {**{key: getattr(base, key) for key in keys}, "conf": conf}

"""Learning-rate schedule: linear warmup, then cosine or step decay, per optimizer step.

A pure function of the step number, wrapped in LambdaLR: the scheduler's state is just
its step counter, so a resumed run continues the exact same lr sequence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

import torch

WARMUP_START = 0.001  # warmup starts at this fraction of the base lr


def lr_factor(
    step: int,
    total_steps: int,
    warmup_steps: int,
    kind: str = "cosine",
    final: float = 0.01,
    steps_per_epoch: int = 1,
    step_epochs: Sequence[int] = (),
) -> float:
    """Multiplier of the base lr at optimizer step ``step`` (0-based)."""
    if kind == "step":
        epoch = step // max(1, steps_per_epoch)
        decay = 0.1 ** sum(1 for e in step_epochs if epoch >= e)
    elif kind == "cosine":
        t = min(1.0, step / max(1, total_steps - 1))
        decay = final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * t))
    elif kind == "constant":
        decay = 1.0
    else:
        raise ValueError(f"unknown scheduler '{kind}': use cosine, step or constant")
    if step < warmup_steps:
        alpha = step / warmup_steps
        decay *= WARMUP_START * (1.0 - alpha) + alpha
    return decay


def make_scheduler(
    optimizer: torch.optim.Optimizer,
    *,
    epochs: int,
    steps_per_epoch: int,
    warmup_epochs: float,
    kind: str,
    final: float,
    step_epochs: Sequence[int],
) -> torch.optim.lr_scheduler.LambdaLR:
    total = max(1, epochs * steps_per_epoch)
    # Warmup never takes more than a third of a short run.
    warmup = min(int(round(warmup_epochs * steps_per_epoch)), total // 3)
    if kind == "step" and not step_epochs:
        step_epochs = [int(epochs * 0.7), int(epochs * 0.9)]
    fn = partial(
        lr_factor,
        total_steps=total,
        warmup_steps=warmup,
        kind=kind,
        final=final,
        steps_per_epoch=steps_per_epoch,
        step_epochs=tuple(step_epochs),
    )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, fn)


def make_optimizer(
    params: list[torch.nn.Parameter], name: str, lr: float, momentum: float, weight_decay: float
) -> torch.optim.Optimizer:
    name = name.lower()
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer '{name}': use sgd or adamw")

"""Which torch device a run or a predictor uses: ``auto`` means CUDA when there is one."""

from __future__ import annotations

import torch


class DeviceError(ValueError):
    """A device that does not exist here; the message lists what does."""


def resolve_device(name: str = "auto") -> torch.device:
    name = (name or "auto").strip().lower()
    if name == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if name.isdigit():
        name = f"cuda:{name}"
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise DeviceError(f"unknown device '{name}': use auto, cpu or cuda:N") from e
    if device.type == "cuda":
        count = torch.cuda.device_count()
        if count == 0:
            raise DeviceError(
                f"device '{name}' asked for, but this machine has no usable CUDA GPU "
                f"(torch {torch.__version__}); use --device cpu"
            )
        if (device.index or 0) >= count:
            raise DeviceError(f"device '{name}' asked for, but only {count} GPU(s) exist: use cuda:0..cuda:{count - 1}")
    return device

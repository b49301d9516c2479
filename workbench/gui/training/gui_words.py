"""The training engine's messages, worded for the Train panel.

The engine speaks to the command line ("`--resume runs/train` continues from epoch 3",
"try --batch 4"); the GUI user never typed a flag and has buttons and form fields
instead. The engine keeps its wording (the CLI prints it), and the panel shows every
engine message through :func:`for_gui`, which names the button or field to use.
"""

from __future__ import annotations

import re

#: Command-line option -> the Train panel's field of the same meaning (its form label).
FLAG_FIELDS: dict[str, str] = {
    "batch": "Batch",
    "imgsz": "Image size",
    "epochs": "Epochs",
    "device": "Device",
    "weights": "Weights",
    "lr": "Learning rate",
    "warmup": "Warmup epochs",
    "freeze": "Freeze backbone",
    "workers": "Data loader workers",
    "out": "Runs folder",
    "accumulate": "gradient accumulation",
    "no-augment": "augmentation off",
    "data": "the dataset",
}

_RESUME = re.compile(r"`?--resume\s+[^`;,)]+`?\s+continues")
_WITHOUT_RESUME = re.compile(r"\(without --resume\)")
_FLAG_VALUE = re.compile(r"--([a-z][a-z-]*)(?:\s+([^\s,;()]+))?")


def _flag(match: re.Match[str]) -> str:
    name, value = match.group(1), match.group(2)
    field = FLAG_FIELDS.get(name, name.replace("-", " "))
    return f"{field} {value}" if value else field


def for_gui(message: str) -> str:
    """``message`` with each command-line option replaced by what the panel calls it:
    "`--resume RUN` continues from epoch 3" -> "Resume continues from epoch 3",
    "try --batch 4" -> "try Batch 4"."""
    text = _RESUME.sub("Resume (Train panel) continues", message)
    text = _WITHOUT_RESUME.sub("(Start, not Resume)", text)
    return _FLAG_VALUE.sub(_flag, text)

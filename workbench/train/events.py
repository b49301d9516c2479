"""The one event stream a training run emits, its vocabulary, and the callback interface that consumes it.

The CLI progress line, the GUI plots, the run folder's iteration log and a worker process
piping JSON lines all hook in here (as Ultralytics' trainer callbacks do). Events are plain
data: ``to_dict`` gives a JSON-able dict with a ``type`` key and ``event_from_dict`` rebuilds
the event on the other side of a pipe.

The words around the events live here too, so that every consumer says the same thing:
how a run can end (``EndReason``), what each torchvision loss is called on a console and on
a plot (``loss_label``), which metrics an epoch summary shows and the summary itself
(``epoch_summary``). Metric keys themselves are ``train.metrics``' constants.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

from workbench.train.metrics import KPT_AP, MAP50, MAP50_95

# Prefixes of the per-epoch numbers: ``train/<loss>`` (mean training loss of the epoch, in
# the epoch event and results.csv) and ``val/<metric>`` (results.csv columns; the epoch
# event carries the metrics under their bare keys).
TRAIN_PREFIX = "train/"
VAL_PREFIX = "val/"
TOTAL_LOSS = "loss"  # the sum of the components, added by the engine to torchvision's loss dict


class EndReason(str, Enum):
    """How a run ended. A ``str`` so that JSON, comparisons and f-strings see the plain word."""

    FINISHED = "finished"
    STOPPED = "stopped"  # the user's stop (or a supervisor that gave up waiting): the run can resume
    NAN = "nan"  # the loss stopped being finite
    OOM = "oom"  # out of GPU memory
    ERROR = "error"  # bad input, or a bug / crash (the message says which)

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    __hash__ = str.__hash__  # Enum hashes the member name: this way the word and the member are one dict key

    @property
    def clean(self) -> bool:
        """Ended as asked (all epochs, or the user's stop), not by a failure."""
        return self in (EndReason.FINISHED, EndReason.STOPPED)


@dataclass(frozen=True)
class LossLabel:
    """What a loss component is called: ``short`` in a one-line console progress, ``plot`` in a legend."""

    short: str
    plot: str


# torchvision's loss-dict keys (Faster/Keypoint R-CNN, then RetinaNet/FCOS) and the engine's total.
LOSS_LABELS: dict[str, LossLabel] = {
    TOTAL_LOSS: LossLabel("loss", "total"),
    "loss_classifier": LossLabel("cls", "cls"),
    "loss_box_reg": LossLabel("box", "box"),
    "loss_objectness": LossLabel("obj", "objectness"),
    "loss_rpn_box_reg": LossLabel("rpn", "rpn box"),
    "loss_keypoint": LossLabel("kpt", "keypoints"),
    "classification": LossLabel("cls", "cls"),
    "bbox_regression": LossLabel("box", "box"),
    "bbox_ctrness": LossLabel("ctr", "centerness"),
}


def loss_label(key: str) -> LossLabel:
    """The labels of loss ``key`` (with or without ``train/``); a loss of a model not in the table keeps its name."""
    key = key.removeprefix(TRAIN_PREFIX)
    label = LOSS_LABELS.get(key)
    if label is None:
        name = key.removeprefix("loss_")
        label = LossLabel(name, name)
    return label


# Validation metrics an epoch summary and the plots show, in this order: key -> what a legend says.
METRIC_LABELS: dict[str, str] = {MAP50: "mAP50", MAP50_95: "mAP50-95", KPT_AP: "keypoint AP"}


class _Serializable:
    """Events cross a process boundary as JSON lines (the GUI's worker): plain dicts of plain data."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclass
class IterationEvent(_Serializable):
    """After each optimizer step: every loss component, the lr and the throughput."""

    epoch: int  # 0-based
    iteration: int  # 0-based, within the epoch
    iterations: int  # iterations in this epoch
    losses: dict[str, float]
    lr: float
    images_per_s: float
    type: str = "iteration"


@dataclass
class EpochEvent(_Serializable):
    """After each epoch: mean training losses and validation metrics."""

    epoch: int  # 0-based
    epochs: int
    metrics: dict[str, float]
    best_fitness: float | None = None
    is_best: bool = False
    type: str = "epoch"


@dataclass
class EndEvent(_Serializable):
    """Once, when the run ends: why (``EndReason``; its word is accepted too) and what to tell the user."""

    reason: EndReason
    message: str = ""
    run_dir: str = ""
    best_fitness: float | None = None
    type: str = "end"

    def __post_init__(self) -> None:
        self.reason = EndReason(self.reason)  # a word off the pipe; an unknown one is a ValueError

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "reason": self.reason.value}


@dataclass
class LogEvent(_Serializable):
    """A line of text for the user (weights loaded, heads reset, run folder...)."""

    message: str
    level: str = "info"
    details: list[str] = field(default_factory=list)
    type: str = "log"


Event = IterationEvent | EpochEvent | EndEvent | LogEvent
_TYPES: dict[str, type] = {"iteration": IterationEvent, "epoch": EpochEvent, "end": EndEvent, "log": LogEvent}


def event_from_dict(d: dict[str, Any]) -> Event:
    """The event a ``to_dict`` came from; raises ValueError for an unknown ``type``."""
    cls = _TYPES.get(str(d.get("type")))
    if cls is None:
        raise ValueError(f"unknown training event type {d.get('type')!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


class Callback(Protocol):
    """What a consumer may implement; every method is optional (see ``emit``)."""

    def on_iteration(self, event: IterationEvent) -> None: ...
    def on_epoch(self, event: EpochEvent) -> None: ...
    def on_end(self, event: EndEvent) -> None: ...
    def on_log(self, event: LogEvent) -> None: ...


CallbackLike = Callback | Callable[[Event], None]


def emit(callbacks: Iterable[CallbackLike], event: Event) -> None:
    """Deliver ``event`` to each consumer.

    A consumer is an object with any of the ``on_*`` methods (or one ``on_event``
    method for all of them), or a plain function taking the event.
    """
    for cb in callbacks:
        handler = getattr(cb, f"on_{event.type}", None) or getattr(cb, "on_event", None)
        if handler is None and callable(cb):
            handler = cb
        if handler is not None:
            handler(event)


def epoch_summary(event: EpochEvent) -> str:
    """One line per epoch, the same on the console, in a log file and in the GUI's log:
    ``epoch 3/30: loss 0.812 (cls 0.301, box 0.255)  mAP50 0.412  mAP50-95 0.233 (best)``."""
    m = event.metrics
    line = f"epoch {event.epoch + 1}/{event.epochs}:"
    total = m.get(TRAIN_PREFIX + TOTAL_LOSS)
    parts = [
        f"{loss_label(k).short} {v:.3f}"
        for k, v in m.items()
        if k.startswith(TRAIN_PREFIX) and k != TRAIN_PREFIX + TOTAL_LOSS and _is_number(v)
    ]
    if _is_number(total):
        line += f" loss {total:.3f}" + (f" ({', '.join(parts)})" if parts else "")
    elif parts:
        line += " " + ", ".join(parts)
    shown = _shown_metrics(m)
    if shown:
        line += "  " + "  ".join(f"{k} {v:.3f}" for k, v in shown.items())
    return line + (" (best)" if event.is_best else "")


def _shown_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(metrics[k]) for k in METRIC_LABELS if _is_number(metrics.get(k))}


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)

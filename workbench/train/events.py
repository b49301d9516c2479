"""The one event stream a training run emits, and the callback interface that consumes it.

The CLI progress line, the GUI plots and a worker process piping JSON lines all hook in
here (as Ultralytics' trainer callbacks do). Events are plain data: ``to_dict`` gives a
JSON-able dict with a ``type`` key and ``event_from_dict`` rebuilds the event on the other
side of a pipe.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol


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
    """Once, when the run ends. ``reason``: finished, stopped, nan, oom, error."""

    reason: str
    message: str = ""
    run_dir: str = ""
    best_fitness: float | None = None
    type: str = "end"


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

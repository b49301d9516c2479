"""The run folder's iteration record, ``iterations.jsonl``: a default callback of the engine.

Persistence is a callback, not loop code (as in Ultralytics' trainer, whose
``get_default_callbacks()`` every run starts with): the engine installs
``run_folder_callbacks`` for every run, whoever starts it (`workbench train`, the GUI's
worker process, k-fold QC, a Python script). Each iteration event becomes one JSON line,
written and flushed as it arrives, so a crash, a kill or a NaN mid-epoch leaves the curve
up to the last iteration, and the run history can redraw any run's per-iteration curves.

A resumed run starts again at the epoch after its last checkpoint: the lines of the epoch it
redoes (those a stop or a crash left after that checkpoint) are dropped, the earlier ones
kept, and the new ones appended, so the record reads as one run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from workbench.core.atomic import atomic_write_text
from workbench.train.events import CallbackLike, IterationEvent

ITERATIONS = "iterations.jsonl"


class IterationLog:
    """Appends each iteration event to ``run_dir/iterations.jsonl``, one flushed line at a time.

    ``start_epoch`` (0-based) is the first epoch this session trains: lines already in the
    file for that epoch or later are dropped before appending (see the module docstring).
    """

    def __init__(self, run_dir: str | Path, start_epoch: int = 0) -> None:
        self.path = Path(run_dir) / ITERATIONS
        _keep_epochs_before(self.path, start_epoch)
        self._file: TextIO | None = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - open for the run

    def on_iteration(self, event: IterationEvent) -> None:
        if self._file is None:
            return
        self._file.write(json.dumps(event.to_dict(), allow_nan=True) + "\n")
        self._file.flush()  # on disk for readers and for a crash, not only when the run ends

    def on_end(self, _event: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def run_folder_callbacks(run_dir: str | Path, start_epoch: int = 0) -> list[CallbackLike]:
    """The callbacks every run gets besides its caller's: what the engine writes into the run folder
    from the event stream (checkpoints and results.csv are written by the loop itself)."""
    return [IterationLog(run_dir, start_epoch)]


def _parse(line: str) -> IterationEvent | None:
    try:
        d = json.loads(line)
        return IterationEvent(
            int(d["epoch"]),
            int(d["iteration"]),
            int(d["iterations"]),
            {str(k): float(v) for k, v in d["losses"].items()},
            float(d["lr"]),
            float(d.get("images_per_s", 0.0)),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _keep_epochs_before(path: Path, start_epoch: int) -> None:
    """Rewrite ``path`` (atomically) without the lines of epochs >= ``start_epoch`` and without torn or
    malformed lines, so appending continues a clean record; untouched when nothing would change."""
    if not path.is_file():
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines(keepends=True)
    kept = [
        line for line in lines if line.endswith("\n") and (ev := _parse(line)) is not None and ev.epoch < start_epoch
    ]
    if len(kept) != len(lines):
        atomic_write_text(path, "".join(kept))


def read_iterations(run_dir: str | Path, before_epoch: int | None = None) -> list[IterationEvent]:
    """The iteration events a run recorded, in order; malformed (or torn) lines are skipped.

    ``before_epoch`` (0-based) keeps only the epochs before it: what a resume of the run keeps
    (its completed epochs), so a live plot continued by the resume does not draw a redone epoch twice.
    """
    path = Path(run_dir) / ITERATIONS
    if not path.is_file():
        return []
    events = (_parse(line) for line in path.read_text(encoding="utf-8", errors="replace").splitlines())
    return [ev for ev in events if ev is not None and (before_epoch is None or ev.epoch < before_epoch)]

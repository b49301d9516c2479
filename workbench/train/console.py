"""Training progress for a terminal: a consumer of ``train.events`` like the GUI plots.

On a terminal one line is redrawn per iteration; in a log file (not a tty) only the
epoch summaries are printed, so logs stay readable.
"""

from __future__ import annotations

from typing import TextIO

from workbench.train.events import (
    TOTAL_LOSS,
    EndEvent,
    EndReason,
    EpochEvent,
    IterationEvent,
    LogEvent,
    epoch_summary,
    loss_label,
)


class TrainProgress:
    """The engine callback behind `workbench train` (and k-fold QC): progress and summaries on ``stream``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._open_line = False

    def _finish_line(self) -> None:
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False

    def on_log(self, event: LogEvent) -> None:
        self._finish_line()
        prefix = "" if event.level == "info" else f"{event.level}: "
        self.stream.write(f"{prefix}{event.message}\n")
        for line in event.details:
            self.stream.write(f"  {line.strip()}\n")
        self.stream.flush()

    def on_iteration(self, event: IterationEvent) -> None:
        if not self.tty:
            return
        parts = " ".join(f"{loss_label(k).short} {v:.3f}" for k, v in event.losses.items() if k != TOTAL_LOSS)
        line = (
            f"epoch {event.epoch + 1} {event.iteration + 1}/{event.iterations}  loss {event.losses[TOTAL_LOSS]:.3f}"
            f" ({parts})  lr {event.lr:.2e}  {event.images_per_s:.1f} img/s"
        )
        self.stream.write("\r" + line[:160].ljust(100))
        self.stream.flush()
        self._open_line = True

    def on_epoch(self, event: EpochEvent) -> None:
        self._finish_line()
        self.stream.write(epoch_summary(event) + "\n")
        self.stream.flush()

    def on_end(self, event: EndEvent) -> None:
        self._finish_line()
        if event.reason != EndReason.ERROR:  # the CLI prints errors itself, on stderr
            self.stream.write(f"{event.reason}: {event.message}\n")
            self.stream.flush()

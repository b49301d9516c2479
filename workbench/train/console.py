"""Training progress for a terminal: a consumer of ``train.events`` like the GUI plots.

On a terminal one line is redrawn per iteration; in a log file (not a tty) only the
epoch summaries are printed, so logs stay readable.
"""

from __future__ import annotations

from typing import Any, TextIO

_SHORT = {
    "loss_classifier": "cls",
    "loss_box_reg": "box",
    "loss_objectness": "obj",
    "loss_rpn_box_reg": "rpn",
    "loss_keypoint": "kpt",
    "classification": "cls",
    "bbox_regression": "box",
    "bbox_ctrness": "ctr",
}


class TrainProgress:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._open_line = False

    def _finish_line(self) -> None:
        if self._open_line:
            self.stream.write("\n")
            self._open_line = False

    def on_log(self, event: Any) -> None:
        self._finish_line()
        prefix = "" if event.level == "info" else f"{event.level}: "
        self.stream.write(f"{prefix}{event.message}\n")
        for line in event.details:
            self.stream.write(f"  {line.strip()}\n")
        self.stream.flush()

    def on_iteration(self, event: Any) -> None:
        if not self.tty:
            return
        parts = " ".join(f"{_SHORT.get(k, k)} {v:.3f}" for k, v in event.losses.items() if k != "loss")
        line = (
            f"epoch {event.epoch + 1} {event.iteration + 1}/{event.iterations}  loss {event.losses['loss']:.3f}"
            f" ({parts})  lr {event.lr:.2e}  {event.images_per_s:.1f} img/s"
        )
        self.stream.write("\r" + line[:160].ljust(100))
        self.stream.flush()
        self._open_line = True

    def on_epoch(self, event: Any) -> None:
        self._finish_line()
        m = event.metrics
        shown = [f"loss {m['train/loss']:.3f}"] if "train/loss" in m else []
        for key in ("mAP50", "mAP50-95", "kpt_AP"):
            if key in m:
                shown.append(f"{key} {m[key]:.3f}")
        best = " (best)" if event.is_best else ""
        self.stream.write(f"epoch {event.epoch + 1}/{event.epochs}: {'  '.join(shown)}{best}\n")
        self.stream.flush()

    def on_end(self, event: Any) -> None:
        self._finish_line()
        if event.reason != "error":
            self.stream.write(f"{event.reason}: {event.message}\n")
            self.stream.flush()

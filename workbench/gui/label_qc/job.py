"""Finding suspects without freezing the window: predictions from the shared runner, judging in slices.

The model runs through the detection viewer's ``PredictionRunner`` (one pool thread,
one loaded model, one cache), so images the viewer already predicted with the same
checkpoint are not run again, and after QC the viewer shows the very predictions QC
judged. The runner hands them over in the dataset's class ids and refuses a checkpoint
of other classes (its ``finished`` error says why, naming both lists). Judging is numpy
on a few boxes per image but reads labels (``ensure_loaded``)
and touches the live records the user edits, so it stays on the UI thread, in slices
of at most ``SLICE_MS`` between event-loop turns.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.prediction import Prediction
from workbench.gui.predictions.runner import PredictionRunner, weights_key
from workbench.qa.label_qc import QCOptions, Suspect, find_label_issues
from workbench.qa.qc_reliability import ModelReliability, Provenance, measure_reliability, reference_records

SLICE_MS = 12


def judge_record(
    ds: Dataset,
    rec: ImageRecord,
    preds: list[Prediction],
    options: QCOptions | None = None,
    reliability: ModelReliability | None = None,
    provenance: Provenance | None = None,
) -> list[Suspect]:
    """The suspects of one image (``find_label_issues`` on just this image's predictions).

    Passing the single entry matters: ``find_label_issues`` resolves every key of the
    mapping it is given, which would be quadratic over a dataset judged image by image.
    """
    return find_label_issues(
        ds, {rec.path: preds}, records=[rec], options=options, reliability=reliability, provenance=provenance
    )


class QCJob(QObject):
    """``start(ds, weights, indices)``: predict what the cache lacks, then judge every predicted image."""

    progress = Signal(int, int, str)  # done, total, what ("predicting" or "judging")
    finished = Signal(object, str)  # [(record index, Suspect)], error message ("" when fine)

    def __init__(self, runner: PredictionRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.options = QCOptions()
        self.ds: Dataset | None = None
        # Of the last job that finished well (re-judging after edits uses them); a job's own meanwhile:
        self.predictions: dict[Path, list[Prediction]] = {}
        self._incoming: dict[Path, list[Prediction]] = {}
        self.failed: dict[Path, str] = {}
        self._todo: deque[int] = deque()
        self._judged: list[tuple[int, Suspect]] = []
        self._total = 0
        self._predicting = False
        self._error = ""
        self._key: tuple[str, int] | None = None
        self._weights: Path | None = None
        # How far the last finished job's model can be trusted, and what it trained on.
        self.reliability: ModelReliability | None = None
        self.provenance: Provenance | None = None
        self._reference: list[Path] = []  # held-out images predicted to measure the model
        self._measured: tuple[ModelReliability, Provenance] | None = None  # this job's, until it ends well
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._judge_slice)
        runner.predicted.connect(self._on_predicted)
        runner.progress.connect(self._on_progress)
        runner.finished.connect(self._on_finished)

    def busy(self) -> bool:
        return self._predicting or bool(self._todo) or self._timer.isActive()

    def start(self, ds: Dataset, weights: Path, indices: list[int]) -> str:
        """Begin; returns "" or why it cannot (the runner is busy with the viewer's job)."""
        if self.busy():
            return "Label QC is already running"
        if self.runner.busy():
            return "The model is busy with the detection viewer's run; try again when it is done"
        key = weights_key(weights)
        why = self.runner.refusal(key)  # a checkpoint of other classes, known since it loaded
        if why:
            return why
        self.ds, self._error, self.failed = ds, "", {}
        self._todo, self._judged, self._total = deque(indices), [], len(indices)
        self._key, self._weights = key, Path(weights)
        self._incoming, self._measured = {}, None
        # Besides the images to judge, the held-out ones that measure the model (predicted, not judged).
        self._reference = [Path(r.path) for r in reference_records(ds, self.runner.provenance(key, weights))]
        paths = list(dict.fromkeys([Path(ds.records[i].path) for i in indices] + self._reference))
        for path in paths:
            cached = self.runner.predictions(key, path)  # in the dataset's classes
            if cached is not None:
                self._incoming[path] = cached
        n = self.runner.run(weights, paths)
        if n < 0:  # checked above; kept so that a refusal can never leave the job looking busy
            self._todo.clear()
            return self.runner.refusal(key) or "The model is busy; try again when it is done"
        self._predicting = n > 0
        if not self._predicting:
            self._measure()
            self._timer.start(0)
        return ""

    def judge_given(
        self,
        ds: Dataset,
        predictions: dict[Path, list[Prediction]],
        indices: list[int],
        reliability: ModelReliability,
        provenance: Provenance,
    ) -> str:
        """Judge ``indices`` with predictions made elsewhere (k-fold fold models), measured as given."""
        if self.busy():
            return "Label QC is already running"
        self.ds, self._error, self.failed = ds, "", {}
        self._todo, self._judged, self._total = deque(indices), [], len(indices)
        self._key, self._weights = None, None
        self._incoming = {Path(p): v for p, v in predictions.items()}
        self._measured = (reliability, provenance)
        self._timer.start(0)
        return ""

    def cancel(self) -> None:
        if self._predicting:
            self.runner.cancel()
        self._error = self._error or "cancelled"
        self._todo.clear()

    def reset(self) -> None:
        """Another dataset: stop, and forget the predictions."""
        self.cancel()
        self.predictions, self._incoming, self.ds = {}, {}, None
        self.reliability, self.provenance, self._measured = None, None, None

    def judge(self, rec: ImageRecord) -> list[Suspect] | None:
        """Judge ``rec`` again with the last job's predictions (None: it was not predicted)."""
        preds = self.predictions.get(Path(rec.path))
        if preds is None or self.ds is None:
            return None
        return judge_record(self.ds, rec, preds, self.options, self.reliability, self.provenance)

    def _measure(self) -> None:
        """The model's reliability on the held-out images it predicted (before any image is judged)."""
        ds = self.ds
        if ds is None or self._key is None or self._weights is None:
            return
        prov = self.runner.provenance(self._key, self._weights)  # as the loaded checkpoint records it
        held = reference_records(ds, prov)
        rel = measure_reliability(ds, self._incoming, held, source="held-out images", checkpoint_map50=prov.val_map50)
        self._measured = (rel, prov)

    # ------------------------------------------------------------------ runner signals (ours only)
    def _on_predicted(self, found: dict[Path, list[Prediction]]) -> None:
        """A batch is in the runner's cache: take it in the dataset's classes (nothing from a refused model)."""
        if self._predicting and self._key is not None:
            for p in found:
                mapped = self.runner.predictions(self._key, p)
                if mapped is not None:
                    self._incoming[Path(p)] = mapped

    def _on_progress(self, done: int, total: int) -> None:
        if self._predicting:
            self.progress.emit(done, total, "predicting")

    def _on_finished(self, failed: dict[Path, str], error: str) -> None:
        if not self._predicting:
            return  # the viewer's job
        self._predicting = False
        self.failed = dict(failed)
        self._error = self._error or error
        if self._error:
            self._todo.clear()
        else:
            self._measure()
        self._timer.start(0)

    # ------------------------------------------------------------------ judging
    def _judge_slice(self) -> None:
        ds = self.ds
        deadline = time.monotonic() + SLICE_MS / 1000
        while self._todo and ds is not None and time.monotonic() < deadline:
            i = self._todo.popleft()
            rec = ds.records[i]
            preds = self._incoming.get(Path(rec.path))
            rel, prov = self._measured or (None, None)
            if preds is not None:
                self._judged.extend((i, s) for s in judge_record(ds, rec, preds, self.options, rel, prov))
        if self._todo:
            self.progress.emit(self._total - len(self._todo), self._total, "judging")
            self._timer.start(0)
            return
        if not self._error:
            self.predictions = self._incoming
            self.reliability, self.provenance = self._measured or (None, None)
        self.finished.emit(self._judged, self._error)

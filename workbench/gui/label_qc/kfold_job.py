"""k-fold label QC from the GUI: fold models trained in a child process, their predictions judged here.

A model that trained on an image tends to repeat that image's labels, mistakes
included; k-fold QC trains K models, each on the other folds, so every image is judged
by one that never saw it. Training K models takes minutes to hours, so it runs where
training always runs, outside the GUI process: ``workbench qc DATA --kfold K`` (the
CLI, which writes the fold runs and their ``predictions.json``). The window stays
usable; Cancel kills the child. A run made for the same labels, folds and settings is
found before any process starts and reused at once (``qa.qc_kfold``).
"""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.child_command import workbench_command
from workbench.core.prediction import Prediction
from workbench.qa.qc_kfold import labels_fingerprint, load_kfold_predictions, reusable_kfold_run
from workbench.train.config import TrainConfig, fold_settings

KFOLD_RUN_NAME = "qc_kfold"
QC_CONF = 0.01  # the CLI's default: QC needs the model's doubts too
STDERR_TAIL = 8  # lines quoted when the child fails


class KFoldJob(QObject):
    """``start(...)``: out-of-sample predictions of every record, from a reused run or new fold models."""

    progress = Signal(str)  # a line of the fold runs' log ("fold 1/3: training on 32 images, ...")
    finished = Signal(object, str)  # {image path: predictions} or None, error ("" fine, "cancelled")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        # The program and the arguments before `qc ...`; a test points them at a stand-in script.
        self.program, self.module_args = workbench_command()
        self._proc: QProcess | None = None
        self._ds: Dataset | None = None
        self._fingerprint = ""
        self._stdout = b""
        self._stderr: list[str] = []
        self._partial = ""
        self._cancelled = False
        self.reused: Path | None = None  # the run the last result came from without training

    def busy(self) -> bool:
        return self._proc is not None

    def start(self, data_path: str, ds: Dataset, records: list[ImageRecord], k: int, config: TrainConfig) -> str:
        """Begin; "" or why it cannot. ``config`` (the train form's) says how fold models train."""
        if self.busy():
            return "k-fold QC is already running"
        if k < 2 or k > len(records):
            return f"k-fold needs 2 to {len(records)} folds for {len(records)} images"
        self._ds, self._cancelled, self.reused = ds, False, None
        self._fingerprint = labels_fingerprint(ds, records)
        settings = fold_settings(config, QC_CONF)
        found = reusable_kfold_run(Path(config.out), KFOLD_RUN_NAME, ds, self._fingerprint, k, settings)
        kept = load_kfold_predictions(found, ds, self._fingerprint) if found is not None else None
        if found is not None and kept is not None:
            self.reused = found
            QTimer.singleShot(0, lambda: self.finished.emit(kept, ""))
            return ""
        args = [
            *self.module_args,
            "qc",
            data_path,
            "--kfold",
            str(k),
            "--json",
            "--top",
            "1",
            "--conf",
            str(QC_CONF),
            "--out",
            str(config.out),
            "--epochs",
            str(config.epochs),
            "--imgsz",
            str(config.imgsz),
            "--batch",
            str(config.batch),
            "--device",
            config.device,
            "--weights",
            config.weights,
        ]
        if config.model:
            args += ["--model", config.model]
        if len(records) < len(ds.records):
            splits = {r.split for r in records}
            if len(splits) == 1:
                args += ["--split", next(iter(splits))]
        proc = QProcess(self)
        proc.setProgram(self.program)
        proc.setArguments(args)
        proc.readyReadStandardOutput.connect(self._read_stdout)
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self._stdout, self._stderr, self._partial = b"", [], ""
        self._proc = proc
        proc.start()
        return ""

    def cancel(self) -> None:
        """Kill the fold training; the folds already written stay in the runs folder."""
        if self._proc is not None:
            self._cancelled = True
            self._proc.kill()

    # ------------------------------------------------------------------ the child
    def _read_stdout(self) -> None:
        if self._proc is not None:
            self._stdout += bytes(self._proc.readAllStandardOutput().data())

    def _read_stderr(self) -> None:
        if self._proc is None:
            return
        text = self._partial + bytes(self._proc.readAllStandardError().data()).decode("utf-8", "replace")
        *lines, self._partial = text.split("\n")
        for line in lines:
            line = line.rstrip("\r").strip()
            if line:
                self._stderr = [*self._stderr[-(STDERR_TAIL - 1) :], line]
                self.progress.emit(line)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._end(None, f"could not start the k-fold training ({self.program}): {error.name}")

    def _on_finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        self._read_stderr()
        if self._cancelled:
            self._end(None, "cancelled")
            return
        if code != 0:
            tail = "\n".join(self._stderr[-STDERR_TAIL:]) or f"exit status {code}"
            self._end(None, f"k-fold training failed: {tail}")
            return
        try:
            report = json.loads(self._stdout.decode("utf-8"))
            root = Path(report["out_of_sample"]["runs"])
        except (ValueError, KeyError, TypeError):
            self._end(None, "k-fold training ended without its report (no JSON on its output)")
            return
        if report["out_of_sample"].get("reused"):
            self.reused = root
        ds = self._ds
        predictions = load_kfold_predictions(root, ds, self._fingerprint) if ds is not None else None
        if predictions is None:
            self._end(None, f"{root}: no fold predictions for these labels (were they edited meanwhile?)")
            return
        self._end(predictions, "")

    def _end(self, predictions: dict[Path, list[Prediction]] | None, error: str) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.deleteLater()
        self.finished.emit(predictions, error)

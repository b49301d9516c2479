"""The train panel: options, Start / Stop / Resume, live curves, log and run history.

Pressing Start saves unsaved edits (the worker reads the label files from disk),
validates the dataset off the UI thread, and refuses to start while validation finds
errors, listing them (a click jumps to the label); warnings are listed but do not
block. The run itself is a supervised worker process (see ``supervisor.py``), so the
panel only ever reacts to events; every way a run can end, a crash included, arrives
as one end event and becomes the banner's message.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.core.annotation import Dataset
from workbench.core.findings import Finding, Severity
from workbench.core.wording import count_noun
from workbench.gui.training.form import TrainForm
from workbench.gui.training.gui_words import for_gui
from workbench.gui.training.history import RunHistory
from workbench.gui.training.plots import TrainPlots
from workbench.gui.training.supervisor import TrainingSupervisor
from workbench.gui.validation_job import ValidationJob, ValidationResult
from workbench.train.config import TrainConfig
from workbench.train.events import EndEvent, EndReason, EpochEvent, Event, IterationEvent, LogEvent, epoch_summary
from workbench.train.run_log import read_iterations
from workbench.train.runs import LAST, default_runs_folder, legacy_runs_folder, list_runs, read_config, read_results

MAX_LISTED_FINDINGS = 500
FINDING_ROLE = Qt.ItemDataRole.UserRole
_BANNER = {"ok": "#1b5e20", "info": "#37474f", "error": "#b71c1c"}
_END_TONE = {EndReason.FINISHED: "ok", EndReason.STOPPED: "info"}
_END_TITLE = {
    EndReason.FINISHED: "Training finished",
    EndReason.STOPPED: "Training stopped",
    EndReason.NAN: "Training diverged",
    EndReason.OOM: "Out of memory",
    EndReason.ERROR: "Training failed",
}


class Progress:
    """Progress, ETA and throughput of the running run, from its iteration and epoch events."""

    def __init__(self, epochs: int) -> None:
        self.epochs = max(1, epochs)
        self.done = 0
        self.total = 0
        self.images_per_s = 0.0
        self._sec_per_iter: float | None = None
        self._val_seconds = 0.0
        self._last: float | None = None
        self._epoch_end: float | None = None
        self.epoch = 0
        self.completed = 0  # epochs validated so far

    def on_iteration(self, ev: IterationEvent, now: float) -> None:
        if self._last is not None and self._epoch_end is None:
            dt = now - self._last
            self._sec_per_iter = dt if self._sec_per_iter is None else 0.9 * self._sec_per_iter + 0.1 * dt
        self._last, self._epoch_end = now, None
        self.epoch = self.completed = ev.epoch
        self.total = self.epochs * ev.iterations
        self.done = ev.epoch * ev.iterations + ev.iteration + 1
        self.images_per_s = (
            ev.images_per_s if self.images_per_s == 0 else (0.8 * self.images_per_s + 0.2 * ev.images_per_s)
        )

    def on_epoch(self, ev: EpochEvent, now: float) -> None:
        self.epochs = max(1, ev.epochs)
        self.completed = ev.epoch + 1
        if self._last is not None:
            self._val_seconds = now - self._last
        self._last = self._epoch_end = now

    def eta_seconds(self) -> float | None:
        if self._sec_per_iter is None or self.total == 0:
            return None
        return (self.total - self.done) * self._sec_per_iter + (self.epochs - self.completed) * self._val_seconds

    def text(self) -> str:
        parts = [f"epoch {self.epoch + 1}/{self.epochs}", f"{100 * self.done / max(self.total, 1):.0f}%"]
        eta = self.eta_seconds()
        if eta is not None:
            parts.append(f"ETA {_clock(eta)}")
        if self.images_per_s:
            parts.append(f"{self.images_per_s:.1f} img/s")
        return "  ·  ".join(parts)


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class TrainPanel(QWidget):
    """The dock content. ``save`` writes the dataset's unsaved edits (the window's save)."""

    jumpRequested = Signal(int, int)  # record index, instance (-1: none)
    message = Signal(str)  # one-line news for the status bar
    runEnded = Signal(object)  # EndEvent

    def __init__(
        self, save: Callable[[], bool] | None = None, parent: QWidget | None = None, query_devices: bool = True
    ) -> None:
        super().__init__(parent)
        self.ds: Dataset | None = None
        self.data_path: str | None = None
        self._save = save
        self._record_of: dict[str, int] = {}
        self._validating = False
        self._pending: TrainConfig | None = None
        self.progress_state: Progress | None = None
        # Extra TrainConfig fields the form does not show (max_iterations_per_epoch, model_options...).
        self.overrides: dict[str, Any] = {}

        self.supervisor = TrainingSupervisor(self)
        self.validation = ValidationJob(self)  # the window's way to validate, in a job of the panel's own
        self.form = TrainForm(query_devices=query_devices)
        self.start_button = QPushButton("Start")
        self.stop_button = QPushButton("Stop")
        self.resume_button = QPushButton("Resume")
        self.start_button.setToolTip("Save, validate, then train with these options")
        self.stop_button.setToolTip("Stop after the current iteration; the last completed epoch is kept")
        self.resume_button.setToolTip("Continue the selected (or the last) run from its last completed epoch")
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()
        self.findings = QListWidget()
        self.findings.setWordWrap(True)
        self.findings.itemClicked.connect(self._jump)
        self.findings.itemActivated.connect(self._jump)
        self.findings.hide()
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.progress.setTextVisible(True)
        self.plots = TrainPlots()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.history = RunHistory()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.plots, "Live")
        self.tabs.addTab(self.log, "Log")
        self.tabs.addTab(self.history, "History")

        buttons = QHBoxLayout()
        for b in (self.start_button, self.stop_button, self.resume_button):
            buttons.addWidget(b)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.addWidget(self.form)
        lv.addLayout(buttons)
        lv.addWidget(self.banner)
        lv.addWidget(self.findings, 1)
        lv.addStretch(0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(left)
        scroll.setMinimumWidth(340)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.progress)
        rv.addWidget(self.tabs, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(scroll)
        split.addWidget(right)
        split.setStretchFactor(1, 3)
        split.setSizes([360, 900])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(split)

        self.validation.finished.connect(self._on_validated)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.resume_button.clicked.connect(lambda: self.resume())
        self.history.resumeRequested.connect(self.resume)
        self.form.out.editingFinished.connect(lambda: self._show_history())
        self.supervisor.eventReceived.connect(self._on_event)
        self.supervisor.ended.connect(self._on_end)  # after the process is gone: Resume may follow at once
        self.supervisor.outputLine.connect(lambda line: self.log.appendPlainText(f"  | {line}"))
        self.supervisor.runningChanged.connect(lambda _running: self._update_buttons())
        self._update_buttons()

    # ------------------------------------------------------------------ dataset
    def set_dataset(self, ds: Dataset | None, path: str | None) -> None:
        self.ds, self.data_path = ds, path
        self._record_of = {}
        if ds is not None:
            for i, rec in enumerate(ds.records):
                rel = ds.rel(rec.path)
                if rel is not None:
                    self._record_of[rel] = i
        self.form.set_dataset(ds, path)
        self.findings.clear()
        self.findings.hide()
        self.banner.hide()
        self._show_history()
        self._update_buttons()

    def show_run(self, run_dir: Path) -> None:
        """Show a past run: its options in the form, its curves, selected in the history."""
        try:
            cfg = TrainConfig.from_dict(read_config(run_dir))
        except (OSError, ValueError, TypeError):
            cfg = None
        if cfg is not None:
            self.form.set_config(cfg)
        self.form.out.setText(str(run_dir.parent))
        self.history.set_root(run_dir.parent)
        self.history.select_runs([run_dir])
        rows = read_results(run_dir)
        self.plots.show_run(read_iterations(run_dir), rows)
        self.tabs.setCurrentWidget(self.plots)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if cfg is not None and len(rows) >= cfg.epochs else 0)
        self.progress.setFormat(f"{run_dir.name}: {len(rows)}/{cfg.epochs if cfg else '?'} epochs")
        self.show_banner(f"Run {run_dir.name} ({run_dir}): {len(rows)} epochs", "info")

    def _show_history(self) -> None:
        legacy = [legacy_runs_folder(self.data_path)] if self.data_path else []
        self.history.set_root(self.runs_folder(), *legacy)

    def runs_folder(self) -> Path | None:
        if self.form.out.text().strip():
            return Path(self.form.out.text().strip())
        return default_runs_folder(self.data_path) if self.data_path else None

    # ------------------------------------------------------------------ start / stop / resume
    def is_busy(self) -> bool:
        return self._validating or self.supervisor.is_running()

    def config(self) -> TrainConfig:
        assert self.data_path is not None
        cfg = self.form.config(self.data_path)
        return TrainConfig.from_dict({**cfg.to_dict(), **self.overrides})

    def start(self) -> bool:
        """Save, validate in the background, then start; False when it cannot even begin."""
        if self.is_busy():
            return False
        if self.ds is None or self.data_path is None:
            self.show_banner("Open a dataset first.", "error")
            return False
        problem = self.form.weights_problem()
        if problem:
            self.show_banner(problem, "error")
            return False
        if self.ds.dirty_records() or self.ds.classes_dirty:
            if self._save is None or not self._save():
                self.show_banner(
                    "The dataset has unsaved edits that could not be saved; the training "
                    "process reads the label files, so save them first.",
                    "error",
                )
                return False
            self.log.appendPlainText("saved the unsaved edits before training")
        self._pending = self.config()
        self._validating = True
        self.findings.clear()
        self.findings.hide()
        self.show_banner("Validating the dataset…", "info")
        self._update_buttons()
        self.validation.start(self.ds)
        return True

    def _on_validated(self, result: ValidationResult) -> None:
        self._validating = False
        cfg, self._pending = self._pending, None
        if result.ds is not self.ds or cfg is None:
            self._update_buttons()
            return  # another dataset was opened meanwhile
        if result.error is not None:
            self.show_banner(result.error, "error")
            self._update_buttons()
            return
        findings = result.store.all()
        errors = [f for f in findings if f.severity == Severity.ERROR]
        warnings = [f for f in findings if f.severity == Severity.WARNING]
        self._list_findings(errors + warnings)
        if errors:
            self.show_banner(
                f"Training blocked: validation found {count_noun(len(errors), 'error')}"
                + (f" and {count_noun(len(warnings), 'warning')}" if warnings else "")
                + ". Fix the errors (click one to jump to it), then press Start again.",
                "error",
            )
            self._update_buttons()
            return
        note = (
            f" Validation found {count_noun(len(warnings), 'warning')} (listed below); they do not block."
            if warnings
            else ""
        )
        self._launch(cfg, f"Training {Path(cfg.data).name}…{note}")

    def resume(self, run_dir: str | Path | None = None) -> bool:
        """Continue ``run_dir`` (default: the selected history run, else the last run) from its last.pt."""
        if self.is_busy():
            return False
        target = Path(run_dir) if run_dir else self.resume_target()
        if target is None or not (target / LAST).is_file():
            self.show_banner(
                "Nothing to resume: no run folder with a last.pt (a run saves one after each completed epoch).", "error"
            )
            return False
        form = self.form.config(self.data_path or "")
        cfg = TrainConfig(resume=str(target), device=form.device, workers=form.workers)
        try:
            epochs = int(read_config(target).get("epochs", 1))
        except (OSError, ValueError, TypeError):
            epochs = 1
        rows = read_results(target)
        # The resume redoes the epoch after its last checkpoint (one row per completed epoch).
        self.plots.show_run(read_iterations(target, before_epoch=len(rows)), rows)
        self._launch(cfg, f"Resuming {target.name}…", epochs=epochs, clear=False)
        return True

    def resume_target(self) -> Path | None:
        selected = self.history.selected_runs()
        if len(selected) == 1:
            return selected[0]
        if self.supervisor.last_run_dir:
            return Path(self.supervisor.last_run_dir)
        root = self.runs_folder()
        runs = [r for r in list_runs(root) if (r / LAST).is_file()] if root is not None else []
        return runs[0] if runs else None

    def _launch(self, cfg: TrainConfig, text: str, epochs: int | None = None, clear: bool = True) -> None:
        if clear:
            self.plots.clear()
        self.progress_state = Progress(epochs or cfg.epochs)
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("starting the training process…")
        self.log.appendPlainText(f"--- {text}")
        self.show_banner(text, "info")
        self.tabs.setCurrentWidget(self.plots)
        self.supervisor.start(cfg)
        self._update_buttons()

    def stop(self) -> None:
        if self.supervisor.is_running():
            self.progress.setFormat("stopping after this iteration…")
            self.supervisor.stop()
            self._update_buttons()

    def shutdown(self, msecs: int = 5000) -> None:
        """Stop a running worker and wait a little for it (window closing)."""
        if self.supervisor.is_running():
            self.supervisor.stop()
            if not self.supervisor.wait_finished(msecs):
                self.supervisor.kill()

    # ------------------------------------------------------------------ events
    def _on_event(self, ev: Event) -> None:
        now = time.perf_counter()
        if isinstance(ev, IterationEvent):
            self.plots.add_iteration(ev)
            if self.progress_state is not None:
                self.progress_state.on_iteration(ev, now)
                self._show_progress()
        elif isinstance(ev, EpochEvent):
            self.plots.add_epoch(ev)
            if self.progress_state is not None:
                self.progress_state.on_epoch(ev, now)
                self._show_progress()
            self.log.appendPlainText(epoch_summary(ev))
        elif isinstance(ev, LogEvent):
            prefix = "" if ev.level == "info" else f"{ev.level}: "
            lines = [for_gui(ev.message), *(for_gui(d) for d in ev.details)]
            self.log.appendPlainText(prefix + "\n    ".join(lines))

    def _show_progress(self) -> None:
        p = self.progress_state
        if p is None:
            return
        self.progress.setValue(int(1000 * p.done / max(p.total, 1)))
        if self.supervisor.is_running() and not self.progress.format().startswith("stopping"):
            self.progress.setFormat(p.text())

    def _on_end(self, ev: EndEvent) -> None:
        tone = _END_TONE.get(ev.reason, "error")
        title = _END_TITLE.get(ev.reason, str(ev.reason))
        message = for_gui(ev.message.strip()) or ev.reason  # the engine words it for the CLI
        self.show_banner(f"{title}: {message}", tone)
        self.log.appendPlainText(f"--- {ev.reason}: {message}")
        if self.progress_state is not None and ev.reason == EndReason.FINISHED:
            self.progress.setValue(self.progress.maximum())
        self.progress.setFormat(title.lower())
        self.plots.redraw()
        self._show_history()
        self.message.emit(f"{title}: {message.splitlines()[0]}")
        self.runEnded.emit(ev)
        self._update_buttons()

    # ------------------------------------------------------------------ widgets
    def show_banner(self, text: str, tone: str = "info") -> None:
        self.banner.setText(text)
        self.banner.setStyleSheet(
            f"QLabel {{ color: white; background: {_BANNER[tone]}; padding: 6px; border-radius: 3px; }}"
        )
        self.banner.show()

    def banner_text(self) -> str:
        return "" if self.banner.isHidden() else self.banner.text()

    def _list_findings(self, findings: list[Finding]) -> None:
        self.findings.clear()
        for f in findings[:MAX_LISTED_FINDINGS]:
            where = f.label_file or f.image or "dataset"
            if f.line is not None:
                where += f":{f.line}"
            item = QListWidgetItem(f"{f.severity.value}: {where}: {f.message}")
            item.setData(FINDING_ROLE, f)
            item.setToolTip(str(f))  # the row is cut at the dock's edge
            item.setForeground(QColor("#b71c1c") if f.severity == Severity.ERROR else QColor("#8d6e00"))
            self.findings.addItem(item)
        if len(findings) > MAX_LISTED_FINDINGS:
            self.findings.addItem(f"… and {len(findings) - MAX_LISTED_FINDINGS} more (see the Findings panel)")
        self.findings.setVisible(bool(findings))

    def _jump(self, item: QListWidgetItem) -> None:
        f = item.data(FINDING_ROLE)
        if isinstance(f, Finding) and f.image in self._record_of:
            self.jumpRequested.emit(self._record_of[f.image], -1 if f.instance is None else f.instance)

    def _update_buttons(self) -> None:
        running = self.supervisor.is_running()
        self.start_button.setEnabled(self.ds is not None and not self.is_busy())
        self.stop_button.setEnabled(running)
        self.resume_button.setEnabled(not self.is_busy())
        self.form.setEnabled(not self.is_busy())

"""The run history: every run folder under the runs folder, its curves, and two runs overlaid.

Everything shown comes from the files a run leaves (``results.csv``, ``config.yaml``; the
train panel's ``show_run`` adds the per-iteration curves of ``iterations.jsonl``), so runs
started from the CLI, from another machine or before a crash appear too.
Selecting one run shows its per-epoch curves; selecting two overlays them (the first
solid, the second dashed) to compare, say, two learning rates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.training.plots import make_plot, series_pen
from workbench.train.events import METRIC_LABELS, TRAIN_PREFIX, VAL_PREFIX, loss_label
from workbench.train.metrics import fitness_key
from workbench.train.runs import LAST, list_runs, read_config, read_results

RUN_ROLE = Qt.ItemDataRole.UserRole
MAX_COMPARED = 2


def run_summary(run_dir: Path) -> str:
    """One line for the list: name, epochs done, best metric, model."""
    rows = read_results(run_dir)
    try:
        cfg = read_config(run_dir)
    except (OSError, ValueError):
        cfg = {}
    parts = [run_dir.name]
    epochs = cfg.get("epochs")
    parts.append(f"{len(rows)}/{epochs} epochs" if epochs else f"{len(rows)} epochs")
    for metric in (fitness_key(keypoints=True), fitness_key(keypoints=False)):  # what best.pt was chosen by
        values = [r[VAL_PREFIX + metric] for r in rows if isinstance(r.get(VAL_PREFIX + metric), (int, float))]
        if values:
            parts.append(f"best {metric} {max(values):.3f}")
            break
    if cfg.get("model"):
        parts.append(str(cfg["model"]))
    return " · ".join(parts)


class RunHistory(QWidget):
    """Runs list (newest first) beside per-epoch metric and loss plots of the selected runs."""

    runActivated = Signal(object)  # Path of a run folder (double-click): e.g. to view its predictions
    resumeRequested = Signal(object)  # Path of a run folder with a last.pt

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.root: Path | None = None
        self.more: list[Path] = []
        self.list = QListWidget()
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.itemSelectionChanged.connect(self._selection_changed)
        self.list.itemDoubleClicked.connect(lambda item: self.runActivated.emit(item.data(RUN_ROLE)))
        self.hint = QLabel("Select a run to see its curves; select two to compare them.")
        self.hint.setWordWrap(True)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.resume_button = QPushButton("Resume selected")
        self.resume_button.setEnabled(False)
        self.resume_button.clicked.connect(self._resume)
        self.metric_plot = make_plot("Validation per epoch (solid: first run, dashed: second)", "AP")
        self.loss_plot = make_plot("Mean training loss per epoch", "loss")

        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(self.list, 1)
        lv.addWidget(self.hint)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addWidget(self.resume_button)
        lv.addLayout(buttons)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        rv.addWidget(self.metric_plot, 1)
        rv.addWidget(self.loss_plot, 1)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

    def set_root(self, root: str | Path | None, *more: str | Path) -> None:
        """List the runs under ``root`` and ``more`` (runs an earlier version wrote inside the dataset)."""
        self.root = Path(root) if root else None
        self.more = [Path(m) for m in more]
        self.refresh()

    def runs(self) -> list[Path]:
        return [self.list.item(i).data(RUN_ROLE) for i in range(self.list.count())]

    def refresh(self) -> None:
        selected = {str(p) for p in self.selected_runs()}
        self.list.blockSignals(True)
        self.list.clear()
        for run in list_runs(self.root, *self.more) if self.root is not None else []:
            item = QListWidgetItem(run_summary(run))
            item.setData(RUN_ROLE, run)
            item.setToolTip(f"{item.text()}\n{run}")  # the row is elided in a narrow dock
            self.list.addItem(item)
            item.setSelected(str(run) in selected)
        self.list.blockSignals(False)
        self._selection_changed()

    def select_runs(self, runs: list[Path]) -> None:
        wanted = {str(Path(r)) for r in runs}
        self.list.blockSignals(True)
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setSelected(str(item.data(RUN_ROLE)) in wanted)
        self.list.blockSignals(False)
        self._selection_changed()

    def selected_runs(self) -> list[Path]:
        items = sorted(self.list.selectedItems(), key=self.list.row)
        return [item.data(RUN_ROLE) for item in items][:MAX_COMPARED]

    def _selection_changed(self) -> None:
        runs = self.selected_runs()
        self.resume_button.setEnabled(len(runs) == 1 and (runs[0] / LAST).is_file())
        self.plot_runs(runs)

    def plot_runs(self, runs: list[Path]) -> None:
        for plot in (self.metric_plot, self.loss_plot):
            plot.getPlotItem().clear()
            if plot.getPlotItem().legend is not None:
                plot.getPlotItem().legend.clear()
        for r, run in enumerate(runs):
            style = Qt.PenStyle.SolidLine if r == 0 else Qt.PenStyle.DashLine
            rows = read_results(run)
            for i, (key, label) in enumerate(METRIC_LABELS.items()):
                self._line(
                    self.metric_plot,
                    rows,
                    VAL_PREFIX + key,
                    series_pen(i * 3, 2.0, style=style),
                    f"{run.name} {label}",
                )
            losses = [k for k in (rows[0] if rows else {}) if k.startswith(TRAIN_PREFIX)]
            for i, key in enumerate(losses):
                self._line(
                    self.loss_plot,
                    rows,
                    key,
                    series_pen(i, 2.0, style=style),
                    f"{run.name} {loss_label(key).plot}",
                )

    @staticmethod
    def _line(plot: Any, rows: list[dict[str, Any]], key: str, pen: Any, name: str) -> None:
        pts = [
            (r["epoch"], r[key])
            for r in rows
            if isinstance(r.get("epoch"), int) and isinstance(r.get(key), (int, float))
        ]
        if pts:
            xs, ys = zip(*pts, strict=True)
            plot.getPlotItem().plot(
                list(xs), list(ys), pen=pen, name=name, symbol="o", symbolSize=5, symbolBrush=pen.color()
            )

    def _resume(self) -> None:
        runs = self.selected_runs()
        if len(runs) == 1:
            self.resumeRequested.emit(runs[0])

"""Live training curves with pyqtgraph: losses per iteration (raw and smoothed), lr, val metrics per epoch.

Iteration events can arrive hundreds of times a second; each one only appends to
plain lists. A timer redraws from those lists one plot per tick (each plot about three
times a second): repainting a pyqtgraph plot with its axes costs several milliseconds,
and three at once would hold the event loop for tens of milliseconds. The x axis of every plot is in
epochs (iteration i of n in epoch e is at ``e + (i + 1) / n``), so the per-iteration
losses and the per-epoch metrics line up.

Every curve has a name; the legend sits in a row of its own under the x axis (never over
a curve), and the epoch axis never switches to SI prefixes ("epoch (x0.001)" during the
first epoch).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from workbench.train.events import (
    METRIC_LABELS,
    TOTAL_LOSS,
    TRAIN_PREFIX,
    VAL_PREFIX,
    EpochEvent,
    IterationEvent,
    loss_label,
)

PLOTS = ("loss", "lr", "metrics")
EMA_SMOOTHING = 0.9  # TensorBoard-style: each point keeps 90% of the smoothed value before it
REDRAW_MS = 100
LEGEND_ROW = 4  # PlotItem's grid: 0 title, 1 top axis, 2 plot, 3 bottom axis; 4 is free
LEGEND_COLUMNS = 4


def series_pen(i: int, width: float = 2.0, alpha: int = 255, style: Qt.PenStyle = Qt.PenStyle.SolidLine) -> Any:
    """Line colors of the plots (a series index, not a class: the class palette is for labels)."""
    color = pg.intColor(i, hues=9, values=1, maxValue=255, minValue=150, sat=200, alpha=alpha)
    return pg.mkPen(color, width=width, style=style)


@dataclass
class Series:
    """One curve's points; ``ema`` is the bias-corrected exponential moving average of ``y``.

    x only grows: a point at or before the last one (a resumed run redoing the epoch it
    was stopped in, replayed from its iteration log) replaces the points from there on,
    so the redone part is drawn once, not as a second line over the first.
    """

    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    ema: list[float] = field(default_factory=list)
    _accs: list[float] = field(default_factory=list)  # the uncorrected EMA after each point

    def add(self, x: float, y: float) -> None:
        if self.x and x <= self.x[-1]:
            cut = bisect_left(self.x, x)
            for values in (self.x, self.y, self.ema, self._accs):
                del values[cut:]
        acc = EMA_SMOOTHING * (self._accs[-1] if self._accs else 0.0) + (1 - EMA_SMOOTHING) * y
        self.x.append(x)
        self.y.append(y)
        self._accs.append(acc)
        self.ema.append(acc / (1 - EMA_SMOOTHING ** len(self.y)))


def make_plot(title: str, y_label: str, x_label: str = "epoch", y_si_prefix: bool = False) -> pg.PlotWidget:
    """A plot with its legend below the axes and plain numbers on the epoch axis.

    ``y_si_prefix``: let the y axis scale by an SI prefix (the learning rate, 1e-4 .. 1e-2);
    AP and losses are read as they are.
    """
    w = pg.PlotWidget()
    w.setBackground("w")
    item = w.getPlotItem()
    item.setTitle(title, size="9pt")
    item.setLabel("left", y_label)
    item.setLabel("bottom", x_label)
    item.getAxis("bottom").enableAutoSIPrefix(False)
    left = item.getAxis("left")
    left.enableAutoSIPrefix(y_si_prefix)
    left.setTickDensity(0.6)  # a short plot gets a few readable ticks, not a crammed column
    item.showGrid(x=True, y=True, alpha=0.25)
    item.setClipToView(True)
    item.setDownsampling(auto=True, mode="peak")
    # The legend in a layout row of its own: inside the view box it covers curves.
    legend = pg.LegendItem(offset=None, labelTextSize="8pt", colCount=LEGEND_COLUMNS)
    item.layout.addItem(legend, LEGEND_ROW, 1)
    item.legend = legend  # PlotItem.plot(name=...) adds named curves to it
    w.setMinimumHeight(120)
    return w


class TrainPlots(QWidget):
    """Loss, lr and metric plots of one run, fed with engine events (live or replayed)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.loss_plot = make_plot("Training loss (thin: raw, thick: smoothed)", "loss")
        self.lr_plot = make_plot("Learning rate", "lr", y_si_prefix=True)
        self.metric_plot = make_plot("Validation", "AP")
        self.metric_plot.getPlotItem().setYRange(0, 1, padding=0.02)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.loss_plot, 3)
        layout.addWidget(self.lr_plot, 1)
        layout.addWidget(self.metric_plot, 2)
        self.losses: dict[str, Series] = {}
        self.epoch_losses: dict[str, Series] = {}  # per-epoch means, for runs with no iteration record
        self.lr = Series()
        self.metrics: dict[str, Series] = {}
        self._curves: dict[tuple[str, str], pg.PlotDataItem] = {}
        self._dirty: set[str] = set()
        self._turn = 0
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw_next)
        self._timer.start()

    # ------------------------------------------------------------------ data in
    def clear(self) -> None:
        self.losses, self.epoch_losses, self.metrics = {}, {}, {}
        self.lr = Series()
        for plot in (self.loss_plot, self.lr_plot, self.metric_plot):
            plot.getPlotItem().clear()
            legend = plot.getPlotItem().legend
            if legend is not None:
                legend.clear()
        self._curves = {}
        self._dirty = set(PLOTS)

    def add_iteration(self, ev: IterationEvent) -> None:
        x = ev.epoch + (ev.iteration + 1) / max(ev.iterations, 1)
        for key, value in ev.losses.items():
            self.losses.setdefault(key, Series()).add(x, float(value))
        self.lr.add(x, float(ev.lr))
        self._dirty.update(("loss", "lr"))

    def add_epoch(self, ev: EpochEvent) -> None:
        self.add_epoch_values(ev.epoch + 1, ev.metrics)

    def add_epoch_values(self, epoch: int, values: dict[str, Any]) -> None:
        """One epoch's numbers, from an event (``mAP50``) or a results.csv row (``val/mAP50``)."""
        for key, value in values.items():
            if not isinstance(value, (int, float)):
                continue
            name = key.removeprefix(VAL_PREFIX)
            if name in METRIC_LABELS:
                self.metrics.setdefault(name, Series()).add(float(epoch), float(value))
            elif key.startswith(TRAIN_PREFIX) and not self.losses:
                self.epoch_losses.setdefault(key.removeprefix(TRAIN_PREFIX), Series()).add(float(epoch), float(value))
        self._dirty.update(PLOTS)

    def show_run(self, iterations: Iterable[IterationEvent], rows: Iterable[dict[str, Any]]) -> None:
        """Replace the curves with a finished (or resumed) run's: its iteration record and results rows."""
        self.clear()
        for ev in iterations:
            self.add_iteration(ev)
        rows = list(rows)
        for row in rows:
            epoch = row.get("epoch")
            if isinstance(epoch, int):
                self.add_epoch_values(epoch, row)
        if not self.lr.x:  # no iteration record: the lr at each epoch's end
            for row in rows:
                if isinstance(row.get("epoch"), int) and isinstance(row.get("lr"), (int, float)):
                    self.lr.add(float(row["epoch"]), float(row["lr"]))
        self.redraw()

    # ------------------------------------------------------------------ drawing
    def point_counts(self) -> dict[str, int]:
        """How many points each plot holds (losses: of the total loss), for tests and status."""
        total = self.losses.get(TOTAL_LOSS) or self.epoch_losses.get(TOTAL_LOSS) or Series()
        return {
            "loss": len(total.x),
            "lr": len(self.lr.x),
            "metrics": max((len(s.x) for s in self.metrics.values()), default=0),
        }

    def _curve(
        self,
        plot: pg.PlotWidget,
        key: tuple[str, str],
        pen: Any,
        name: str,
        symbol: str | None = None,
        in_legend: bool = True,
    ) -> pg.PlotDataItem:
        """The curve of ``key``, created once; every curve is named, ``in_legend=False``
        keeps a companion (the raw loss under its smoothed line) out of the legend."""
        curve = self._curves.get(key)
        if curve is None:
            curve = plot.getPlotItem().plot(
                [],
                [],
                pen=pen,
                name=name if in_legend else None,
                symbol=symbol,
                symbolSize=6,
                symbolBrush=pen.color() if symbol else None,
            )
            curve.opts["name"] = name
            self._curves[key] = curve
        return curve

    def curves(self) -> list[pg.PlotDataItem]:
        """Every curve drawn so far (tests: each has a name)."""
        return list(self._curves.values())

    def redraw(self) -> None:
        """Bring every plot up to date now (after a replay, at the end of a run)."""
        for name in PLOTS:
            if name in self._dirty:
                self._draw(name)

    def _redraw_next(self) -> None:
        for step in range(len(PLOTS)):
            name = PLOTS[(self._turn + step) % len(PLOTS)]
            if name in self._dirty:
                self._turn = (self._turn + step + 1) % len(PLOTS)
                self._draw(name)
                return

    def _draw(self, name: str) -> None:
        self._dirty.discard(name)
        if name == "loss":
            source = self.losses or self.epoch_losses
            for i, (key, s) in enumerate(source.items()):
                label = loss_label(key).plot
                if self.losses:
                    raw = self._curve(
                        self.loss_plot, ("raw", key), series_pen(i, 1.0, 70), f"{label} (raw)", None, False
                    )
                    raw.setData(s.x, s.y)
                    self._curve(self.loss_plot, ("ema", key), series_pen(i, 2.0), label).setData(s.x, s.ema)
                else:
                    self._curve(self.loss_plot, ("epoch", key), series_pen(i, 2.0), label, "o").setData(s.x, s.y)
        elif name == "lr":
            lr = self._curve(self.lr_plot, ("lr", "lr"), series_pen(5, 2.0), "learning rate")
            lr.setData(self.lr.x, self.lr.y)
        else:
            for i, (key, label) in enumerate(METRIC_LABELS.items()):
                s = self.metrics.get(key)
                if s is not None:
                    self._curve(self.metric_plot, ("metric", key), series_pen(i * 3, 2.0), label, "o").setData(s.x, s.y)

"""The Display dock: how a 16-bit or float image is shown (window and palette), with its histogram.

A thin view over ``core.display_window.DisplaySettings``: the mode (automatic per-image
percentile, the dataset's range, manual min/max), the palette, and a histogram of the
current image's raw values with the window marked. It emits ``displayChanged``; the main
window re-renders from the cached raw pixels. Nothing here touches a file or a label.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from workbench.core.display_window import PALETTES, DisplaySettings, percentile_window

MODE_LABELS = {
    "percentile": "Automatic (each image, 1st–99th percentile)",
    "range": "Dataset range (one scale for all images)",
    "manual": "Manual (min / max)",
}
HISTOGRAM_BINS = 128
HISTOGRAM_SAMPLES = 1 << 16


class DisplayPanel(QWidget):
    """Mode, min/max, palette and histogram. ``datasetRangeWanted`` asks the window to compute
    the dataset's range (off the UI thread); it answers with ``set_dataset_range``."""

    displayChanged = Signal(object)  # DisplaySettings
    datasetRangeWanted = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._dataset_range: tuple[float, float] | None = None
        self.mode = QComboBox()
        for key, text in MODE_LABELS.items():
            self.mode.addItem(text, key)
        self.palette = QComboBox()
        for name in PALETTES:
            self.palette.addItem({"grey": "Grey", "inferno": "Inferno (iron)"}[name], name)
        self.lo, self.hi = QDoubleSpinBox(), QDoubleSpinBox()
        for box in (self.lo, self.hi):
            box.setRange(-1e9, 1e9)
            box.setDecimals(2)
            box.setKeyboardTracking(False)
            box.valueChanged.connect(self._on_manual)
        self.histogram = pg.PlotWidget()
        self.histogram.setMaximumHeight(140)
        self.histogram.hideAxis("left")
        self.histogram.setMouseEnabled(False, False)
        self._bars = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=(120, 120, 120, 160))
        self._lines = [pg.InfiniteLine(angle=90, pen=pg.mkPen("r")) for _ in range(2)]
        self.histogram.addItem(self._bars)
        for line in self._lines:
            self.histogram.addItem(line)
        self.note = QLabel("8-bit image: shown as it is")
        self.note.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Window", self.mode)
        minmax = QHBoxLayout()
        minmax.addWidget(self.lo)
        minmax.addWidget(QLabel("to"))
        minmax.addWidget(self.hi)
        form.addRow("Min / max", minmax)
        form.addRow("Palette", self.palette)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.histogram)
        layout.addWidget(self.note)
        layout.addStretch(1)
        self.mode.currentIndexChanged.connect(self._on_mode)
        self.palette.currentIndexChanged.connect(self._emit)
        self._sync_enabled()

    def settings(self) -> DisplaySettings:
        mode = self.mode.currentData()
        palette = self.palette.currentData()
        if mode == "manual":
            return DisplaySettings("manual", (self.lo.value(), self.hi.value()), palette)
        if mode == "range" and self._dataset_range is not None:
            return DisplaySettings("range", self._dataset_range, palette)
        return DisplaySettings("percentile", None, palette)

    def set_raw(self, raw: np.ndarray | None) -> None:
        """Show the current image's histogram and, in the automatic mode, its window."""
        if raw is None:
            self._bars.setData([], [])
            self.note.setText("8-bit image: shown as it is")
            return
        flat = raw.reshape(-1)
        flat = flat[:: max(1, flat.size // HISTOGRAM_SAMPLES)].astype(np.float64)
        flat = flat[np.isfinite(flat)]
        if flat.size:
            counts, edges = np.histogram(flat, bins=HISTOGRAM_BINS)
            self._bars.setData(edges, counts)
        self.note.setText(f"{raw.dtype} raw values {flat.min():g} to {flat.max():g}" if flat.size else "no values")
        if self.mode.currentData() == "percentile":
            self._show_window(percentile_window(raw))

    def set_dataset_range(self, window: tuple[float, float]) -> None:
        self._dataset_range = (float(window[0]), float(window[1]))
        if self.mode.currentData() == "range":
            self._show_window(self._dataset_range)
            self._emit()

    def _show_window(self, window: tuple[float, float]) -> None:
        for box, v in zip((self.lo, self.hi), window, strict=True):
            box.blockSignals(True)
            box.setValue(float(v))
            box.blockSignals(False)
        for line, v in zip(self._lines, window, strict=True):
            line.setValue(float(v))

    def _sync_enabled(self) -> None:
        manual = self.mode.currentData() == "manual"
        self.lo.setEnabled(manual)
        self.hi.setEnabled(manual)

    def _on_mode(self) -> None:
        self._sync_enabled()
        if self.mode.currentData() == "range" and self._dataset_range is None:
            self.datasetRangeWanted.emit()  # emits once the range is known
            return
        if self.mode.currentData() == "range" and self._dataset_range is not None:
            self._show_window(self._dataset_range)
        self._emit()

    def _on_manual(self) -> None:
        if self.mode.currentData() == "manual":
            for line, box in zip(self._lines, (self.lo, self.hi), strict=True):
                line.setValue(box.value())
            self._emit()

    def _emit(self) -> None:
        self.displayChanged.emit(self.settings())

"""The training options form: what a user picks before pressing Start.

It reads and writes a :class:`TrainConfig`, so the form, the CLI and a saved
``config.yaml`` speak the same language. The model list comes from the engine's
registry; keypoint models are offered only for a dataset with keypoints.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core.annotation import Dataset
from workbench.gui.eliding import eliding_combo
from workbench.gui.training.devices import CPU, DeviceChoice, DeviceQuery
from workbench.train.config import TrainConfig
from workbench.train.model_specs import MODELS, default_model
from workbench.train.runs import default_runs_folder

WEIGHTS = [
    ("pretrained", "default", "Pretrained (torchvision COCO weights)"),
    ("none", "none", "None (train from scratch)"),
    ("file", "", "From a checkpoint file…"),
]


class TrainForm(QWidget):
    """Model, weights, epochs, image size, batch, device, and the advanced options."""

    def __init__(self, parent: QWidget | None = None, query_devices: bool = True) -> None:
        super().__init__(parent)
        self._has_keypoints = False
        self.model = eliding_combo(QComboBox(), 16)
        self.weights = eliding_combo(QComboBox(), 16)
        for key, _value, text in WEIGHTS:
            self.weights.addItem(text, key)
        self.weights_file = QLineEdit()
        self.weights_file.setPlaceholderText("path of a .pt checkpoint")
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse_weights)
        self.epochs = _spin(1, 10000, 30)
        self.imgsz = _spin(64, 4096, 640, step=32)
        self.batch = _spin(1, 1024, 4)
        self.device = eliding_combo(QComboBox(), 16)
        self.set_devices([CPU])
        self.out = QLineEdit()
        self.out.setPlaceholderText("runs folder (default: <dataset>-runs beside the dataset folder)")
        self.out.setToolTip(
            "Where run folders go. By default beside the dataset folder, never inside it, so the dataset "
            "stays exactly your files (checkpoints are tens of MB each)"
        )

        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(0.0, 10.0)
        self.lr.setSingleStep(0.001)
        self.lr.setSpecialValueText("default")
        self.warmup = QDoubleSpinBox()
        self.warmup.setRange(0.0, 100.0)
        self.warmup.setSingleStep(0.5)
        self.warmup.setValue(1.0)
        self.freeze = _spin(0, 10000, 0)
        self.freeze.setSpecialValueText("no")
        self.workers = _spin(0, 64, 2)
        # core.input_range: how 16-bit / float images become the model's input. Editable: "lo, hi".
        self.input_range = QComboBox()
        self.input_range.setEditable(True)
        self.input_range.addItems(["auto", "percentile", "none"])
        self.input_range.setToolTip(
            "16-bit and float images: auto = one raw range over the training images, computed once "
            "(8-bit data as is); percentile = each image's 1st..99th; or type 'lo, hi' in raw values. "
            "Stored in the checkpoint, so prediction maps images the same way."
        )

        weights_row = QHBoxLayout()
        weights_row.setContentsMargins(0, 0, 0, 0)
        weights_row.addWidget(self.weights_file, 1)
        weights_row.addWidget(self.browse)
        self._weights_file_row = QWidget()
        self._weights_file_row.setLayout(weights_row)

        form = QFormLayout()
        form.addRow("Model", self.model)
        form.addRow("Weights", self.weights)
        form.addRow("", self._weights_file_row)
        form.addRow("Epochs", self.epochs)
        form.addRow("Image size", self.imgsz)
        form.addRow("Batch", self.batch)
        form.addRow("Device", self.device)
        form.addRow("Runs folder", self.out)
        self.advanced = QGroupBox("Advanced")
        self.advanced.setCheckable(True)
        self.advanced.setChecked(False)
        adv = QFormLayout(self.advanced)
        adv.addRow("Learning rate", self.lr)
        adv.addRow("Warmup epochs", self.warmup)
        adv.addRow("Freeze backbone (epochs)", self.freeze)
        adv.addRow("Data loader workers", self.workers)
        adv.addRow("Input range (16-bit)", self.input_range)
        self.advanced.toggled.connect(self._show_advanced)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.advanced)
        self.weights.currentIndexChanged.connect(self._weights_changed)
        self._weights_changed()
        self._show_advanced(False)
        self.set_keypoints(False)
        self._query: DeviceQuery | None = None
        if query_devices:
            self._query = DeviceQuery(self)
            self._query.found.connect(self.set_devices)
        self._query_started = False

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        # Asking torch for CUDA devices imports torch (seconds of CPU); only once the form is seen.
        if self._query is not None and not self._query_started:
            self._query_started = True
            self._query.start()
        super().showEvent(event)

    # ------------------------------------------------------------------ dataset and devices
    def set_keypoints(self, has_keypoints: bool) -> None:
        """Offer the models that fit the dataset, its default first."""
        previous_default = default_model(self._has_keypoints)
        self._has_keypoints = has_keypoints
        current = self.model.currentData()
        if current == previous_default:
            current = None  # the user kept the default: follow the new dataset's default
        self.model.clear()
        default = default_model(has_keypoints)
        self.model.addItem(f"{default} (default)", default)
        for name, spec in MODELS.items():
            if name != default and (has_keypoints or not spec.keypoints):
                self.model.addItem(name, name)
        i = self.model.findData(current)
        self.model.setCurrentIndex(max(i, 0))

    def set_dataset(self, ds: Dataset | None, path: str | None) -> None:
        self.set_keypoints(ds is not None and ds.keypoints is not None)
        if path and not self.out.text():
            self.out.setPlaceholderText(str(default_runs_folder(path)))

    def set_devices(self, devices: list[DeviceChoice]) -> None:
        current = self.device.currentData()
        self.device.clear()
        for d in devices:
            self.device.addItem(d.text, d.value)
        i = self.device.findData(current) if current != "cpu" else -1
        self.device.setCurrentIndex(i if i >= 0 else 0)  # the first GPU when one exists

    # ------------------------------------------------------------------ config
    def config(self, data: str) -> TrainConfig:
        """The options as a TrainConfig for the dataset at ``data``."""
        key = self.weights.currentData()
        weights = {"pretrained": "default", "none": "none"}.get(key, self.weights_file.text().strip())
        out = self.out.text().strip() or str(default_runs_folder(data))
        return TrainConfig(
            data=data,
            model=self.model.currentData() or "",
            epochs=self.epochs.value(),
            imgsz=self.imgsz.value(),
            batch=self.batch.value(),
            device=self.device.currentData() or "auto",
            weights=weights,
            out=out,
            lr=self.lr.value(),
            warmup_epochs=self.warmup.value(),
            freeze_backbone_epochs=self.freeze.value(),
            workers=self.workers.value(),
            input_range=self.input_range.currentText().strip() or "auto",
        )

    def set_config(self, cfg: TrainConfig) -> None:
        """Fill the form from a config (e.g. the last run's), leaving unknown values as they are."""
        i = self.model.findData(cfg.model)
        if i >= 0:
            self.model.setCurrentIndex(i)
        w = (cfg.weights or "default").strip()
        key = {"default": "pretrained", "none": "none"}.get(w.lower(), "file")
        self.weights.setCurrentIndex(self.weights.findData(key))
        if key == "file":
            self.weights_file.setText(w)
        self.epochs.setValue(cfg.epochs)
        self.imgsz.setValue(cfg.imgsz)
        self.batch.setValue(cfg.batch)
        j = self.device.findData(cfg.device)
        if j >= 0:
            self.device.setCurrentIndex(j)
        if cfg.out:
            self.out.setText(cfg.out)
        self.lr.setValue(cfg.lr)
        self.warmup.setValue(cfg.warmup_epochs)
        self.freeze.setValue(cfg.freeze_backbone_epochs)
        self.workers.setValue(cfg.workers)
        r = cfg.input_range
        self.input_range.setCurrentText(f"{r[0]:g}, {r[1]:g}" if isinstance(r, list | tuple) else str(r or "auto"))

    def weights_problem(self) -> str | None:
        """Why the weights choice cannot work, or None."""
        if self.weights.currentData() != "file":
            return None
        path = self.weights_file.text().strip()
        if not path:
            return "Choose the checkpoint file to start from, or pick pretrained / none weights."
        if not Path(path).is_file():
            return f"The weights file {path} does not exist."
        return None

    # ------------------------------------------------------------------ internals
    def _weights_changed(self, *_: object) -> None:
        self._weights_file_row.setVisible(self.weights.currentData() == "file")

    def _show_advanced(self, on: bool) -> None:
        for w in (self.lr, self.warmup, self.freeze, self.workers):
            w.setVisible(on)
        layout = self.advanced.layout()
        for i in range(layout.rowCount() if isinstance(layout, QFormLayout) else 0):
            label = layout.itemAt(i, QFormLayout.ItemRole.LabelRole)
            if label is not None and label.widget() is not None:
                label.widget().setVisible(on)

    def _browse_weights(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Weights to start from", "", "Checkpoints (*.pt *.pth)")
        if path:
            self.weights_file.setText(path)


def _spin(lo: int, hi: int, value: int, step: int = 1) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setValue(value)
    return s

"""The detection viewer dock: run a checkpoint, filter its predictions live, compare, accept.

The model runs in the background on the current image, the images in the list or a
split (``runner.py``), once per checkpoint version and image. The score and NMS IoU
sliders only re-filter the cached raw predictions (``qa.nms``), so they redraw at
once; TP / FP / FN come from ``qa.matching`` against the labels as they are now, so
accepting a prediction turns its FP into a TP immediately (and undo turns it back).

Predictions come from the runner already in the dataset's class ids; a checkpoint of
other classes (or keypoints) is refused with both lists, the same rule as the CLI's, and
"Map classes…" opens the dialog that maps them (``class_map_dialog.py``). Opening
another dataset re-checks the chosen checkpoint against it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.prediction import Prediction
from workbench.gui.canvas import AnnotationCanvas
from workbench.gui.commands import EditNotifier
from workbench.gui.predictions.accept import accept_predictions
from workbench.gui.predictions.class_map_dialog import ClassMapDialog
from workbench.gui.predictions.overlay import STATUS_COLORS, Mark, MatchOverlay, set_labels_visible
from workbench.gui.predictions.run_controls import RunControls
from workbench.gui.predictions.runner import PredictionRunner, PredictorFactory, weights_key
from workbench.gui.session import Session
from workbench.qa.matching import match_instances, unlabeled
from workbench.qa.nms import filter_predictions
from workbench.train.runs import BEST, LAST, checkpoint_label, default_runs_folder, legacy_runs_folder, list_runs

MATCH_IOU = 0.5
DEFAULT_SCORE = 0.25
DEFAULT_NMS = 0.5


def _slider(lo: int, hi: int, value: int) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setValue(value)
    s.setPageStep(5)
    return s


class PredictionViewer(QWidget):
    """Controls and prediction list; draws on ``canvas``; edits go on ``undo_stack``."""

    message = Signal(str)

    def __init__(
        self,
        canvas: AnnotationCanvas,
        session: Session,
        undo_stack: QUndoStack,
        notifier: EditNotifier,
        factory: PredictorFactory | None = None,
        list_records: Callable[[], list[ImageRecord]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.canvas, self.session, self.undo_stack, self.notifier = canvas, session, undo_stack, notifier
        self.list_records = list_records
        self.ds: Dataset | None = None
        self.data_path: str | None = None
        self.runner = PredictionRunner(factory, self)
        # Where runs are (the train panel's runs folder, when installed); default: runs/ beside the data.
        self.runs_folder: Callable[[], Path | None] | None = None
        self._shown: list[Prediction] = []
        self._have = False  # the current image has predictions (maybe none above the sliders)
        self._status: list[str] = []  # "tp" / "fp" per shown prediction
        self._missed: list[int] = []  # labels no shown prediction matched
        self.overlay = MatchOverlay()
        self.canvas.scene().addItem(self.overlay)

        self.controls = controls = RunControls("Run")
        self.weights, self.browse, self.map_button = controls.weights, controls.browse, controls.map_button
        self.scope, self.run_button, self.cancel_button = controls.scope, controls.action_button, controls.cancel_button
        self.progress = controls.progress
        self.browse.clicked.connect(self.browse_checkpoint)
        self.map_button.clicked.connect(self._on_map_clicked)
        self.score_slider = _slider(0, 100, int(DEFAULT_SCORE * 100))
        self.nms_slider = _slider(5, 100, int(DEFAULT_NMS * 100))
        self.score_label = QLabel()
        self.nms_label = QLabel()
        self.show_gt = QCheckBox("Labels")
        self.show_preds = QCheckBox("Predictions")
        self.show_match = QCheckBox("TP / FP / FN")
        for box in (self.show_gt, self.show_preds, self.show_match):
            box.setChecked(True)
            box.toggled.connect(self.redraw)
        self.summary = QLabel("No predictions yet: choose a checkpoint and press Run.")
        self.summary.setWordWrap(True)
        self.list = QListWidget()
        self.list.currentRowChanged.connect(lambda _row: self._draw_marks())
        self.accept_button = QPushButton("Accept as label")
        self.accept_button.setToolTip("Add the selected prediction to the labels (undoable)")
        self.accept_all_button = QPushButton("Accept all above threshold")
        self.accept_all_button.setToolTip("Add every shown prediction that overlaps no label (one undo step)")

        form = QFormLayout()
        controls.add_rows(form, "Run on")
        form.addRow(self.score_label, self.score_slider)
        form.addRow(self.nms_label, self.nms_slider)
        toggles = QHBoxLayout()
        toggles.addWidget(QLabel("Show"))
        for box in (self.show_gt, self.show_preds, self.show_match):
            toggles.addWidget(box)
        toggles.addStretch(1)
        accept_row = QHBoxLayout()
        accept_row.addWidget(self.accept_button)
        accept_row.addWidget(self.accept_all_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(toggles)
        layout.addWidget(self.summary)
        layout.addWidget(self.list, 1)
        layout.addLayout(accept_row)

        self.score_slider.valueChanged.connect(self.redraw)
        self.nms_slider.valueChanged.connect(self.redraw)
        self.run_button.clicked.connect(lambda: self.run())
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.accept_button.clicked.connect(self.accept_selected)
        self.accept_all_button.clicked.connect(self.accept_all)
        self.runner.predicted.connect(self._on_predicted)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.session.record_changed.connect(self._on_current_changed)
        self.weights.currentIndexChanged.connect(self._on_weights_changed)
        self.notifier.recordChanged.connect(self._on_record_changed)
        self.notifier.classesChanged.connect(self.redraw)
        self._update_labels()

    # ------------------------------------------------------------------ setup
    def set_dataset(self, ds: Dataset | None, path: str | None) -> None:
        """Another dataset: the runner stops the old one's job and re-checks the checkpoint against this one."""
        self.runner.set_dataset(ds, path)
        self.ds, self.data_path = ds, path
        self.scope.clear()
        self.scope.addItem("Current image", "current")
        if self.list_records is not None:
            self.scope.addItem("Images in the list", "list")
        for split in ds.splits if ds is not None else {}:
            self.scope.addItem(f"Split: {split}", f"split:{split}")
        self.refresh_checkpoints()
        self.redraw()

    def refresh_checkpoints(self) -> None:
        """Offer the best.pt / last.pt of the runs beside the dataset, newest run first."""
        current = self.weights.currentData()
        self.weights.clear()
        root = self.runs_folder() if self.runs_folder is not None else None
        if root is None and self.data_path:
            root = default_runs_folder(self.data_path)
        legacy = [legacy_runs_folder(self.data_path)] if self.data_path else []
        for run in list_runs(root, *legacy) if root is not None else []:
            for name in (BEST, LAST):
                if (run / name).is_file():
                    self._add_weights(run / name)
        if current:
            self.set_weights(current)

    def _add_weights(self, path: Path) -> int:
        """One entry: run folder, file, date and val mAP (two runs' best.pt look different); full path as tooltip."""
        text, tip = checkpoint_label(path)
        self.weights.addItem(text, str(path))
        i = self.weights.count() - 1
        self.weights.setItemData(i, tip, Qt.ItemDataRole.ToolTipRole)
        return i

    def set_weights(self, path: str | Path) -> None:
        p = str(Path(path))
        i = self.weights.findData(p)
        if i < 0:
            i = self._add_weights(Path(p))
        self.weights.setCurrentIndex(i)
        self._on_weights_changed()

    def weights_path(self) -> Path | None:
        data = self.weights.currentData()
        return Path(data) if data else None

    def _key(self) -> tuple[str, int] | None:
        weights = self.weights_path()
        return weights_key(weights) if weights is not None and weights.is_file() else None

    def refusal(self) -> str:
        """Why the chosen checkpoint may not touch this dataset's labels ("" when it may, or is not loaded yet)."""
        key = self._key()
        return self.runner.refusal(key) if key is not None else ""

    def _on_weights_changed(self, *_: object) -> None:
        self.session.set_checkpoint(self.weights_path())
        self._update_map_button()
        self.redraw()

    def _show_refusal(self, text: str) -> None:
        self.summary.setText(text)
        self.progress.setFormat("refused")
        self.message.emit(text)
        self._update_map_button()

    def can_map_classes(self) -> bool:
        """The chosen checkpoint is loaded, its classes are known and a dataset is open: the dialog can map them."""
        key = self._key()
        return key is not None and self.ds is not None and self.runner.model_classes(key) is not None

    def _update_map_button(self) -> None:
        key = self._key()
        mapped = key is not None and self.runner.class_map(key) is not None
        self.map_button.setVisible(self.can_map_classes() and (bool(self.refusal()) or mapped))

    def set_class_map(self, class_map: dict[str, str] | None) -> str:
        """Map the chosen checkpoint's classes (name -> dataset name or ``ignore``); "" or why it is still refused."""
        key = self._key()
        if key is None:
            return "Choose a checkpoint first"
        why = self.runner.set_class_map(key, class_map)
        self._update_map_button()
        self.redraw()
        if not why:
            mapping = self.runner.mapping(key)
            note = mapping.describe() if mapping is not None else ""
            self.message.emit(f"Checkpoint classes mapped{': ' + note if note else ''}")
        return why

    def _on_map_clicked(self) -> None:
        self.map_classes()

    def map_classes(self) -> bool:
        """Open the class-map dialog for the chosen checkpoint; True when the user gave a mapping that fits."""
        key = self._key()
        model_classes = self.runner.model_classes(key) if key is not None else None
        if key is None or model_classes is None or self.ds is None:
            self.message.emit("Run the checkpoint once first: its classes are read when it loads")
            return False
        dialog = ClassMapDialog(model_classes, list(self.ds.classes), self.runner.class_map(key), self)
        if not dialog.exec():
            return False
        why = self.set_class_map(dialog.class_map())
        if why:
            self._show_refusal(why)
        return not why

    # ------------------------------------------------------------------ running
    def scope_records(self, scope: str | None = None) -> list[ImageRecord]:
        scope = scope or self.scope.currentData() or "current"
        if scope == "current":
            rec = self._current_record()
            return [rec] if rec is not None else []
        if scope == "list" and self.list_records is not None:
            return self.list_records()
        if scope.startswith("split:") and self.ds is not None:
            return self.ds.split(scope.split(":", 1)[1])
        return []

    def run(self, scope: str | None = None) -> int:
        """Predict the scope's images the cache lacks; returns how many will run (-1: cannot)."""
        weights = self.weights_path()
        if weights is None or not weights.is_file():
            self.summary.setText("Choose a checkpoint first (a run's best.pt, or … to browse).")
            return -1
        records = self.scope_records(scope)
        if not records:
            return 0
        n = self.runner.run(weights, [r.path for r in records])
        refusal = self.refusal()
        if n < 0 and refusal:
            self._show_refusal(refusal)
            return -1
        if n > 0:
            self.progress.setRange(0, n)
            self.progress.setValue(0)
            self.progress.setFormat(f"predicting 0/{n}…")
            self.run_button.setEnabled(False)
            self.cancel_button.setEnabled(True)
        elif n == 0:
            self.progress.setFormat("all cached")
            self.redraw()
        return n

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"predicting {done}/{total}…")

    def _on_predicted(self, found: dict) -> None:
        rec = self._current_record()
        if rec is not None and Path(rec.path) in {Path(p) for p in found}:
            self.redraw()

    def _on_finished(self, failed: dict, error: str) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if error:
            self.progress.setFormat("refused" if error == self.refusal() else "failed")
            self.summary.setText(error)
            self.message.emit(error.splitlines()[0])
            self._update_map_button()
            return
        self.progress.setValue(self.progress.maximum())
        self.progress.setFormat("done" + (f" ({len(failed)} unreadable)" if failed else ""))
        self.redraw()

    # ------------------------------------------------------------------ filtering and drawing
    def score(self) -> float:
        return self.score_slider.value() / 100.0

    def nms_iou(self) -> float:
        return self.nms_slider.value() / 100.0

    def raw_predictions(self, rec: ImageRecord | None = None) -> list[Prediction] | None:
        rec = rec or self._current_record()
        weights = self.weights_path()
        if rec is None or weights is None or not weights.is_file():
            return None
        return self.runner.predictions(weights_key(weights), rec.path)  # in the dataset's classes, or None

    def shown_predictions(self) -> list[Prediction]:
        """The current image's predictions that pass the sliders, best first."""
        return list(self._shown)

    def redraw(self, *_: object) -> None:
        self._update_labels()
        rec = self._current_record()
        raw = self.raw_predictions(rec)
        self._shown = filter_predictions(raw, self.score(), self.nms_iou()) if raw is not None else []
        self._have = raw is not None
        self._match(rec)
        if rec is not None:
            self.canvas.set_predictions(self._shown if raw is not None else None, self.show_preds.isChecked())
        set_labels_visible(self.canvas.scene(), self.show_gt.isChecked())
        self._fill_list(rec, raw is not None)
        self._draw_marks()

    def _fill_list(self, rec: ImageRecord | None, have: bool) -> None:
        row = self.list.currentRow()
        self.list.blockSignals(True)
        self.list.clear()
        status = self._status
        for i, p in enumerate(self._shown):
            name = self.canvas.class_name(p.class_id)
            item = QListWidgetItem(f"{name}  {p.score:.2f}  {status[i].upper() if status else ''}".rstrip())
            if status:
                item.setForeground(STATUS_COLORS[status[i]].darker(130))
            self.list.addItem(item)
        self.list.setCurrentRow(min(row, self.list.count() - 1) if row >= 0 else -1)
        self.list.blockSignals(False)
        refusal = self.refusal()
        if refusal:
            self.summary.setText(refusal)
        elif rec is None or not have:
            self.summary.setText(
                "No predictions for this image yet: press Run."
                if rec is not None and self.weights_path()
                else "Choose a checkpoint and press Run."
            )
        else:
            fn = len(self._missed)
            tp = sum(1 for s in status if s == "tp")
            self.summary.setText(
                f"{len(self._shown)} predictions at score ≥ {self.score():.2f}: "
                f"TP {tp} · FP {len(self._shown) - tp} · FN {fn} (IoU {MATCH_IOU:.1f})"
            )
        self.accept_button.setEnabled(bool(self._shown))
        self.accept_all_button.setEnabled(bool(self._shown))

    def _match(self, rec: ImageRecord | None) -> None:
        """TP/FP per shown prediction and the missed labels, once per redraw (the list and the marks read them)."""
        self._status, self._missed = [], []
        if rec is None:
            return
        m = match_instances(rec.instances, self._shown, MATCH_IOU)
        if self._shown:
            self._status = [m.pred_status(i) for i in range(len(self._shown))]
        self._missed = [j for j in range(len(rec.instances)) if m.gt_pred[j] < 0]

    def _draw_marks(self) -> None:
        rec = self._current_record()
        marks: list[Mark] = []
        if rec is not None and self._have and self.show_match.isChecked():
            selected = self.list.currentRow()
            if self.show_preds.isChecked():
                for i, (p, s) in enumerate(zip(self._shown, self._status, strict=True)):
                    marks.append(Mark(p.box, s, i == selected))
            if self.show_gt.isChecked():
                marks.extend(Mark(rec.instances[j].box, "fn") for j in self._missed)
        w, h = self.canvas.bounds()
        self.overlay.set_marks(marks, QRectF(0, 0, w, h))

    def _update_labels(self) -> None:
        self.score_label.setText(f"Score ≥ {self.score():.2f}")
        iou = self.nms_iou()
        self.nms_label.setText("NMS IoU off" if iou >= 1.0 else f"NMS IoU {iou:.2f}")

    # ------------------------------------------------------------------ canvas
    def _current_record(self) -> ImageRecord | None:
        return self.session.record

    def _on_current_changed(self, _index: int | None, _rec: ImageRecord | None) -> None:
        self.redraw()  # a new image: the canvas, set first, has dropped the old image's marks

    def _on_record_changed(self, rec: object) -> None:
        if rec is self._current_record():
            self.redraw()

    # ------------------------------------------------------------------ accepting
    def accept_selected(self) -> bool:
        row = self.list.currentRow()
        if row < 0 and len(self._shown) == 1:
            row = 0
        return self._accept([self._shown[row]] if 0 <= row < len(self._shown) else [])

    def accept_all(self) -> bool:
        """Every shown prediction that overlaps no label (of any class): new objects, not duplicates."""
        rec = self._current_record()
        if rec is None:
            return False
        return self._accept([self._shown[i] for i in unlabeled(rec.instances, self._shown, MATCH_IOU)])

    def _accept(self, preds: list[Prediction]) -> bool:
        rec = self._current_record()
        if rec is None or self.ds is None or not preds:
            self.message.emit("Nothing to accept: no prediction selected, or all overlap a label already")
            return False
        self.undo_stack.push(accept_predictions(self.ds, rec, preds, self.notifier))
        self.message.emit(f"Accepted {len(preds)} prediction(s) as labels (Ctrl+Z undoes)")
        return True

    def browse_checkpoint(self) -> None:
        """Pick a checkpoint file, starting in the dataset's runs folder."""
        start = str(default_runs_folder(self.data_path)) if self.data_path else ""
        path, _ = QFileDialog.getOpenFileName(self, "Checkpoint", start, "Checkpoints (*.pt *.pth *.onnx)")
        if path:
            self.set_weights(path)

"""The Label QC panel: run a checkpoint over the dataset, rank the labels it disagrees with, fix them.

The panel shares the detection viewer's checkpoint choice and prediction runner (see
``job.py``): one model in memory, one cache, and the boxes the viewer draws on the
canvas are the evidence behind the selected suspect. Clicking a suspect asks the
window to show its image and select its instance (``jumpRequested``, as the findings
panel does); Fix (or a double-click, or Return) pushes one undoable command. Every
edit of a judged image, from here, from the canvas or from undo, re-judges that
image, so the list always describes the labels as they are (``rows.py``).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QUndoStack
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workbench.core.annotation import Dataset, ImageRecord
from workbench.gui.commands import EditNotifier
from workbench.gui.label_qc.fix import confirm_qc_fix, qc_fix_command
from workbench.gui.label_qc.job import QCJob
from workbench.gui.label_qc.kfold_job import KFoldJob
from workbench.gui.label_qc.model import IMAGE, KIND, LINE, MESSAGE, SCORE, SuspectTableModel, kind_title
from workbench.gui.label_qc.rows import EVERY, LIKELY, WORTH_A_LOOK, SuspectList, SuspectRow
from workbench.gui.predictions.run_controls import RunControls
from workbench.gui.predictions.viewer import PredictionViewer
from workbench.qa.fixes import apply_fix
from workbench.qa.label_qc import KINDS, Suspect
from workbench.qa.qc_reliability import MIN_MAP50, OUT_OF_SAMPLE, measure_reliability
from workbench.train.config import TrainConfig

ALL = "all"
CHECKPOINT, KFOLD = "checkpoint", "kfold"  # what judges the labels


class LabelQCPanel(QWidget):
    """Suspects of the open dataset, most likely wrong first; emits ``jumpRequested(record, instance or -1)``."""

    jumpRequested = Signal(int, int)
    message = Signal(str)

    def __init__(
        self,
        viewer: PredictionViewer,
        undo_stack: QUndoStack,
        notifier: EditNotifier,
        parent: QWidget | None = None,
        *,
        fold_config: Callable[[], TrainConfig | None] | None = None,
        save: Callable[[], bool] | None = None,
    ) -> None:
        super().__init__(parent)
        self.viewer, self.undo_stack, self.notifier = viewer, undo_stack, notifier
        # k-fold QC trains like the Train panel's form says, on the saved label files.
        self._fold_config, self._save = fold_config, save
        self.kfold = KFoldJob(self)
        self._kfold_indices: list[int] = []
        self.ds: Dataset | None = None
        self.data_path: str | None = None
        self._index_of: dict[int, int] = {}  # id(record) -> record index
        self._changed: set[int] = set()  # record indices edited since they were judged
        self._edited_in_job: set[int] = set()  # edited while a job ran: its judgement may predate the edit
        self._restoring = False  # re-selecting the same suspect after a refresh: no jump
        self.rows = SuspectList()
        self.model = SuspectTableModel(self)
        self.job = QCJob(viewer.runner, self)

        self.controls = controls = RunControls("Find suspects", min_chars=20)
        self.weights, self.browse, self.map_button = controls.weights, controls.browse, controls.map_button
        self.weights.setModel(viewer.weights.model())  # a second view of the viewer's list, following its choice
        self.weights.setToolTip("The checkpoint whose predictions judge the labels (shared with the detection viewer)")
        self.judge_with = QComboBox()
        self.judge_with.addItem("The checkpoint", CHECKPOINT)
        self.judge_with.addItem("k-fold models (out of sample)", KFOLD)
        self.judge_with.setToolTip(
            "k-fold trains K models like the Train panel's settings, each on the other folds, so every image "
            "is judged by a model that never saw its labels: slower, and the honest judgement"
        )
        self.folds = QSpinBox()
        self.folds.setRange(2, 10)
        self.folds.setValue(3)
        self.folds.setPrefix("K = ")
        self.folds.setToolTip("How many fold models to train")
        self.folds.setVisible(False)
        self.scope, self.find_button = controls.scope, controls.action_button
        self.cancel_button = controls.cancel_button
        self.scope.setToolTip("For an honest judgement use images the model did not train on (the val split)")
        self.progress = controls.progress
        self.summary = QLabel(
            "Choose a checkpoint and press Find suspects: the model's predictions point at "
            "labels that are probably wrong."
        )
        self.summary.setWordWrap(True)
        self.kind_filter = QComboBox()
        self.tier = QComboBox()
        self.tier.addItem("Likely mistakes", LIKELY)
        self.tier.addItem("Worth a look", WORTH_A_LOOK)
        self.tier.addItem("All suspects", EVERY)
        self.tier.setToolTip(
            "Likely mistakes: the label is more likely wrong than right, by what the model's precision "
            "on images it never trained on says of its evidence. Worth a look: the rest."
        )
        self.verdict = QLabel()  # how far the model can be trusted, once measured
        self.verdict.setWordWrap(True)
        self.verdict.setVisible(False)
        self.show_ignored = QCheckBox("Show ignored")
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        for col in (SCORE, KIND, IMAGE, LINE):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(MESSAGE, QHeaderView.ResizeMode.Stretch)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fix_button = QPushButton("Fix")
        self.fix_button.setToolTip("Apply the model's suggestion (one undo step; Ctrl+Z undoes it)")
        self.ignore_button = QPushButton("Ignore")
        self.ignore_button.setToolTip("Hide this suspect: the label is right and the model is wrong")

        model_row = QHBoxLayout()
        model_row.addWidget(self.judge_with, 1)
        model_row.addWidget(self.folds)
        form = QFormLayout()
        form.addRow("Model", model_row)
        controls.add_rows(form, "Judge")
        filters = QHBoxLayout()
        filters.addWidget(QLabel("Show"))
        filters.addWidget(self.tier)
        filters.addWidget(self.kind_filter, 1)
        filters.addWidget(self.show_ignored)
        buttons = QHBoxLayout()
        buttons.addWidget(self.fix_button, 1)
        buttons.addWidget(self.ignore_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        layout.addWidget(self.verdict)
        layout.addWidget(self.summary)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.detail)
        layout.addLayout(buttons)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.timeout.connect(self._rejudge_changed)
        viewer.weights.currentIndexChanged.connect(self._follow_viewer)
        self.weights.activated.connect(lambda i: self.viewer.set_weights(self.weights.itemData(i)))
        self.browse.clicked.connect(self.viewer.browse_checkpoint)  # one choice, shared
        self.map_button.clicked.connect(self._on_map_clicked)
        self.find_button.clicked.connect(self._on_find_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        self.judge_with.currentIndexChanged.connect(lambda _i: self._on_judge_with())
        self.kfold.progress.connect(self._on_kfold_progress)
        self.kfold.finished.connect(self._on_kfold_finished)
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.kind_filter.currentIndexChanged.connect(lambda _i: self.refresh())
        self.tier.currentIndexChanged.connect(lambda _i: self.refresh())
        self.show_ignored.toggled.connect(lambda _on: self.refresh())
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._on_current(cur))
        self.table.clicked.connect(self._jump)
        self.table.doubleClicked.connect(self._on_fix_clicked)
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            shortcut = QShortcut(QKeySequence(key), self.table, context=Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(self._on_fix_clicked)
        self.fix_button.clicked.connect(self._on_fix_clicked)
        self.ignore_button.clicked.connect(self._on_ignore_clicked)
        notifier.recordChanged.connect(self._on_record_changed)
        self._follow_viewer()
        self._fill_kind_filter()
        self._update_buttons()

    # ------------------------------------------------------------------ setup
    def set_dataset(self, ds: Dataset | None, path: str | None) -> None:
        """A new dataset: forget the old suspects and offer its splits."""
        self.kfold.cancel()  # its fold models learn the previous dataset
        self.job.reset()
        self.ds, self.data_path = ds, path
        self._index_of = {id(r): i for i, r in enumerate(ds.records)} if ds is not None else {}
        self._changed.clear()
        self._edited_in_job.clear()
        self.rows.clear()
        self._show_verdict()
        self.scope.clear()
        self.scope.addItem("All images", ALL)
        for split in sorted(ds.splits) if ds is not None else []:
            self.scope.addItem(f"Split: {split}", split)
        self.controls.reset_progress()
        self.refresh()
        self._update_map_button()
        refusal = self.viewer.refusal()  # the shared checkpoint, re-checked against this dataset
        if refusal:
            self.summary.setText(refusal)

    def weights_path(self) -> Path | None:
        return self.viewer.weights_path()

    def set_weights(self, path: str | Path) -> None:
        """Choose the checkpoint (the viewer follows: they share one choice)."""
        self.viewer.set_weights(path)

    def _follow_viewer(self, *_: object) -> None:
        self.weights.setCurrentIndex(self.viewer.weights.currentIndex())
        self._update_map_button()

    def _update_map_button(self) -> None:
        """Shown while the shared checkpoint is refused for this dataset and its classes are known."""
        self.map_button.setVisible(self.viewer.can_map_classes() and bool(self.viewer.refusal()))

    def _on_map_clicked(self) -> None:
        if self.viewer.map_classes():
            self.summary.setText("Classes mapped: press Find suspects.")
        self._update_map_button()

    # ------------------------------------------------------------------ running
    def scope_indices(self, scope: str | None = None) -> list[int]:
        if self.ds is None:
            return []
        scope = scope or self.scope.currentData() or ALL
        return [i for i, r in enumerate(self.ds.records) if scope == ALL or r.split == scope]

    def busy(self) -> bool:
        return self.job.busy() or self.kfold.busy()

    def _on_cancel_clicked(self) -> None:
        self.kfold.cancel()
        self.job.cancel()

    def _on_judge_with(self) -> None:
        kfold = self.judge_with.currentData() == KFOLD
        self.folds.setVisible(kfold)
        for w in (self.weights, self.browse):
            w.setEnabled(not kfold)

    def _start_kfold(self, indices: list[int]) -> bool:
        """Fold models (or a reusable run) for ``indices``, trained on the saved labels; then judging."""
        assert self.ds is not None
        config = self._fold_config() if self._fold_config is not None else None
        if config is None or self.data_path is None:
            self.summary.setText("k-fold QC needs the Train panel's settings: open the Train panel once.")
            return False
        if self.ds.dirty_records() or self.ds.classes_dirty:
            if self._save is None or not self._save():
                self.summary.setText("Save your edits first: the fold models train on the label files.")
                return False
        records = [self.ds.records[i] for i in indices]
        why = self.kfold.start(self.data_path, self.ds, records, self.folds.value(), config)
        if why:
            self.summary.setText(why)
            return False
        self._kfold_indices = indices
        self._edited_in_job.clear()
        self.find_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)  # busy: fold training reports lines, not fractions
        self.progress.setFormat("training fold models…")
        self.summary.setText(
            f"Training {self.folds.value()} fold models on the saved labels ({config.epochs} epochs each, "
            f"in {config.out}); the window stays usable, and the runs are reused until the labels change."
        )
        return True

    def _on_kfold_progress(self, line: str) -> None:
        self.progress.setFormat(line[:80])
        self.progress.setToolTip(line)

    def _on_kfold_finished(self, predictions: dict | None, error: str) -> None:
        self.progress.setRange(0, 1)
        if predictions is None or self.ds is None:
            self._on_finished([], error or "k-fold QC ended without predictions")
            return
        judged = [r for i, r in enumerate(self.ds.records) if i in set(self._kfold_indices)]
        rel = measure_reliability(self.ds, predictions, judged, source="k-fold")
        if self.kfold.reused is not None:
            self.message.emit(f"Reused the fold predictions in {self.kfold.reused}: the labels have not changed")
        why = self.job.judge_given(self.ds, predictions, self._kfold_indices, rel, OUT_OF_SAMPLE)
        if why:
            self._on_finished([], why)

    def find_suspects(self, scope: str | None = None) -> bool:
        """Predict (what the cache lacks) and judge the scope's images in the background; False if it cannot."""
        weights = self.weights_path()
        if self.ds is None:
            return False
        if self.judge_with.currentData() != KFOLD and (weights is None or not weights.is_file()):
            self.summary.setText(
                "Choose a checkpoint first: a run's best.pt (train one in the Train panel), or … to browse."
            )
            return False
        indices = self.scope_indices(scope)
        if not indices:
            self.summary.setText("No images to judge in this scope.")
            return False
        if self.kfold.busy() or self.job.busy():
            return False
        if self.judge_with.currentData() == KFOLD:
            return self._start_kfold(indices)
        why = self.job.start(self.ds, weights, indices)
        if why:
            self._update_map_button()
            self.summary.setText(why)
            self.message.emit(why)
            return False
        self._edited_in_job.clear()
        self.find_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, len(indices))
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        return True

    def _on_progress(self, done: int, total: int, what: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{what} {done}/{total}…")

    def _on_finished(self, judged: list[tuple[int, Suspect]], error: str) -> None:
        self.find_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self._changed |= self._edited_in_job
        self._edited_in_job.clear()
        self._update_map_button()
        if error:  # the previous suspects and predictions stay
            self._rejudge_changed()  # edits made meanwhile
            self.progress.setFormat("cancelled" if error == "cancelled" else "failed")
            self.summary.setText("Cancelled." if error == "cancelled" else error)
            if error != "cancelled":
                self.message.emit(error.splitlines()[0])
            return
        self.progress.setValue(self.progress.maximum())
        unreadable = len(self.job.failed)
        self.progress.setFormat("done" + (f" ({unreadable} unreadable)" if unreadable else ""))
        self.rows.set_all(judged)
        self._show_verdict()
        self._rejudge_changed()  # images edited after they were judged
        if self.model.rowCount():
            self.table.selectRow(0)
        self.message.emit(self._summary_text())

    # ------------------------------------------------------------------ following edits
    def _on_record_changed(self, rec: ImageRecord) -> None:
        i = self._index_of.get(id(rec))
        if i is None:
            return
        if self.job.busy():
            self._edited_in_job.add(i)  # re-judged when the job is done
        if Path(rec.path) in self.job.predictions:  # the list shown: judged again now
            self._changed.add(i)
            self._refresh_timer.start(0)  # one refresh after a burst of edits (a dataset-wide remap)

    def _rejudge_changed(self) -> None:
        for i in sorted(self._changed):
            self._rejudge(i)
        self._changed.clear()
        self.refresh()

    def _rejudge(self, index: int) -> None:
        if self.ds is None:
            return
        fresh = self.job.judge(self.ds.records[index])
        if fresh is not None:
            self.rows.rejudged(index, fresh)

    # ------------------------------------------------------------------ table
    def refresh(self) -> None:
        """Show the rows that pass the filters, keeping the selected suspect selected."""
        keep = self.current_row()
        self.model.set_rows(
            self.rows.visible(self.kind_filter.currentData(), self.show_ignored.isChecked(), self.tier.currentData())
        )
        self._fill_kind_filter()
        r = self.model.row_of(keep.key) if keep is not None else -1
        if r >= 0:
            self._restoring = True
            self.table.selectionModel().setCurrentIndex(
                self.model.index(r, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
            )
            self._restoring = False
        self.summary.setText(self._summary_text())
        self._update_buttons()

    def _summary_text(self) -> str:
        if self.ds is None:
            return "No dataset open"
        if not self.rows.rows:
            if self.job.predictions:
                return f"No suspects in {len(self.job.predictions)} images: the model agrees with the labels."
            return "Press Find suspects to let the model point at labels that look wrong."
        counts = self.rows.counts()
        fixed = sum(1 for row in self.rows.rows if row.fixed)
        ignored = sum(1 for row in self.rows.rows if row.ignored)
        kinds = ", ".join(f"{kind_title(k)} {n}" for k, n in sorted(counts.items()))
        extra = "".join([f" · {fixed} fixed" if fixed else "", f" · {ignored} ignored" if ignored else ""])
        total, likely = sum(counts.values()), self.rows.likely_count()
        return (
            f"{likely} likely mistakes, {total - likely} worth a look, in {self._judged_images()} images"
            f"{' (' + kinds + ')' if kinds else ''}{extra}"
        )

    def _judged_images(self) -> int:
        return len({row.record for row in self.rows.rows}) if not self.job.predictions else len(self.job.predictions)

    def _show_verdict(self) -> None:
        """The model's reliability above the list: QC's trust in it, or why it has none."""
        rel = self.job.reliability
        if rel is None:
            self.verdict.setVisible(False)
            return
        calibration = [
            f"{c.name} from {c.likely_score:.2f}" for c in rel.classes if c.likely_score is not None and c.calibrated
        ]
        if rel.judges_reliably:
            text = f"Model: {html.escape(rel.reason)}."
            if calibration:
                text += " Right 9 times in 10 for " + html.escape(", ".join(calibration)) + "."
        else:
            text = (
                f"<b>Model: {html.escape(rel.reason)}.</b> Nothing is marked as a likely mistake and one-click "
                "fixes are off; train longer (or on more images), then find suspects again."
            )
        self.verdict.setText(text)
        self.verdict.setToolTip(
            "Measured on labeled images the checkpoint never trained on; below mAP50 "
            f"{MIN_MAP50:.2f} QC does not trust its judgement."
        )
        self.verdict.setVisible(True)
        if not rel.judges_reliably or not self.rows.likely_count():
            # Nothing likely to show: the list opens on what is worth a look instead of empty.
            self.tier.setCurrentIndex(self.tier.findData(WORTH_A_LOOK if self.rows.rows else LIKELY))
        else:
            self.tier.setCurrentIndex(self.tier.findData(LIKELY))

    def _fill_kind_filter(self) -> None:
        current = self.kind_filter.currentData()
        counts = self.rows.counts()
        self.kind_filter.blockSignals(True)
        self.kind_filter.clear()
        self.kind_filter.addItem(f"All kinds ({sum(counts.values())})", None)
        for kind in KINDS:
            self.kind_filter.addItem(f"{kind_title(kind)} ({counts.get(kind, 0)})", kind)
        self.kind_filter.setCurrentIndex(max(self.kind_filter.findData(current), 0))
        self.kind_filter.blockSignals(False)

    def current_row(self) -> SuspectRow | None:
        return self.model.row_at(self.table.currentIndex())

    def _on_current(self, index: QModelIndex) -> None:
        self._update_buttons()
        if not self._restoring:
            self._jump(index)

    def _jump(self, index: QModelIndex) -> None:
        row = self.model.row_at(index)
        if row is not None:
            instance = row.suspect.instance
            self.jumpRequested.emit(row.record, -1 if instance is None or row.fixed else instance)

    def _update_buttons(self) -> None:
        row = self.current_row()
        title = self._fix_title(row)
        self.fix_button.setEnabled(title is not None)
        self.fix_button.setText(f"Fix: {title}" if title else "Fix")
        self.fix_button.setToolTip(
            "Apply the model's suggestion (one undo step; Ctrl+Z undoes it)"
            if self.fixes_allowed() or self.job.reliability is None
            else "Off: the model is too weak to judge labels; edit the label on the canvas if it is wrong"
        )
        self.ignore_button.setEnabled(row is not None)
        self.ignore_button.setText("Unignore" if row is not None and row.ignored else "Ignore")
        if row is None:
            self.detail.setText("")
            return
        s = row.suspect
        state = "Fixed. " if row.fixed else "Ignored. " if row.ignored else ""
        odds = f"P(wrong) {s.p_wrong:.2f}, " if s.p_wrong is not None else ""
        tier = "likely mistake" if s.likely else "worth a look"
        sample = "; judged by a model that trained on this image (weaker evidence)" if s.in_sample else ""
        self.detail.setText(
            f"{state}<b>{kind_title(s.kind)}</b> ({tier}{sample}) at {html.escape(s.location())} "
            f"({odds}score {s.score:.2f}): {html.escape(s.message)}"
        )

    def _fix_title(self, row: SuspectRow | None) -> str | None:
        if row is None or row.fixed or self.ds is None or not self.fixes_allowed():
            return None
        try:
            return apply_fix(self.ds, self.ds.records[row.record], row.suspect.suggestion).title
        except (ValueError, KeyError):
            return None

    # ------------------------------------------------------------------ actions
    # Slots return nothing: PySide6 mishandles a value returned to a void signal (see actions._void).
    def _on_find_clicked(self) -> None:
        self.find_suspects()

    def _on_fix_clicked(self, *_: object) -> None:
        self.fix_current()

    def _on_ignore_clicked(self) -> None:
        self.toggle_ignore_current()

    def fixes_allowed(self) -> bool:
        """One-click fixes only from a model that judges labels reliably (measured on held-out images)."""
        rel = self.job.reliability
        return rel is not None and rel.judges_reliably

    def fix_current(self) -> bool:
        """Apply the selected suspect's suggestion as one undoable edit; False when there is nothing to fix."""
        row = self.current_row()
        if row is None or row.fixed or self.ds is None:
            return False
        if not self.fixes_allowed():
            self.message.emit("One-click fixes are off: the model is too weak to judge labels (see the QC panel)")
            return False
        rec = self.ds.records[row.record]
        try:
            cmd = qc_fix_command(self.ds, rec, row.suspect, self.notifier)
        except (ValueError, KeyError) as e:
            self.message.emit(f"Cannot fix: {e}")
            return False
        if not confirm_qc_fix(self, row.suspect, cmd):
            return False
        self.undo_stack.push(cmd)  # recordChanged re-judges the image: the suspect is marked fixed
        self._rejudge_changed()
        self.message.emit(f"{cmd.text()} (Ctrl+Z undoes)")
        return True

    def toggle_ignore_current(self) -> bool:
        """Hide the selected suspect (or show it again when it is shown as ignored)."""
        row = self.current_row()
        if row is None:
            return False
        r = self.table.currentIndex().row()
        self.rows.set_ignored(row, not row.ignored)
        self.refresh()
        if self.current_row() is None and self.model.rowCount():
            self.table.selectRow(min(r, self.model.rowCount() - 1))  # the next suspect
        return True

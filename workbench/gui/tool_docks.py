"""The three tool docks (Train, Predictions, Label QC), built and wired in one place.

They follow the session (dataset, current image, checkpoint) and talk to each other
explicitly here: a finished run refreshes the viewer's checkpoint list, a double-click
in the run history shows that run's predictions, Label QC runs the model through the
viewer's runner so both show one model's opinion. Their menu entries are rows of the
action table (``actions.py``); this module only supplies the callbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QDockWidget, QMainWindow

from workbench.core.annotation import ImageRecord
from workbench.gui.canvas import AnnotationCanvas
from workbench.gui.commands import EditNotifier
from workbench.gui.docks import add_tool_dock
from workbench.gui.label_qc.panel import LabelQCPanel
from workbench.gui.predictions.runner import PredictorFactory
from workbench.gui.predictions.viewer import PredictionViewer
from workbench.gui.session import Session
from workbench.gui.training.panel import TrainPanel
from workbench.train.config import TrainConfig
from workbench.train.runs import NoCheckpointError, run_checkpoint

LABEL_QC_MIN_WIDTH = 480  # the table's five columns and the message want more than the findings' 360


class ToolDocks:
    """The train panel, detection viewer and Label QC panel with their docks (hidden until asked for)."""

    def __init__(
        self,
        window: QMainWindow,
        session: Session,
        canvas: AnnotationCanvas,
        undo_stack: QUndoStack,
        notifier: EditNotifier,
        *,
        save: Callable[[], bool],
        listed_records: Callable[[], list[ImageRecord]],
        show_message: Callable[[str, int], None],
        jump_to: Callable[[int, int], None],
        findings_dock: QDockWidget | None = None,
        predictor_factory: PredictorFactory | None = None,
        query_devices: bool = True,
    ) -> None:
        self._window = window
        self.train_panel = TrainPanel(save=save, query_devices=query_devices)
        self.train_dock = add_tool_dock(
            window, "Train", "dock-train", self.train_panel, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.prediction_viewer = PredictionViewer(
            canvas, session, undo_stack, notifier, predictor_factory, listed_records
        )
        self.prediction_dock = add_tool_dock(
            window, "Predictions", "dock-predictions", self.prediction_viewer, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.label_qc_panel = LabelQCPanel(
            self.prediction_viewer, undo_stack, notifier, fold_config=self._fold_config, save=save
        )
        self.label_qc_dock = add_tool_dock(
            window,
            "Label QC",
            "dock-label-qc",
            self.label_qc_panel,
            Qt.DockWidgetArea.RightDockWidgetArea,
            tabify_with=findings_dock,
        )
        self._qc_widened = False

        for panel in (self.train_panel, self.prediction_viewer, self.label_qc_panel):
            session.dataset_changed.connect(panel.set_dataset)
        self.train_panel.jumpRequested.connect(jump_to)
        self.label_qc_panel.jumpRequested.connect(jump_to)
        self.train_panel.message.connect(lambda text: show_message(text, 10000))
        self.prediction_viewer.message.connect(lambda text: show_message(text, 8000))
        self.label_qc_panel.message.connect(lambda text: show_message(text, 8000))
        self.prediction_viewer.runs_folder = self.train_panel.runs_folder
        self.prediction_viewer.refresh_checkpoints()
        self.train_panel.runEnded.connect(lambda _end: self.prediction_viewer.refresh_checkpoints())
        self.train_panel.history.runActivated.connect(self.show_run_predictions)
        self.label_qc_dock.visibilityChanged.connect(self._widen_label_qc)
        app = QCoreApplication.instance()
        if app is not None:  # a run still going when the app quits stops cleanly (keeps its last epoch)
            app.aboutToQuit.connect(self.train_panel.shutdown)

    def docks(self) -> dict[str, QDockWidget]:
        """By the action table's dock names."""
        return {"train": self.train_dock, "predictions": self.prediction_dock, "label_qc": self.label_qc_dock}

    def slots(self) -> dict[str, Callable[[], object]]:
        """The callbacks of this module's rows in the action table."""
        return {
            "start_training": lambda: self._raised(self.train_dock, self.train_panel.start),
            "stop_training": lambda: self._raised(self.train_dock, self.train_panel.stop),
            "resume_training": lambda: self._raised(self.train_dock, lambda: self.train_panel.resume()),
            "predict_current": lambda: self._raised(
                self.prediction_dock, lambda: self.prediction_viewer.run("current")
            ),
            "accept_prediction": self.prediction_viewer.accept_selected,
            "find_suspects": lambda: self._raised(self.label_qc_dock, self.label_qc_panel.find_suspects),
        }

    def _predict_current(self) -> None:
        self.prediction_viewer.run("current")

    def show_run_predictions(self, run: Path) -> None:
        """A run's best checkpoint (else its last) on the current image, in the detection viewer."""
        try:
            weights = run_checkpoint(Path(run))
        except NoCheckpointError as e:
            self.prediction_viewer.message.emit(str(e))
            return
        self.prediction_viewer.refresh_checkpoints()
        self.prediction_viewer.set_weights(weights)
        self._raised(self.prediction_dock, self._predict_current)

    def hide_all_but(self, shown: QDockWidget) -> None:
        for dock in self.docks().values():
            if dock is not shown:
                dock.hide()

    @staticmethod
    def _raised(dock: QDockWidget, then: Callable[[], object]) -> None:
        dock.show()
        dock.raise_()
        then()

    def _widen_label_qc(self, visible: bool) -> None:
        dock = self.label_qc_dock
        if visible and not self._qc_widened and not dock.isFloating():
            self._qc_widened = True  # once: later the user's own width stays
            if dock.width() < LABEL_QC_MIN_WIDTH:
                self._window.resizeDocks([dock], [LABEL_QC_MIN_WIDTH], Qt.Orientation.Horizontal)

    def _fold_config(self) -> TrainConfig | None:
        """How k-fold QC's fold models train: as the Train panel's form says (None: no dataset)."""
        if self.train_panel.data_path is None:
            return None
        return self.train_panel.config()

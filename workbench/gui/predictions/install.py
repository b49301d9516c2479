"""Puts the detection viewer into a MainWindow: a right dock and a Predictions menu.

The window calls ``install_prediction_viewer(self)`` once (after ``install_train_panel``,
so a finished run's checkpoints appear in the viewer and a double-click in the run
history opens that run's predictions).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow

from workbench.core.annotation import ImageRecord
from workbench.gui.docks import add_tool_dock
from workbench.gui.predictions.runner import PredictorFactory
from workbench.gui.predictions.viewer import PredictionViewer
from workbench.train.runs import BEST, LAST

DOCK_NAME = "dock-predictions"


def install_prediction_viewer(window: QMainWindow, factory: PredictorFactory | None = None) -> PredictionViewer:
    """Add the Predictions dock (hidden until asked for) and its menu; returns the viewer.

    Uses the window's public parts: ``canvas``, ``undo_stack``, ``notifier``, ``ds``,
    ``dataset_path``, ``datasetOpened``, ``image_list``, ``statusBar()`` and, when
    installed, ``train_panel``.
    """

    def listed() -> list[ImageRecord]:
        if window.ds is None:
            return []
        return [window.ds.records[int(i)] for i in window.image_list.model.visible_records()]

    viewer = PredictionViewer(window.canvas, window.undo_stack, window.notifier, factory, listed)
    dock = add_tool_dock(window, "Predictions", DOCK_NAME, viewer, Qt.DockWidgetArea.RightDockWidgetArea)
    window.datasetOpened.connect(lambda ds: viewer.set_dataset(ds, window.dataset_path))
    if window.ds is not None:
        viewer.set_dataset(window.ds, window.dataset_path)
    viewer.message.connect(lambda text: window.statusBar().showMessage(text, 8000))

    def show_run(run: Path) -> None:
        for name in (BEST, LAST):
            if (Path(run) / name).is_file():
                viewer.refresh_checkpoints()
                viewer.set_weights(Path(run) / name)
                dock.show()
                dock.raise_()
                viewer.run("current")
                return

    panel = getattr(window, "train_panel", None)
    if panel is not None:
        viewer.runs_folder = panel.runs_folder
        viewer.refresh_checkpoints()
        panel.runEnded.connect(lambda _end: viewer.refresh_checkpoints())
        panel.history.runActivated.connect(show_run)

    menu = window.menuBar().addMenu("&Predictions")
    toggle = dock.toggleViewAction()
    toggle.setText("&Detection Viewer")
    toggle.setShortcut("Ctrl+Shift+P")
    menu.addAction(toggle)
    run_current = QAction("&Predict Current Image", window)
    run_current.setShortcut("Ctrl+R")
    run_current.triggered.connect(lambda: (dock.show(), viewer.run("current")))
    menu.addAction(run_current)
    accept = QAction("&Accept Selected Prediction", window)
    accept.triggered.connect(viewer.accept_selected)
    menu.addAction(accept)
    window.prediction_dock = dock  # type: ignore[attr-defined]
    window.prediction_viewer = viewer  # type: ignore[attr-defined]
    window.show_run_predictions = show_run  # type: ignore[attr-defined]
    return viewer

"""Puts the Label QC panel into a MainWindow: a right dock tabbed with Findings, and menu entries.

The window calls ``install_label_qc(self)`` once, after ``install_prediction_viewer``:
the panel runs the model through the viewer's runner and follows its checkpoint
choice, so both docks show the same model's opinion.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu

from workbench.gui.docks import add_tool_dock
from workbench.gui.label_qc.panel import LabelQCPanel

DOCK_NAME = "dock-label-qc"
MIN_WIDTH = 480  # the table's five columns and the message want more than the findings' 360


def install_label_qc(window: QMainWindow) -> LabelQCPanel:
    """Add the Label QC dock (hidden until asked for) and its entries in the Predictions menu; returns the panel.

    Uses the window's public parts: ``prediction_viewer`` and ``prediction_dock`` (from
    ``install_prediction_viewer``), ``undo_stack``, ``notifier``, ``ds``, ``dataset_path``,
    ``datasetOpened``, ``jump_to``, ``docks["findings"]`` and ``statusBar()``.
    """
    panel = LabelQCPanel(window.prediction_viewer, window.undo_stack, window.notifier)
    dock = add_tool_dock(
        window,
        "Label QC",
        DOCK_NAME,
        panel,
        Qt.DockWidgetArea.RightDockWidgetArea,
        tabify_with=window.docks.get("findings"),
    )

    window.datasetOpened.connect(lambda ds: panel.set_dataset(ds, window.dataset_path))
    if window.ds is not None:
        panel.set_dataset(window.ds, window.dataset_path)
    panel.jumpRequested.connect(window.jump_to)
    widened = {"done": False}

    def widen(visible: bool) -> None:
        if visible and not widened["done"] and not dock.isFloating():
            widened["done"] = True  # once: later the user's own width stays
            if dock.width() < MIN_WIDTH:
                window.resizeDocks([dock], [MIN_WIDTH], Qt.Orientation.Horizontal)

    dock.visibilityChanged.connect(widen)
    panel.message.connect(lambda text: window.statusBar().showMessage(text, 8000))

    def find() -> None:
        dock.show()
        dock.raise_()
        panel.find_suspects()

    menu = _predictions_menu(window)
    menu.addSeparator()
    toggle = dock.toggleViewAction()
    toggle.setText("&Label QC")
    toggle.setShortcut("Ctrl+Shift+L")
    toggle.setStatusTip("Rank the labels the model disagrees with, and fix them")
    menu.addAction(toggle)
    find_action = QAction("&Find Suspect Labels", window)
    find_action.setStatusTip("Run the checkpoint over the dataset and list the labels most likely wrong")
    find_action.triggered.connect(find)
    menu.addAction(find_action)
    window.label_qc_dock = dock  # type: ignore[attr-defined]
    window.label_qc_panel = panel  # type: ignore[attr-defined]
    return panel


def _predictions_menu(window: QMainWindow) -> QMenu:
    """The menu holding the detection viewer's toggle (the Predictions menu), else a new QC menu."""
    viewer_toggle = window.prediction_dock.toggleViewAction()
    for action in window.menuBar().actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and viewer_toggle in menu.actions():
            return menu
    return window.menuBar().addMenu("&QC")

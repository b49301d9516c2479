"""Puts the train panel into a MainWindow: a bottom dock and a Train menu.

Kept out of ``main_window.py`` so the window stays an assembly of small widgets; the
window calls ``install_train_panel(self)`` once after building itself.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow

from workbench.gui.docks import add_tool_dock
from workbench.gui.training.panel import TrainPanel

DOCK_NAME = "dock-train"


def install_train_panel(window: QMainWindow, query_devices: bool = True) -> TrainPanel:
    """Add the Train dock (hidden until asked for) and its menu; returns the panel.

    Uses the window's public parts: ``save()``, ``datasetOpened``, ``ds``,
    ``dataset_path``, ``jump_to(record, instance)``, ``statusBar()``.
    """
    panel = TrainPanel(save=window.save, query_devices=query_devices)
    dock = add_tool_dock(window, "Train", DOCK_NAME, panel, Qt.DockWidgetArea.BottomDockWidgetArea)

    window.datasetOpened.connect(lambda ds: panel.set_dataset(ds, window.dataset_path))
    if getattr(window, "ds", None) is not None:
        panel.set_dataset(window.ds, window.dataset_path)
    panel.jumpRequested.connect(window.jump_to)
    panel.message.connect(lambda text: window.statusBar().showMessage(text, 10000))

    menu = window.menuBar().addMenu("T&rain")
    show = dock.toggleViewAction()
    show.setText("&Train Panel")
    show.setShortcut("Ctrl+T")
    menu.addAction(show)
    for text, slot in (
        ("&Start Training", panel.start),
        ("S&top Training", panel.stop),
        ("&Resume Last Run", lambda: panel.resume()),
    ):
        action = QAction(text, window)
        action.triggered.connect(lambda _checked=False, slot=slot: (dock.show(), dock.raise_(), slot()))
        menu.addAction(action)
    app = QCoreApplication.instance()
    if app is not None:  # a run still going when the app quits stops cleanly (keeps its last epoch)
        app.aboutToQuit.connect(panel.shutdown)
    window.train_dock = dock  # type: ignore[attr-defined]
    window.train_panel = panel  # type: ignore[attr-defined]
    return panel

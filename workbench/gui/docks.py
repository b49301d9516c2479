"""The one way a tool panel becomes a dock of the main window.

The train panel, the detection viewer and the Label QC panel (``tool_docks.py``) share how
their dock is made so that all of them can be moved, floated,
closed, and have their place remembered by ``restoreState`` (which needs the object name).

A dock's content scrolls instead of insisting on its full height: the train form over
three plots, the detection viewer's controls and the QC table together once asked for a
minimum window height of 1,068 px on a 1,000 px screen, pushing Start/Stop and the status
bar off it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QWidget

DOCK_MIN_SIZE = (160, 120)  # what a squeezed dock keeps; the rest of its content scrolls


def scrollable(widget: QWidget) -> QScrollArea:
    """``widget`` in a frameless scroll area that resizes it: it fills the dock when there is
    room and scrolls when there is not, so its minimum size never becomes the window's."""
    area = QScrollArea()
    area.setObjectName(f"scroll-{widget.objectName() or type(widget).__name__}")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(widget)
    area.setMinimumSize(*DOCK_MIN_SIZE)
    return area


def add_tool_dock(
    window: QMainWindow,
    title: str,
    object_name: str,
    widget: QWidget,
    area: Qt.DockWidgetArea,
    tabify_with: QDockWidget | None = None,
) -> QDockWidget:
    """A closable dock holding ``widget``, hidden until asked for (its toggle action shows it)."""
    dock = QDockWidget(title, window)
    dock.setObjectName(object_name)
    dock.setWidget(scrollable(widget))
    dock.setFeatures(
        QDockWidget.DockWidgetFeature.DockWidgetMovable
        | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        | QDockWidget.DockWidgetFeature.DockWidgetClosable
    )
    window.addDockWidget(area, dock)
    if tabify_with is not None:
        window.tabifyDockWidget(tabify_with, dock)
    dock.hide()
    return dock

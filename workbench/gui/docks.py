"""The one way a tool panel becomes a dock of the main window.

The train panel, the detection viewer and the Label QC panel (``tool_docks.py``) share how
their dock is made so that all of them can be moved, floated,
closed, and have their place remembered by ``restoreState`` (which needs the object name).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget


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
    dock.setWidget(widget)
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

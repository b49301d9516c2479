"""Application start: the QApplication, the main window, and what it opens first.

``workbench`` with no dataset opens the last one (if it still exists) or the start
page; ``workbench open DATA`` opens DATA; ``--screenshot`` renders and exits.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication

from workbench import __version__
from workbench.core.paths import exists
from workbench.gui.icons import app_icon
from workbench.gui.settings import APPLICATION, ORGANIZATION


def application() -> QApplication:
    """The one QApplication (created on first use, with names QSettings and caches rely on)."""
    app = QApplication.instance()
    if app is None:
        QCoreApplication.setOrganizationName(ORGANIZATION)
        QCoreApplication.setApplicationName(APPLICATION)
        QCoreApplication.setApplicationVersion(__version__)
        QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(sys.argv[:1])
        app.setWindowIcon(app_icon())
        app.setDesktopFileName("workbench")
    assert isinstance(app, QApplication)
    return app


def run(data: str | None = None, screenshot: str | None = None) -> int:
    """Show the main window and run the event loop; returns the exit code."""
    app = application()
    from workbench.gui.main_window import MainWindow
    from workbench.gui.screenshot import schedule_screenshot

    window = MainWindow()
    target = data
    if target is None:
        target = window.settings.last_dataset()
    elif not exists(target):  # says no, where Path.exists raises, for a name too long
        print(f"workbench: {target}: no such file or folder", file=sys.stderr)
        return 2
    if target is not None:
        window.open_path(target)
    if screenshot:
        schedule_screenshot(window, screenshot)
    window.show()
    return int(app.exec())

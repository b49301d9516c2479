"""The application icon, found beside the sources, in a PyInstaller bundle or not at all.

The icon is decoration: when ``resources/`` is not shipped (a plain wheel install) the
window simply has the platform's default icon.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

from PySide6.QtGui import QIcon


def resource_dirs() -> list[Path]:
    dirs = [Path(__file__).resolve().parents[2] / "resources"]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        dirs.insert(0, Path(bundle) / "resources")
    return dirs


@lru_cache(maxsize=1)
def app_icon() -> QIcon:
    icon = QIcon()
    for folder in resource_dirs():
        for name in ("workbench.svg", "workbench.png"):
            if (folder / name).is_file():
                icon.addFile(str(folder / name))
        if not icon.isNull():
            break
    return icon

"""What the application remembers between runs: recent datasets, window layout, preferences.

A thin wrapper over ``QSettings`` so the rest of the GUI asks for ``recent_datasets()``
instead of spelling keys and types in ten places. Test runs (``WORKBENCH_TEST=1``) use an
ini file in a private temporary folder, so tests never read or overwrite a user's state.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths

ORGANIZATION = "Workbench"
APPLICATION = "workbench"
MAX_RECENT = 10

# Preference name -> default. Types follow the defaults.
PREFERENCES: dict[str, Any] = {
    "autosave_seconds": 60,
    "autosave_on_switch": True,
    "list_mode": "list",  # or "grid"
}

_test_dir: Path | None = None


def is_test_run() -> bool:
    return os.environ.get("WORKBENCH_TEST") == "1"


def private_test_dir() -> Path:
    """One temporary folder per test process for settings, caches and user data."""
    global _test_dir
    if _test_dir is None:
        _test_dir = Path(tempfile.mkdtemp(prefix="workbench-test-"))
    return _test_dir


def user_data_dir() -> Path:
    """Where the application keeps files it made for the user (the sample dataset)."""
    if is_test_run():
        return private_test_dir() / "data"
    loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(loc or Path.home() / ".local" / "share" / APPLICATION)


def cache_dir() -> Path:
    """The platform cache folder (thumbnails); a temporary one in tests."""
    if is_test_run():
        return private_test_dir() / "cache"
    loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)
    return Path(loc or Path.home() / ".cache" / APPLICATION)


class Settings:
    """Typed access to the persisted state."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        if qsettings is None:
            if is_test_run():
                path = private_test_dir() / "settings.ini"
                qsettings = QSettings(str(path), QSettings.Format.IniFormat)
            else:
                qsettings = QSettings(ORGANIZATION, APPLICATION)
        self._q = qsettings

    # ------------------------------------------------------------------ recent datasets
    def recent_datasets(self) -> list[str]:
        value = self._q.value("recent", [])
        if isinstance(value, str):  # QSettings flattens a one-element list to a string
            value = [value]
        return [str(v) for v in (value or []) if v]

    def add_recent(self, path: str | Path) -> None:
        p = str(Path(path).resolve())
        items = [p] + [r for r in self.recent_datasets() if r != p]
        self._q.setValue("recent", items[:MAX_RECENT])

    def last_dataset(self) -> str | None:
        """The most recent dataset that still exists (a moved folder is skipped, not an error)."""
        for r in self.recent_datasets():
            if Path(r).exists():
                return r
        return None

    # ------------------------------------------------------------------ where the user was
    def last_image(self, dataset: str | Path) -> str | None:
        """The image (relative to the dataset root) that was current when ``dataset`` was last open."""
        value = self._q.value(f"last_image/{_key(dataset)}")
        return str(value) if value else None

    def set_last_image(self, dataset: str | Path, image: str | None) -> None:
        key = f"last_image/{_key(dataset)}"
        if image:
            self._q.setValue(key, image)
        else:
            self._q.remove(key)

    # ------------------------------------------------------------------ window layout
    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        geom = self._q.value("window/geometry")
        state = self._q.value("window/state")
        return (geom if isinstance(geom, QByteArray) else None, state if isinstance(state, QByteArray) else None)

    def save_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self._q.setValue("window/geometry", geometry)
        self._q.setValue("window/state", state)

    # ------------------------------------------------------------------ preferences
    def pref(self, name: str) -> Any:
        default = PREFERENCES[name]
        value = self._q.value(f"prefs/{name}", default)
        if isinstance(default, bool):
            return value in (True, "true", "1", 1)
        try:
            return type(default)(value)
        except (TypeError, ValueError):
            return default

    def set_pref(self, name: str, value: Any) -> None:
        if name not in PREFERENCES:
            raise KeyError(f"unknown preference '{name}'")
        self._q.setValue(f"prefs/{name}", value)

    def sync(self) -> None:
        self._q.sync()


def _key(dataset: str | Path) -> str:
    """A settings key for a dataset path: its hash (a path holds characters QSettings keys cannot)."""
    return hashlib.sha1(str(Path(dataset).resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:16]

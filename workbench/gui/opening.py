"""Opening a dataset off the UI thread, and where the sample dataset goes.

Listing a 100k-image folder or parsing a large COCO JSON takes seconds; ``DatasetOpener``
does it in a worker and posts the ``Dataset`` (or the reason it could not be opened)
back, so the window keeps painting while a dataset opens.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal

from workbench.core.annotation import Dataset
from workbench.formats import DatasetError, open_dataset
from workbench.gui.jobs import error_message, run_in_pool
from workbench.gui.settings import user_data_dir

DATASET_SUFFIXES = (".yaml", ".yml", ".json", ".txt")


def is_dataset_path(path: str | Path) -> bool:
    """What drag and drop accepts: a folder, a YOLO yaml or a COCO JSON."""
    p = Path(path)
    return p.is_dir() or (p.is_file() and p.suffix.lower() in DATASET_SUFFIXES)


def sample_dataset_path() -> Path:
    """The sample dataset in the user data folder, written on first use."""
    from workbench.sample_data import write_sample

    folder = user_data_dir() / "sample"
    existing = folder / "data.yaml"
    if existing.is_file():
        return existing
    return write_sample(folder)


def _open(path: str) -> Dataset:
    """Open ``path`` and load its first record, which the window shows at once (pool thread)."""
    ds = open_dataset(path)
    if ds.records:
        ds.records[0].ensure_loaded()
    return ds


def _open_error(path: str, e: Exception) -> str:
    """A ``DatasetError`` already says what is wrong with which file; anything else is a reader bug."""
    return str(e) if isinstance(e, DatasetError) else f"{path}: could not be opened ({error_message(e)})"


class DatasetOpener(QObject):
    """``open(path)`` -> ``opened(ds, path)`` or ``failed(path, message)``."""

    opened = Signal(object, str)
    failed = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self.busy = False

    def open(self, path: str | Path) -> None:
        self.busy = True
        p = str(path)
        run_in_pool(
            _open,
            p,
            on_done=lambda ds: self._finish(self.opened.emit, ds, p),
            on_error=lambda message: self._finish(self.failed.emit, p, message),
            describe=lambda e: _open_error(p, e),
            owner=self,
            pool=self._pool,
        )

    def _finish(self, emit: Callable[..., None], *args: object) -> None:
        self.busy = False
        emit(*args)

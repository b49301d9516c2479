"""Opening a dataset off the UI thread, and where the sample dataset goes.

Listing a 100k-image folder or parsing a large COCO JSON takes seconds; ``DatasetOpener``
does it in a worker and posts the ``Dataset`` (or the reason it could not be opened)
back, so the window keeps painting while a dataset opens.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from workbench.formats import DatasetError, open_dataset
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


class _Poster(QObject):
    opened = Signal(object, str)
    failed = Signal(str, str)


class _OpenTask(QRunnable):
    def __init__(self, path: str, poster: _Poster) -> None:
        super().__init__()
        self._path, self._poster = path, poster

    def run(self) -> None:
        try:
            ds = open_dataset(self._path)
        except DatasetError as e:
            self._poster.failed.emit(self._path, str(e))
            return
        except Exception as e:  # noqa: BLE001 - a reader bug must become a message, not a dead thread
            self._poster.failed.emit(self._path, f"{self._path}: could not be opened ({type(e).__name__}: {e})")
            return
        if ds.records:
            ds.records[0].ensure_loaded()  # the first image is shown at once
        self._poster.opened.emit(ds, self._path)


class DatasetOpener(QObject):
    """``open(path)`` -> ``opened(ds, path)`` or ``failed(path, message)``."""

    opened = Signal(object, str)
    failed = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._poster = _Poster()
        self._poster.opened.connect(self.opened)
        self._poster.failed.connect(self.failed)
        self.busy = False
        self.opened.connect(self._idle)
        self.failed.connect(self._idle)

    def open(self, path: str | Path) -> None:
        self.busy = True
        self._pool.start(_OpenTask(str(path), self._poster))

    def _idle(self, *_: object) -> None:
        self.busy = False

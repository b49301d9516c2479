"""What the user is working on: the open dataset, the current image, the selected label, the model.

One small object, free of Qt, that every panel observes instead of asking the canvas or
the main window (napari's ``ViewerModel`` plays this part there). The window changes it
in response to clicks and keys; the canvas, the detection viewer, Label QC and the train
panel follow its events. Because it is plain Python, the rules (a new dataset resets the
image and the selection, an index outside the dataset is refused, an event fires only on
a real change) are tested without a QApplication.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.core.annotation import Dataset, ImageRecord


class Event:
    """A list of callbacks, called in connection order with the event's arguments."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any]) -> None:
        self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)


class Session:
    """The dataset, current record, selected instance and active checkpoint, with change events.

    Events: ``dataset_changed(dataset, path)`` (``None, None`` when closed),
    ``record_changed(index, record)`` (``None, None`` when no image is current),
    ``selection_changed(instance_index_or_None)``, ``checkpoint_changed(path_or_None)``.
    """

    def __init__(self) -> None:
        self.dataset: Dataset | None = None
        self.dataset_path: str | None = None
        self.index: int | None = None
        self.selection: int | None = None
        self.checkpoint: Path | None = None
        self.dataset_changed = Event()
        self.record_changed = Event()
        self.selection_changed = Event()
        self.checkpoint_changed = Event()

    @property
    def record(self) -> ImageRecord | None:
        """The current image's record, or None when no dataset or no image is current."""
        if self.dataset is None or self.index is None:
            return None
        return self.dataset.records[self.index]

    def open_dataset(self, dataset: Dataset | None, path: str | Path | None) -> None:
        """Make ``dataset`` the open one; the image and selection of the previous one are gone."""
        self._clear_record()
        self.dataset = dataset
        self.dataset_path = None if dataset is None or path is None else str(path)
        self.dataset_changed.emit(self.dataset, self.dataset_path)

    def close_dataset(self) -> None:
        self.open_dataset(None, None)

    def set_index(self, index: int | None) -> bool:
        """Make record ``index`` current (None: no image). False, and nothing changes, if out of range."""
        if index is not None and (self.dataset is None or not 0 <= index < len(self.dataset.records)):
            return False
        if index == self.index:
            return True
        self.set_selection(None)
        self.index = index
        self.record_changed.emit(self.index, self.record)
        return True

    def set_selection(self, instance: int | None) -> None:
        """Select instance ``instance`` of the current record (None: nothing selected)."""
        if instance is not None and self.record is None:
            instance = None
        if instance != self.selection:
            self.selection = instance
            self.selection_changed.emit(instance)

    def set_checkpoint(self, path: str | Path | None) -> None:
        """The checkpoint the detection viewer and Label QC run (None: none chosen)."""
        p = None if path is None or str(path) == "" else Path(path)
        if p != self.checkpoint:
            self.checkpoint = p
            self.checkpoint_changed.emit(p)

    def _clear_record(self) -> None:
        if self.index is not None:
            self.set_selection(None)
            self.index = None
            self.record_changed.emit(None, None)

"""Saving edits: only changed label files, atomically, on request, on image switch and on a timer.

The undo stack's clean state is the single source of "unsaved edits": the title's
``*`` and the close prompt both follow ``QUndoStack.cleanChanged``. The files
themselves are written by ``workbench.formats.save_dataset``, which rewrites only dirty
records through ``atomic_write_text`` (temp file, fsync, ``os.replace``), so a crash or
a kill at any moment leaves every label file either old or new.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from workbench.core.annotation import Dataset
from workbench.formats import save_dataset


class SaveController(QObject):
    """Owns when to save; the window only calls ``save``, ``autosave`` and ``confirm_close``."""

    saved = Signal(list)  # the paths written
    failed = Signal(str)
    dirtyChanged = Signal(bool)

    def __init__(
        self,
        undo_stack: QUndoStack,
        autosave_seconds: int = 60,
        saver: Callable[[Dataset], list[Path]] = save_dataset,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.stack = undo_stack
        self.ds: Dataset | None = None
        self._saver = saver
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._on_timer)
        self.set_interval(autosave_seconds)
        self.stack.cleanChanged.connect(self._on_clean_changed)
        self.stack.cleanChanged.connect(self._on_clean_changed_reset)

    def set_interval(self, seconds: int) -> None:
        self.timer.stop()
        if seconds > 0:
            self.timer.start(seconds * 1000)

    def set_dataset(self, ds: Dataset | None) -> None:
        self.ds = ds
        self.stack.clear()
        self.stack.setClean()

    def _on_timer(self) -> None:
        self.autosave()  # a slot must not return a value (see actions._void)

    def _on_clean_changed(self, clean: bool) -> None:
        self.dirtyChanged.emit(not clean)

    def _on_clean_changed_reset(self, clean: bool) -> None:
        if clean and self.ds is not None:
            # Undone back to the saved state: nothing to write (records and the class list
            # equal the files; the savers also compare with the files before writing).
            self.ds.meta["classes_dirty"] = False

    @property
    def dirty(self) -> bool:
        return not self.stack.isClean() or (self.ds is not None and bool(self.ds.meta.get("classes_dirty")))

    def save(self) -> bool:
        """Write the dirty records; on failure the edits stay in memory and a message says why."""
        if self.ds is None:
            return True
        try:
            written = self._saver(self.ds)
        except OSError as e:
            where = e.filename or (self.ds.source or self.ds.root)
            self.failed.emit(
                f"Could not save {where}: {e.strerror or e}. Your edits are still in memory; "
                "free disk space or fix the folder's permissions and save again."
            )
            return False
        self.stack.setClean()
        self.saved.emit(written)
        return True

    def autosave(self) -> bool:
        """Save if anything changed (image switch, timer); silent when there is nothing to do.

        Never while a modal dialog is open: the close prompt's "Discard" must find the files
        as they were, and a dialog that is asking the user something is not their answer.
        """
        if QApplication.activeModalWidget() is not None:
            return True
        return self.save() if self.dirty else True

    def confirm_close(self, parent: QWidget | None) -> bool:
        """Ask what to do with unsaved edits; True when the window may close."""
        if not self.dirty:
            return True
        self.timer.stop()  # the prompt's answer decides; restarted if the user cancels
        answer = QMessageBox.question(
            parent,
            "Unsaved edits",
            "The dataset has unsaved edits. Save them before closing?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        if answer == QMessageBox.StandardButton.Discard:
            return True
        self.timer.start()
        return False

"""Saving edits: only changed label files, atomically, on request, on image switch and on a timer.

The undo stack's clean index is the single source of "unsaved edits": the title's
``*``, the close prompt and autosave all follow ``QUndoStack.cleanChanged``, so undoing
back to the saved state (a class added, then undone) leaves nothing to save. The files
themselves are written by ``workbench.formats.save_dataset``, which rewrites only the
lines and files whose content changed, atomically (temp file, fsync, ``os.replace``),
so a crash or a kill at any moment leaves every label file either old or new.

The close prompt's "Discard" undoes the edits back to the saved state, so the dataset in
memory matches the files again (an open that fails afterwards leaves the old dataset
showing what is on disk). A failed autosave says so in the status bar: a message box
every minute would be worse than the failure; an explicit Save that fails still asks
for attention (``failed``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from workbench.core.annotation import Dataset
from workbench.formats import save_dataset
from workbench.formats.base import DatasetError

# How long a failed autosave's message stays in the status bar; the next attempt repeats it.
AUTOSAVE_MESSAGE_MS = 30_000


class SaveController(QObject):
    """Owns when to save; the window only calls ``save``, ``autosave`` and ``confirm_close``."""

    saved = Signal(list)  # the paths written
    failed = Signal(str)  # an explicit save (or the close prompt's) failed: worth a message box
    autosaveFailed = Signal(str)  # a timer or image-switch save failed: a status bar message
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
        self.stack.indexChanged.connect(self._rearm)

    def set_interval(self, seconds: int) -> None:
        self._interval_ms = max(seconds, 0) * 1000
        self.timer.stop()
        self._rearm()

    def set_dataset(self, ds: Dataset | None) -> None:
        self.ds = ds
        self.stack.clear()
        self.stack.setClean()
        self._rearm()

    def _rearm(self, *_index: int) -> None:
        """Run the timer again (stopped by the close prompt or a Discard) once there is work for it."""
        if self._interval_ms and not self.timer.isActive():
            self.timer.start(self._interval_ms)

    def _on_timer(self) -> None:
        self.autosave()  # a slot must not return a value (see actions._void)

    def _on_clean_changed(self, clean: bool) -> None:
        self.dirtyChanged.emit(not clean)

    def _on_clean_changed_reset(self, clean: bool) -> None:
        if clean and self.ds is not None:
            # Undone back to the saved state: nothing to write (records and the class list
            # equal the files; the savers also compare with the files before writing).
            self.ds.classes_dirty = False

    @property
    def dirty(self) -> bool:
        """Whether memory differs from the files: the undo stack is away from its clean index.

        No sticky flag beside it: an edit undone back to the saved state is not dirty. (The
        savers compare with the files as well, so a save that happens anyway writes nothing.)
        """
        return not self.stack.isClean()

    def save(self, quiet: bool = False) -> bool:
        """Write the changed records; on failure the edits stay in memory and a message says why.

        ``quiet`` (autosave) reports a failure on ``autosaveFailed`` instead of ``failed``.
        """
        if self.ds is None:
            return True
        try:
            written = self._saver(self.ds)
        except OSError as e:
            where = e.filename or (self.ds.source or self.ds.root)
            message = (
                f"Could not save {where}: {e.strerror or e}. Your edits are still in memory; "
                "free disk space or fix the file's or folder's permissions and save again."
            )
            (self.autosaveFailed if quiet else self.failed).emit(message)
            return False
        except DatasetError as e:
            message = f"Could not save: {e}. Your edits are still in memory."
            (self.autosaveFailed if quiet else self.failed).emit(message)
            return False
        self.stack.setClean()
        self._rearm()
        self.saved.emit(written)
        return True

    def autosave(self) -> bool:
        """Save if anything changed (image switch, timer); silent when there is nothing to do.

        Never while a modal dialog is open: the close prompt's "Discard" must find the files
        as they were, and a dialog that is asking the user something is not their answer.
        """
        if QApplication.activeModalWidget() is not None:
            return True
        return self.save(quiet=True) if self.dirty else True

    def discard(self) -> None:
        """Forget the unsaved edits: undo back to the saved state, so memory matches the files again.

        When the undo history no longer reaches the saved state the edits cannot be taken
        back; the timer then stays stopped until the next edit or dataset, so nothing writes them.
        """
        clean = self.stack.cleanIndex()
        if clean >= 0:
            self.stack.setIndex(clean)
        self.timer.stop()

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
            self.discard()
            return True
        self._rearm()
        return False

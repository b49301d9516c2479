"""The class list: color swatch, id, name and instance count per class; add a class.

Picking a class here sets the class that new boxes get (the canvas' current class).
Adding a class goes through ``AddClassCommand`` so it is undoable like any label edit.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap, QUndoStack
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.annotation import Dataset
from workbench.core.palette import class_color
from workbench.core.wording import count_noun
from workbench.gui.commands import AddClassCommand, EditNotifier


def swatch(rgb: tuple[int, int, int], size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(*rgb))
    return QIcon(pix)


class ClassPanel(QWidget):
    """Classes with counts; emits the class id the user picked."""

    classActivated = Signal(int)

    def __init__(self, undo_stack: QUndoStack, notifier: EditNotifier, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._stack = undo_stack
        self._notifier = notifier
        self.ds: Dataset | None = None
        self._counts: Sequence[int] = ()
        self._unknown = 0  # boxes whose class id is outside the class list
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # the count and key stay visible
        self.total_label = QLabel()
        self.total_label.setWordWrap(True)  # "3 classes, 90 boxes (1 of an unknown class)" must not widen the dock
        self.add_button = QPushButton("Add class…")
        self.add_button.setToolTip("Append a new class name (undoable; saved into the dataset config)")
        bottom = QHBoxLayout()
        bottom.addWidget(self.total_label, 1)
        bottom.addWidget(self.add_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addLayout(bottom)
        self.add_button.clicked.connect(self.ask_add_class)
        self.list.currentRowChanged.connect(self._on_row)

    def set_dataset(self, ds: Dataset | None) -> None:
        self.ds = ds
        self._counts = ()
        self._unknown = 0
        self.refresh()

    def set_counts(self, counts: Sequence[int], unknown: int = 0) -> None:
        """Boxes per class id, and ``unknown``: boxes of a class id outside the list."""
        self._counts = counts
        self._unknown = int(unknown)
        self.refresh()

    def refresh(self) -> None:
        current = self.list.currentRow()
        self.list.blockSignals(True)
        self.list.clear()
        classes = self.ds.classes if self.ds is not None else []
        for i, name in enumerate(classes):
            count = f"{int(self._counts[i])}" if i < len(self._counts) else "…"
            key = f"  [{i + 1}]" if i < 9 else ""
            item = QListWidgetItem(swatch(class_color(i)), f"{i}: {name}  ({count}){key}")
            item.setData(Qt.ItemDataRole.UserRole, i)
            item.setToolTip(f"{i}: {name} ({count} boxes)")  # a long name is elided in the row
            self.list.addItem(item)
        if 0 <= current < self.list.count():
            self.list.setCurrentRow(current)
        self.list.blockSignals(False)
        self.total_label.setText(self.total_text())

    def total_text(self) -> str:
        """ "3 classes, 90 boxes (1 of an unknown class)": every box counts, also one whose
        class id the list does not have (validation names it; the total must not hide it)."""
        n = len(self.ds.classes) if self.ds is not None else 0
        text = count_noun(n, "class", "classes")
        if not self._counts and not self._unknown:
            return text
        total = sum(int(c) for c in self._counts) + self._unknown
        text += f", {count_noun(total, 'box', 'boxes')}"
        if self._unknown:
            text += f" ({self._unknown} of an unknown class)"
        return text

    def ask_add_class(self) -> None:
        if self.ds is None:
            return
        name, ok = QInputDialog.getText(self, "Add class", "Name of the new class:")
        if ok and name.strip():
            self.add_class(name)

    def add_class(self, name: str) -> int | None:
        """Push an undoable add; returns the new id, or None (with a message) for a bad name."""
        if self.ds is None:
            return None
        try:
            cmd = AddClassCommand(self.ds, name, self._notifier)
        except ValueError as e:
            QMessageBox.warning(self, "Add class", str(e))
            return None
        self._stack.push(cmd)
        return cmd.class_id

    def _on_row(self, row: int) -> None:
        if row >= 0:
            self.classActivated.emit(row)

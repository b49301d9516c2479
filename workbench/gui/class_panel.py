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
        self.list = QListWidget()
        self.list.setUniformItemSizes(True)
        self.total_label = QLabel()
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
        self.refresh()

    def set_counts(self, counts: Sequence[int]) -> None:
        self._counts = counts
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
            self.list.addItem(item)
        if 0 <= current < self.list.count():
            self.list.setCurrentRow(current)
        self.list.blockSignals(False)
        total = sum(int(c) for c in self._counts) if self._counts else None
        n = len(classes)
        text = f"{n} class" if n == 1 else f"{n} classes"
        self.total_label.setText(text + (f", {total} boxes" if total is not None else ""))

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

"""A searchable class list: type a few letters (or an id), Enter picks.

With 80 COCO classes, number keys reach only the first ten; this popup reaches any
class in a few keystrokes. When the typed text names no existing class, the last
row offers to add it as a new class, so labeling a new kind of object needs no trip
to the config file. The dialog is opened non-modally (``open``) and reports through
``picked`` / ``addRequested``, which keeps it scriptable in tests.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialog, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from workbench.gui.canvas import style

_ADD_ROLE = Qt.ItemDataRole.UserRole + 1


def matches(query: str, class_id: int, name: str) -> bool:
    """Case-insensitive substring of the name, or the class id / 1-based key typed as a number."""
    q = query.strip().lower()
    if not q:
        return True
    return q in name.lower() or q == str(class_id)


class ClassPicker(QDialog):
    picked = Signal(int)  # an existing class id
    addRequested = Signal(str)  # a new class name

    def __init__(self, classes: list[str], current: int | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Choose class")
        self._classes = list(classes)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Type to filter, Enter to pick; a new name adds a class")
        self.filter.setClearButtonEnabled(True)
        self.list = QListWidget(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.filter)
        layout.addWidget(self.list)
        self.resize(320, 360)
        self.filter.textChanged.connect(self._refill)
        self.filter.installEventFilter(self)
        self.list.itemActivated.connect(self._choose)
        self._refill("")
        if current is not None and 0 <= current < len(self._classes):
            self.list.setCurrentRow(current)
        self.filter.setFocus()

    def _refill(self, text: str) -> None:
        self.list.clear()
        for i, name in enumerate(self._classes):
            if matches(text, i, name):
                item = QListWidgetItem(f"{i}  {name}")
                item.setData(Qt.ItemDataRole.UserRole, i)
                item.setToolTip(f"{i}  {name}")  # a long name is elided in the row
                item.setForeground(style.class_qcolor(i))
                self.list.addItem(item)
        name = text.strip()
        if name and name not in self._classes and not name.isdigit():
            item = QListWidgetItem(f"+ Add class '{name}'")
            item.setData(_ADD_ROLE, name)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        """Up/Down move through the list while typing; Enter picks the highlighted row."""
        if obj is self.filter and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                self.list.keyPressEvent(event)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                item = self.list.currentItem()
                if item is not None:
                    self._choose(item)
                return True
        return super().eventFilter(obj, event)

    def visible_names(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def _choose(self, item: QListWidgetItem) -> None:
        new_name = item.data(_ADD_ROLE)
        if new_name:
            self.addRequested.emit(str(new_name))
        else:
            self.picked.emit(int(item.data(Qt.ItemDataRole.UserRole)))
        self.accept()

"""The page shown when no dataset is open: open buttons, recent datasets, the sample.

First-time users have nothing to open yet; "Open the sample dataset" gets them from an
empty window to a labeled dataset with a few deliberate mistakes in one click.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.gui.icons import app_icon

_DATASET_FILTER = "Datasets (*.yaml *.yml *.json);;YOLO data.yaml (*.yaml *.yml);;COCO JSON (*.json)"


def ask_folder(parent: QWidget | None) -> str | None:
    path = QFileDialog.getExistingDirectory(parent, "Open a dataset folder")
    return path or None


def ask_file(parent: QWidget | None) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open data.yaml or COCO JSON", "", _DATASET_FILTER)
    return path or None


class StartPage(QWidget):
    """Emits ``openRequested(path)`` or ``sampleRequested()``."""

    openRequested = Signal(str)
    sampleRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        icon = QLabel()
        icon.setPixmap(app_icon().pixmap(QSize(72, 72)))
        title = QLabel("Workbench")
        font = QFont(title.font())
        font.setPointSizeF(font.pointSizeF() * 2.2)
        font.setBold(True)
        title.setFont(font)
        subtitle = QLabel(
            "Open a labeled dataset to check it, fix its labels and train on it.\n"
            "Folders, YOLO data.yaml and COCO JSON; drop one onto this window."
        )
        subtitle.setWordWrap(True)
        head = QHBoxLayout()
        head.addWidget(icon)
        texts = QVBoxLayout()
        texts.addWidget(title)
        texts.addWidget(subtitle)
        head.addLayout(texts, 1)

        self.folder_button = QPushButton("Open folder…")
        self.file_button = QPushButton("Open data.yaml or COCO JSON…")
        self.sample_button = QPushButton("Open the sample dataset")
        self.sample_button.setToolTip("48 synthetic images with boxes, 5 landmarks and a few planted mistakes")
        for b in (self.folder_button, self.file_button, self.sample_button):
            b.setMinimumHeight(36)
        buttons = QVBoxLayout()
        for b in (self.folder_button, self.file_button, self.sample_button):
            buttons.addWidget(b)
        buttons.addStretch(1)

        self.recent = QListWidget()
        self.recent.setMinimumHeight(140)
        recent_box = QVBoxLayout()
        recent_box.addWidget(QLabel("Recent datasets"))
        recent_box.addWidget(self.recent, 1)
        body = QHBoxLayout()
        body.addLayout(buttons, 1)
        body.addLayout(recent_box, 2)

        card = QFrame()
        card.setFrameShape(QFrame.Shape.StyledPanel)
        card.setMaximumWidth(820)
        inner = QVBoxLayout(card)
        inner.setContentsMargins(28, 24, 28, 24)
        inner.setSpacing(18)
        inner.addLayout(head)
        inner.addLayout(body)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(card, 4)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)

        self.folder_button.clicked.connect(self._open_folder)
        self.file_button.clicked.connect(self._open_file)
        self.sample_button.clicked.connect(self.sampleRequested)
        self.recent.itemActivated.connect(self._open_recent)
        self.recent.itemDoubleClicked.connect(self._open_recent)

    def set_recent(self, paths: list[str]) -> None:
        self.recent.clear()
        for p in paths:
            exists = Path(p).exists()
            item = QListWidgetItem(f"{Path(p).name}    {Path(p).parent}" + ("" if exists else "   (missing)"))
            item.setData(Qt.ItemDataRole.UserRole, p)
            item.setToolTip(p)
            if not exists:
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
            self.recent.addItem(item)
        if not paths:
            item = QListWidgetItem("Nothing opened yet")
            item.setFlags(Qt.ItemFlag.NoItemFlags)
            self.recent.addItem(item)

    def _open_folder(self) -> None:
        path = ask_folder(self)
        if path:
            self.openRequested.emit(path)

    def _open_file(self) -> None:
        path = ask_file(self)
        if path:
            self.openRequested.emit(path)

    def _open_recent(self, item: QListWidgetItem) -> None:
        path = item.data(Qt.ItemDataRole.UserRole)
        if path:
            self.openRequested.emit(path)

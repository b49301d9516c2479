"""The image list/grid: a virtualized model/view over the dataset's records, with filters.

Smooth at 100k images because nothing here touches the disk while painting: names come
from the record paths, thumbnails from ``ThumbnailLoader`` (a miss paints a blank cell
and repaints when the thumbnail arrives), and the view uses uniform item sizes so Qt
never measures rows. Filtering keeps its own row list computed with numpy masks over
``RecordFacts`` instead of a ``QSortFilterProxyModel``, whose ``filterAcceptsRow`` would
call into Python once per row (100k calls per keystroke in the search box).

``RecordFacts`` (classes present, labeled or not, finding counts) come from a
background scan of the dataset (the validation worker) and are updated per record
after each edit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.annotation import Dataset, ImageRecord
from workbench.gui.thumbnails import ThumbnailLoader

RECORD_ROLE = Qt.ItemDataRole.UserRole + 1  # index into ds.records
GRID_ICON = QSize(96, 96)
GRID_CELL = QSize(108, 120)


@dataclass
class RecordFacts:
    """Per-record facts the filters and class counts need, one array entry per record.

    ``class_counts[i]`` maps class id -> instances in record i; ``known[i]`` is False
    until the record has been loaded (an unknown record passes every filter but the
    name search, so nothing disappears before the scan has seen it).
    """

    class_counts: list[dict[int, int]]
    labeled: np.ndarray
    findings: np.ndarray
    known: np.ndarray
    class_totals: dict[int, int]

    @classmethod
    def empty(cls, n: int) -> RecordFacts:
        return cls([{} for _ in range(n)], np.zeros(n, bool), np.zeros(n, np.int64), np.zeros(n, bool), {})

    def update(self, i: int, rec: ImageRecord, n_findings: int) -> None:
        """Set record i's facts; the dataset totals follow incrementally (no 100k-record rescan per edit)."""
        for c, n in self.class_counts[i].items():
            self.class_totals[c] -= n
        counts: dict[int, int] = {}
        for inst in rec.instances:
            counts[inst.class_id] = counts.get(inst.class_id, 0) + 1
        for c, n in counts.items():
            self.class_totals[c] = self.class_totals.get(c, 0) + n
        self.class_counts[i] = counts
        self.labeled[i] = bool(rec.instances)
        self.findings[i] = n_findings
        self.known[i] = True

    def totals(self, nc: int) -> list[int]:
        """Instances per class id ``0..nc-1`` over the dataset."""
        return [self.class_totals.get(c, 0) for c in range(nc)]

    def unknown_total(self, nc: int) -> int:
        """Instances whose class id is outside ``0..nc-1``: counted too, so the class panel's
        total is every box the dataset holds (a class id 5 in a 3-class dataset is a box)."""
        return sum(n for c, n in self.class_totals.items() if not 0 <= c < nc)


def scan_facts(ds: Dataset, findings_per_record: list[int]) -> RecordFacts:
    """Facts for every record (loads all records: call from a worker thread)."""
    facts = RecordFacts.empty(len(ds.records))
    for i, rec in enumerate(ds.records):
        facts.update(i, rec.ensure_loaded(), findings_per_record[i])
    return facts


@dataclass
class ImageFilter:
    """What the list shows. ``class_id`` None: any class; -1 never matches a real class."""

    split: str | None = None
    class_id: int | None = None
    has_findings: bool = False
    unlabeled: bool = False
    text: str = ""


class ImageListModel(QAbstractListModel):
    """Rows are the records that pass the filter, in dataset order."""

    def __init__(self, thumbnails: ThumbnailLoader | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ds: Dataset | None = None
        self.facts = RecordFacts.empty(0)
        self.filter = ImageFilter()
        self.thumbnails = thumbnails
        self.show_thumbnails = False
        self._names: list[str] = []
        self._lower: list[str] = []
        self._splits = np.zeros(0, dtype=object)
        self._rows = np.zeros(0, np.int64)
        self._row_of: dict[int, int] = {}
        self._record_of_path: dict[str, int] | None = None
        if thumbnails is not None:
            thumbnails.thumbnailReady.connect(self._on_thumbnail)

    # ------------------------------------------------------------------ data
    def set_dataset(self, ds: Dataset | None) -> None:
        self.beginResetModel()
        self.ds = ds
        records = ds.records if ds is not None else []
        self._names = [r.path.name for r in records]
        self._lower = [n.lower() for n in self._names]
        self._splits = np.array([r.split for r in records], dtype=object)
        self.facts = RecordFacts.empty(len(records))
        self._rows = np.arange(len(records), dtype=np.int64)
        self._record_of_path = None  # built on the first thumbnail (grid mode only)
        self._reindex()
        self.endResetModel()

    def set_facts(self, facts: RecordFacts) -> None:
        self.facts = facts
        self.apply_filter(self.filter)

    def update_record(self, record_index: int, n_findings: int) -> None:
        """Refresh one record's facts after an edit (the row stays until the filter changes)."""
        if self.ds is None:
            return
        self.facts.update(record_index, self.ds.records[record_index], n_findings)
        row = self._row_of.get(record_index)
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx)

    def apply_filter(self, flt: ImageFilter) -> None:
        self.filter = flt
        n = len(self._names)
        mask = np.ones(n, bool)
        if flt.split:
            mask &= self._splits == flt.split
        known = self.facts.known
        if flt.has_findings:
            mask &= ~known | (self.facts.findings > 0)
        if flt.unlabeled:
            mask &= ~known | ~self.facts.labeled
        if flt.class_id is not None:
            has = np.fromiter((flt.class_id in c for c in self.facts.class_counts), bool, count=n)
            mask &= ~known | has
        if flt.text:
            q = flt.text.lower()
            mask &= np.fromiter((q in name for name in self._lower), bool, count=n)
        self.beginResetModel()
        self._rows = np.flatnonzero(mask)
        self._reindex()
        self.endResetModel()

    def _reindex(self) -> None:
        self._row_of = dict(zip(self._rows.tolist(), range(len(self._rows)), strict=True))

    def record_index(self, row: int) -> int:
        return int(self._rows[row])

    def row_of(self, record_index: int) -> int | None:
        return self._row_of.get(record_index)

    def visible_records(self) -> np.ndarray:
        return self._rows

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or self.ds is None:
            return None
        i = int(self._rows[index.row()])
        if role == Qt.ItemDataRole.DisplayRole:
            return self._names[i]
        if role == RECORD_ROLE:
            return i
        if role == Qt.ItemDataRole.ToolTipRole:
            rec = self.ds.records[i]
            n = self.facts.findings[i]
            extra = f"\n{n} finding(s)" if n else ""
            return f"{rec.path}\nsplit: {rec.split}{extra}"
        if role == Qt.ItemDataRole.ForegroundRole and self.facts.findings[i] > 0:
            return QColor(220, 90, 60)
        if self.show_thumbnails:
            if role == Qt.ItemDataRole.DecorationRole and self.thumbnails is not None:
                # A QIcon, not the QPixmap: a pixmap is drawn at its own size (a 128 px portrait
                # thumbnail over its caption), an icon fits the view's icon size, aspect kept.
                pixmap = self.thumbnails.get(self.ds.records[i].path)
                return QIcon(pixmap) if pixmap is not None else None
            if role == Qt.ItemDataRole.SizeHintRole:  # uniform sizes: the first row sizes every cell
                return GRID_CELL
        return None

    def _on_thumbnail(self, path: str) -> None:
        if self._record_of_path is None and self.ds is not None:
            self._record_of_path = {str(r.path): i for i, r in enumerate(self.ds.records)}
        i = self._record_of_path.get(path) if self._record_of_path is not None else None
        row = self._row_of.get(i) if i is not None else None
        if row is not None:
            idx = self.index(row)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])


class ImageListWidget(QWidget):
    """Filter bar + the list (or thumbnail grid); emits the record index the user picked."""

    recordActivated = Signal(int)
    filterChanged = Signal()

    def __init__(self, thumbnails: ThumbnailLoader | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = ImageListModel(thumbnails, self)
        self.search = QLineEdit(placeholderText="Search file names…", clearButtonEnabled=True)
        self.split_box = QComboBox(toolTip="Show one split")
        self.class_box = QComboBox(toolTip="Show images that contain this class")
        self.findings_check = QCheckBox("Findings", toolTip="Only images with validation findings")
        self.unlabeled_check = QCheckBox("Unlabeled", toolTip="Only images with no boxes (no or empty label file)")
        self.grid_button = QToolButton(text="Grid", checkable=True, toolTip="Thumbnail grid")
        self.count_label = QLabel()
        self.view = QListView()
        self.view.setModel(self.model)
        self.view.setUniformItemSizes(True)
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(200)
        self.view.setEditTriggers(QListView.EditTrigger.NoEditTriggers)

        row1 = QHBoxLayout()
        row1.addWidget(self.search, 1)
        row1.addWidget(self.grid_button)
        row2 = QHBoxLayout()
        row2.addWidget(self.split_box)
        row2.addWidget(self.class_box, 1)
        row3 = QHBoxLayout()
        row3.addWidget(self.findings_check)
        row3.addWidget(self.unlabeled_check)
        row3.addStretch(1)
        row3.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        for row in (row1, row2, row3):
            layout.addLayout(row)
        layout.addWidget(self.view, 1)

        self.search.textChanged.connect(self._filter_from_controls)
        self.split_box.currentIndexChanged.connect(self._filter_from_controls)
        self.class_box.currentIndexChanged.connect(self._filter_from_controls)
        self.findings_check.toggled.connect(self._filter_from_controls)
        self.unlabeled_check.toggled.connect(self._filter_from_controls)
        self.grid_button.toggled.connect(self.set_grid)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self.model.modelReset.connect(self._update_count)

    def set_dataset(self, ds: Dataset | None) -> None:
        self.model.set_dataset(ds)
        for box in (self.split_box, self.class_box):
            box.blockSignals(True)
            box.clear()
        self.split_box.addItem("All splits", None)
        self.class_box.addItem("All classes", None)
        if ds is not None:
            for split in dict.fromkeys(r.split for r in ds.records):
                self.split_box.addItem(split, split)
            self.refresh_classes(ds)
        for box in (self.split_box, self.class_box):
            box.blockSignals(False)
        self._update_count()

    def refresh_classes(self, ds: Dataset) -> None:
        current = self.class_box.currentData()
        self.class_box.blockSignals(True)
        while self.class_box.count() > 1:
            self.class_box.removeItem(1)
        for i, name in enumerate(ds.classes):
            self.class_box.addItem(f"{i}: {name}", i)
        pos = self.class_box.findData(current)
        self.class_box.setCurrentIndex(max(pos, 0))
        self.class_box.blockSignals(False)

    def set_grid(self, on: bool) -> None:
        self.model.show_thumbnails = on
        if self.grid_button.isChecked() != on:
            self.grid_button.setChecked(on)
        if on:
            self.view.setViewMode(QListView.ViewMode.IconMode)
            self.view.setIconSize(GRID_ICON)
            self.view.setGridSize(GRID_CELL)
            self.view.setResizeMode(QListView.ResizeMode.Adjust)
            self.view.setMovement(QListView.Movement.Static)
            self.view.setWordWrap(False)
            self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
            # Per pixel, half a row a step: one wheel notch (three steps) moves a row and a half,
            # where per item it moved a few pixels of a 120 px row.
            self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
            self.view.verticalScrollBar().setSingleStep(GRID_CELL.height() // 2)
        else:
            self.view.setViewMode(QListView.ViewMode.ListMode)
            self.view.setGridSize(QSize())
            self.view.setIconSize(QSize())
            self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        self.model.layoutChanged.emit()
        current = self.view.currentIndex()
        if current.isValid():  # the grid (or list) opens where the user is, not at the top
            self.view.scrollTo(current, QAbstractItemView.ScrollHint.PositionAtCenter)

    def current_filter(self) -> ImageFilter:
        return ImageFilter(
            split=self.split_box.currentData(),
            class_id=self.class_box.currentData(),
            has_findings=self.findings_check.isChecked(),
            unlabeled=self.unlabeled_check.isChecked(),
            text=self.search.text().strip(),
        )

    def select_record(self, record_index: int) -> None:
        """Make ``record_index`` current in the view without re-emitting ``recordActivated``."""
        row = self.model.row_of(record_index)
        if row is None:
            return
        idx = self.model.index(row)
        self.view.selectionModel().blockSignals(True)
        self.view.setCurrentIndex(idx)
        self.view.selectionModel().blockSignals(False)
        self.view.viewport().update()
        self.view.scrollTo(idx)

    def neighbour(self, record_index: int, step: int) -> int | None:
        """The record ``step`` rows away in the filtered order (the next/previous image)."""
        rows = self.model.visible_records()
        if len(rows) == 0:
            return None
        row = self.model.row_of(record_index)
        if row is None:  # current image filtered out: the first shown one after it
            after = int(np.searchsorted(rows, record_index))
            row = after - 1 if step > 0 else after
        new = row + step
        if not 0 <= new < len(rows):
            return None
        return int(rows[new])

    def _filter_from_controls(self, *_: object) -> None:
        self.model.apply_filter(self.current_filter())
        self.filterChanged.emit()

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.recordActivated.emit(self.model.record_index(current.row()))

    def _update_count(self) -> None:
        total = len(self.model.ds.records) if self.model.ds is not None else 0
        shown = self.model.rowCount()
        self.count_label.setText(f"{shown} of {total}" if shown != total else f"{total} images")

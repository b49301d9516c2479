"""The suspects table: score, kind, image, line, message; fixed rows greyed and ticked.

The model shows a snapshot of the visible rows taken at ``set_rows`` (inside a model
reset), so the suspects list may change between event-loop turns (re-judging after
an edit) without a view ever reading a row that moved.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from workbench.gui.label_qc.rows import Key, SuspectRow
from workbench.qa.label_qc import Suspect

COLUMNS = ("Score", "Kind", "Image", "Line", "Message")
SCORE, KIND, IMAGE, LINE, MESSAGE = range(len(COLUMNS))
_DONE = QColor(140, 140, 140)
_Index = QModelIndex | QPersistentModelIndex


def kind_title(kind: str) -> str:
    return kind.replace("_", " ")


class SuspectTableModel(QAbstractTableModel):
    """Read-only rows of ``SuspectRow``; ``row_at(index)`` gives the row behind a view index."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[SuspectRow] = []

    def set_rows(self, rows: list[SuspectRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def row_at(self, index: _Index | int) -> SuspectRow | None:
        r = index if isinstance(index, int) else index.row() if index.isValid() else -1
        return self._rows[r] if 0 <= r < len(self._rows) else None

    def row_of(self, key: Key) -> int:
        return next((i for i, row in enumerate(self._rows) if row.key == key), -1)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802 (Qt API)
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,  # noqa: N802 (Qt API)
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index)
        if row is None:
            return None
        s, col = row.suspect, index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            state = " (fixed)" if row.fixed else " (ignored)" if row.ignored else ""
            odds = f"P(label wrong) {s.p_wrong:.2f}, " if s.p_wrong is not None else ""
            sample = ", in-sample (the model trained on this image)" if s.in_sample else ""
            return f"{kind_title(s.kind)}{state} at {s.location()}, {odds}QC score {s.score:.2f}{sample}\n{s.message}"
        if role == Qt.ItemDataRole.ForegroundRole and (row.fixed or row.ignored):
            return _DONE
        if role == Qt.ItemDataRole.BackgroundRole and col == SCORE and not (row.fixed or row.ignored):
            return QColor(220, 60, 50, int(30 + 170 * min(max(_shown_score(s), 0.0), 1.0)))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (SCORE, LINE):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _text(row: SuspectRow, col: int) -> str:
        s = row.suspect
        if col == SCORE:
            return f"{_shown_score(s):.2f}"
        if col == KIND:
            sample = " · in-sample" if s.in_sample else ""
            return ("✓ " if row.fixed else "") + kind_title(s.kind) + sample + (" (ignored)" if row.ignored else "")
        if col == IMAGE:
            return s.image.rsplit("/", 1)[-1]
        if col == LINE:
            return "" if s.line is None else str(s.line)
        return s.message


def _shown_score(s: Suspect) -> float:
    """The probability that the label is wrong when the model was measured, else QC's score."""
    return s.p_wrong if s.p_wrong is not None else s.score

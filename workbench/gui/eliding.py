"""Long names in narrow widgets: cut with an ellipsis, said in full on hover.

Class names ("pedestrian_with_stroller_far"), checkpoint labels and findings can be far
wider than a dock. A combo box must not widen its dock (and the window) to fit its longest
entry, and no cut text may be lost: every item carries its full text as a tooltip.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QComboBox, QListWidget

MIN_COMBO_CHARS = 12  # what a combo box shows before eliding: enough to tell entries apart


def eliding_combo(combo: QComboBox, min_chars: int = MIN_COMBO_CHARS) -> QComboBox:
    """Size ``combo`` by ``min_chars`` rather than by its longest item, and give every item
    (now and added later) its full text as tooltip unless it has one; the box's own tooltip
    is the current item's."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(min_chars)

    def tip_rows(_parent: QModelIndex, first: int, last: int) -> None:
        for i in range(first, last + 1):
            if not combo.itemData(i, Qt.ItemDataRole.ToolTipRole):
                combo.setItemData(i, combo.itemText(i), Qt.ItemDataRole.ToolTipRole)

    def tip_current(i: int) -> None:
        tip = combo.itemData(i, Qt.ItemDataRole.ToolTipRole) if i >= 0 else None
        combo.setToolTip(str(tip or combo.itemText(i) if i >= 0 else ""))

    combo.model().rowsInserted.connect(tip_rows)
    combo.currentIndexChanged.connect(tip_current)
    tip_rows(QModelIndex(), 0, combo.count() - 1)
    tip_current(combo.currentIndex())
    return combo


def tooltips_from_text(widget: QListWidget) -> None:
    """Every item of ``widget`` without a tooltip gets its own text as one (call after filling)."""
    for i in range(widget.count()):
        item = widget.item(i)
        if not item.toolTip():
            item.setToolTip(item.text())

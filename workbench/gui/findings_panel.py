"""The findings panel: validation findings grouped by severity and kind, with quick fixes.

Clicking a finding asks the window to show its image and select its instance. A quick
fix hands the finding's typed ``fix`` to ``qa.fixes.apply_fix`` (what ``validate --fix``
applies) and pushes the resulting edit as one undoable command, so it appears in
Edit > Undo like any other edit; one that deletes what the user wrote asks first. The dataset-wide
"remap class A -> B" dialog previews how many instances it will change first.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.annotation import Dataset
from workbench.core.findings import Finding, Severity, summarize
from workbench.core.fix_actions import SetClass
from workbench.core.wording import count_noun
from workbench.gui import commands
from workbench.gui.commands import EditNotifier, FixCommand
from workbench.gui.eliding import eliding_combo
from workbench.gui.fix_confirm import confirm_fix
from workbench.gui.validation_job import FindingsStore
from workbench.qa.fixes import CannotFix, apply_fix

MAX_PER_KIND = 300  # tree rows per kind; the rest is summarized (the image list filter shows them all)
FINDING_ROLE = Qt.ItemDataRole.UserRole + 1
_SEVERITY_TITLE = {Severity.ERROR: "Errors", Severity.WARNING: "Warnings", Severity.INFO: "Info"}


def fix_command(
    ds: Dataset, store: FindingsStore, f: Finding, notifier: EditNotifier, class_id: int | None = None
) -> FixCommand | None:
    """The undoable command that applies ``f.fix`` through ``qa.fixes.apply_fix``; None when it has none.

    None too when the fix no longer fits the labels (they changed since validation) or
    is no label edit. ``class_id`` answers a ``SetClass`` fix that names no class (the
    caller asks the user).
    """
    fix = f.fix
    if fix is None or f.image is None or f.image not in store.record_of:
        return None
    if isinstance(fix, SetClass) and fix.value is None:
        if class_id is None:
            return None
        fix = replace(fix, value=int(class_id))
    rec = ds.records[store.record_of[f.image]]
    try:
        return FixCommand(apply_fix(ds, rec, fix), notifier)
    except CannotFix:
        return None


class FindingsPanel(QWidget):
    """Tree of findings; emits ``jumpRequested(record_index, instance or -1)``."""

    jumpRequested = Signal(int, int)

    def __init__(self, undo_stack: QUndoStack, notifier: EditNotifier, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._stack = undo_stack
        self._notifier = notifier
        self.ds: Dataset | None = None
        self.store: FindingsStore | None = None
        self.summary = QLabel("No dataset open")
        self.summary.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fix_button = QPushButton("Quick fix")
        self.fix_button.setEnabled(False)
        self.remap_button = QPushButton("Remap class…")
        self.remap_button.setToolTip("Change every instance of one class id into another (one undo step)")
        buttons = QHBoxLayout()
        buttons.addWidget(self.fix_button)
        buttons.addWidget(self.remap_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.detail)
        layout.addLayout(buttons)
        self.tree.currentItemChanged.connect(self._on_current)
        self.tree.itemClicked.connect(lambda item, _col: self._jump(item))
        self.fix_button.clicked.connect(self._on_fix_clicked)
        self.remap_button.clicked.connect(self.open_remap_dialog)

    # ------------------------------------------------------------------ content
    def set_dataset(self, ds: Dataset | None) -> None:
        self.ds = ds
        self.store = None
        self.tree.clear()
        self.summary.setText("Validating…" if ds is not None else "No dataset open")

    def set_store(self, store: FindingsStore) -> None:
        self.store = store
        self.rebuild()

    def rebuild(self) -> None:
        """Redraw the tree, keeping the selected finding (or its position) selected."""
        if self.store is None:
            return
        keep = self.current_finding()
        keep_pos = self._leaf_position(self.tree.currentItem())
        findings = self.store.all()
        self.tree.blockSignals(True)
        self.tree.clear()
        groups: dict[Severity, dict[str, list[Finding]]] = {}
        for f in findings:
            groups.setdefault(f.severity, {}).setdefault(f.kind, []).append(f)
        restore = None
        for sev in sorted(groups, key=lambda s: s.rank):
            kinds = groups[sev]
            n = sum(len(v) for v in kinds.values())
            top = QTreeWidgetItem([f"{_SEVERITY_TITLE[sev]} ({n})"])
            self.tree.addTopLevelItem(top)
            for kind, items in sorted(kinds.items()):
                node = QTreeWidgetItem(top, [f"{kind} ({len(items)})"])
                for f in items[:MAX_PER_KIND]:
                    leaf = QTreeWidgetItem(node, [_finding_text(f)])
                    leaf.setToolTip(0, str(f))
                    leaf.setData(0, FINDING_ROLE, f)
                    if keep is not None and f == keep:
                        restore = leaf
                if len(items) > MAX_PER_KIND:
                    QTreeWidgetItem(node, [f"… {len(items) - MAX_PER_KIND} more (filter the image list by findings)"])
                node.setExpanded(sev != Severity.INFO)
            top.setExpanded(True)
        if restore is None and keep_pos is not None:
            leaves = self._leaves()
            if leaves:
                restore = leaves[min(keep_pos, len(leaves) - 1)]
        if restore is not None:
            self.tree.setCurrentItem(restore)
        self.tree.blockSignals(False)
        self._update_summary(findings)
        self._update_fix_button()

    def _update_summary(self, findings: list[Finding]) -> None:
        if not findings:
            self.summary.setText("No findings: the dataset looks clean.")
            return
        by = summarize(findings)["by_severity"]
        words = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
        self.summary.setText(", ".join(count_noun(by[s.value], words[s]) for s in Severity if by[s.value]))

    # ------------------------------------------------------------------ navigation
    def _leaves(self) -> list[QTreeWidgetItem]:
        out = []
        for t in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(t)
            for k in range(top.childCount()):
                node = top.child(k)
                out.extend(
                    node.child(j) for j in range(node.childCount()) if node.child(j).data(0, FINDING_ROLE) is not None
                )
        return out

    def _leaf_position(self, item: QTreeWidgetItem | None) -> int | None:
        if item is None or item.data(0, FINDING_ROLE) is None:
            return None
        leaves = self._leaves()
        return leaves.index(item) if item in leaves else None

    def current_finding(self) -> Finding | None:
        item = self.tree.currentItem()
        return item.data(0, FINDING_ROLE) if item is not None else None

    def select_finding(self, f: Finding) -> bool:
        for leaf in self._leaves():
            if leaf.data(0, FINDING_ROLE) == f:
                self.tree.setCurrentItem(leaf)
                return True
        return False

    def next_finding(self, step: int = 1) -> Finding | None:
        """Select (and jump to) the next finding that names an image; wraps around."""
        leaves = [leaf for leaf in self._leaves() if leaf.data(0, FINDING_ROLE).image is not None]
        if not leaves:
            return None
        pos = self._leaf_position(self.tree.currentItem())
        cur = leaves.index(self.tree.currentItem()) if pos is not None and self.tree.currentItem() in leaves else -1
        nxt = leaves[(cur + step) % len(leaves)] if cur >= 0 else leaves[0 if step > 0 else -1]
        self.tree.setCurrentItem(nxt)
        return nxt.data(0, FINDING_ROLE)

    def _on_current(self, item: QTreeWidgetItem | None, _prev: QTreeWidgetItem | None) -> None:
        self._update_fix_button()
        if item is not None:
            self._jump(item)

    def _jump(self, item: QTreeWidgetItem) -> None:
        f = item.data(0, FINDING_ROLE)
        if f is None or self.store is None or f.image not in self.store.record_of:
            return
        self.jumpRequested.emit(self.store.record_of[f.image], -1 if f.instance is None else f.instance)

    # ------------------------------------------------------------------ fixes
    def _update_fix_button(self) -> None:
        f = self.current_finding()
        self.detail.setText(str(f) if f is not None else "")
        title = f.fix.title if f is not None and f.fix is not None else ""
        usable = bool(title)
        self.fix_button.setEnabled(usable)
        self.fix_button.setText(f"Fix: {title}" if usable else "Quick fix")
        self.fix_button.setToolTip("" if usable else "No quick fix for this finding; edit it on the canvas")

    def _on_fix_clicked(self) -> None:
        self.apply_current_fix()  # a slot must not return a value (see actions._void)

    def apply_current_fix(self) -> bool:
        f = self.current_finding()
        return f is not None and self.apply_fix(f)

    def apply_fix(self, f: Finding) -> bool:
        """Push the fix of ``f`` on the undo stack; False when it has none (or the user cancelled).

        A fix that deletes a label or line the user wrote and is not certain asks first
        (``gui.fix_confirm``); the rest apply at once.
        """
        if self.ds is None or self.store is None:
            return False
        class_id = None
        if isinstance(f.fix, SetClass) and f.fix.value is None:
            names = [f"{i}: {n}" for i, n in enumerate(self.ds.classes)]
            choice, ok = QInputDialog.getItem(self, "Set class", "Class for this instance:", names, 0, False)
            if not ok:
                return False
            class_id = names.index(choice)
        cmd = fix_command(self.ds, self.store, f, self._notifier, class_id)
        if cmd is None or f.fix is None or not confirm_fix(self, f.fix, cmd.text(), f.message):
            return False
        self._stack.push(cmd)
        return True

    def open_remap_dialog(self) -> None:
        if self.ds is None:
            return
        dialog = RemapClassDialog(self.ds, self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.remap(dialog.from_id(), dialog.to_id())

    def remap(self, from_id: int, to_id: int) -> int:
        """Remap in one undo step; returns how many instances changed."""
        if self.ds is None or from_id == to_id:
            return 0
        n = commands.count_class(self.ds, from_id)
        cmd = commands.remap_class(self.ds, from_id, to_id, self._notifier)
        if cmd is not None:
            self._stack.push(cmd)
        return n


def _finding_text(f: Finding) -> str:
    """Short row text (the kind is the parent row; the full path is in the tooltip)."""
    where = (f.image or f.label_file or "dataset").rsplit("/", 1)[-1]
    details = [f"line {f.line}" if f.line is not None else "", f"box {f.instance}" if f.instance is not None else ""]
    extra = ", ".join(d for d in details if d)
    return f"{where} ({extra}): {f.message}" if extra else f"{where}: {f.message}"


class RemapClassDialog(QDialog):
    """Pick "from" and "to" class ids; shows how many instances the remap changes."""

    def __init__(self, ds: Dataset, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Remap class")
        self.ds = ds
        used = sorted({inst.class_id for rec in ds.records for inst in rec.ensure_loaded().instances})
        self.from_box = eliding_combo(QComboBox(), 20)
        for c in used:
            name = ds.classes[c] if 0 <= c < ds.nc else "(not in the class list)"
            self.from_box.addItem(f"{c}: {name}", c)
        self.to_box = eliding_combo(QComboBox(), 20)
        for i, name in enumerate(ds.classes):
            self.to_box.addItem(f"{i}: {name}", i)
        self.preview = QLabel()
        form = QFormLayout(self)
        form.addRow("Change class", self.from_box)
        form.addRow("into", self.to_box)
        form.addRow(self.preview)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        form.addRow(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.from_box.currentIndexChanged.connect(self._update_preview)
        self.to_box.currentIndexChanged.connect(self._update_preview)
        self._update_preview()

    def from_id(self) -> int:
        return int(self.from_box.currentData()) if self.from_box.count() else -1

    def to_id(self) -> int:
        return int(self.to_box.currentData()) if self.to_box.count() else -1

    def preview_count(self) -> int:
        return commands.count_class(self.ds, self.from_id()) if self.from_box.count() else 0

    def _update_preview(self) -> None:
        n = self.preview_count()
        same = self.from_id() == self.to_id()
        self.preview.setText(
            "Pick two different classes." if same else f"{count_noun(n, 'instance')} will change (one undo step)."
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(n > 0 and not same)

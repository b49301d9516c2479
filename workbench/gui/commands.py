"""Every user edit as a named, undoable command (the SLEAP ``gui/commands.py`` idea).

One mechanism covers all label edits: an :class:`InstancesEdit` holds, for each touched
record, a copy of its instance list before and after the edit; redo installs the
``after`` copies, undo the ``before`` copies. Moving a box, changing a class, swapping
keypoints or remapping a class across 10,000 images are then all the same object,
with a readable text for the Edit menu, and the record never shares arrays with the
undo history (the canvas can preview a drag freely without corrupting it).

A fix (a finding's quick fix, a QC suspect's one-click fix) is worked out by
``qa.fixes.apply_fix``, the code ``validate --fix`` runs, and pushed as a
:class:`FixCommand`, which also covers what a fix changes besides instances (an
unparsed line, the reader's findings).

The builders below only *build* commands; the caller pushes them onto its
``QUndoStack`` (``push`` runs ``redo``), so a quick fix in the findings panel and a key
press on the canvas produce identical history entries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.core.arrays import clip_box
from workbench.core.wording import count_noun

if TYPE_CHECKING:  # only the type: building a command needs no validation code
    from workbench.qa.fixes import FixEdit

Change = tuple[ImageRecord, list[Instance], list[Instance]]


class EditNotifier(QObject):
    """Tells views that a record's labels or the class list changed (after redo *and* undo)."""

    recordChanged = Signal(object)  # the ImageRecord
    classesChanged = Signal()
    # Once after a command has announced all its records: dataset-wide views (class counts,
    # the findings tree) redraw once per edit instead of once per record of a remap.
    editApplied = Signal()


def _copies(instances: Iterable[Instance]) -> list[Instance]:
    return [inst.copy() for inst in instances]


class InstancesEdit(QUndoCommand):
    """Set the instance lists of one or more records; undo restores the previous lists."""

    def __init__(self, text: str, changes: list[Change], notifier: EditNotifier) -> None:
        super().__init__(text)
        self._changes = [(rec, _copies(before), _copies(after)) for rec, before, after in changes]
        self._notifier = notifier

    @property
    def records(self) -> list[ImageRecord]:
        return [rec for rec, _, _ in self._changes]

    def redo(self) -> None:
        self._apply(after=True)

    def undo(self) -> None:
        self._apply(after=False)

    def _apply(self, after: bool) -> None:
        for rec, before, after_list in self._changes:
            # set_instances marks the record dirty: even an undo back to the file's
            # content is written again, which is harmless and keeps saving simple.
            rec.set_instances(_copies(after_list if after else before))
            self._notifier.recordChanged.emit(rec)
        self._notifier.editApplied.emit()


def _current(rec: ImageRecord) -> list[Instance]:
    return list(rec.ensure_loaded().instances)


def add_instance(rec: ImageRecord, inst: Instance, notifier: EditNotifier) -> InstancesEdit:
    before = _current(rec)
    return InstancesEdit("Add box", [(rec, before, before + [inst])], notifier)


def delete_instances(rec: ImageRecord, indices: Sequence[int], notifier: EditNotifier) -> InstancesEdit:
    before = _current(rec)
    drop = {int(i) for i in indices}
    _check_indices(rec, before, drop)
    after = [inst for i, inst in enumerate(before) if i not in drop]
    return InstancesEdit(f"Delete {count_noun(len(drop), 'box', 'boxes')}", [(rec, before, after)], notifier)


def set_class(rec: ImageRecord, indices: Sequence[int], class_id: int, notifier: EditNotifier) -> InstancesEdit:
    before = _current(rec)
    targets = {int(i) for i in indices}
    _check_indices(rec, before, targets)
    after = []
    for i, inst in enumerate(before):
        if i in targets:
            inst = inst.copy()
            inst.class_id = int(class_id)
        after.append(inst)
    return InstancesEdit(f"Set class {class_id}", [(rec, before, after)], notifier)


def replace_instance(
    rec: ImageRecord, index: int, new_inst: Instance, text: str, notifier: EditNotifier
) -> InstancesEdit:
    """Any single-instance edit: move or resize a box, move a keypoint, set a visibility."""
    before = _current(rec)
    _check_indices(rec, before, {index})
    after = list(before)
    after[index] = new_inst
    return InstancesEdit(text, [(rec, before, after)], notifier)


NUDGE_COMMAND_ID = 0x4E55  # QUndoCommand.id of arrow-key nudges (only equal ids merge)


class NudgeEdit(InstancesEdit):
    """One arrow-key nudge of one instance. Holding an arrow key sends a press per step:
    consecutive nudges of the same instance merge into one undo step (``mergeWith``)."""

    def __init__(
        self, rec: ImageRecord, index: int, before: list[Instance], after: list[Instance], notifier: EditNotifier
    ) -> None:
        super().__init__("Nudge box", [(rec, before, after)], notifier)
        self.index = index

    def id(self) -> int:  # Qt API
        return NUDGE_COMMAND_ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt API)
        if not isinstance(other, NudgeEdit) or other.index != self.index or other.records[0] is not self.records[0]:
            return False
        rec, before, _ = self._changes[0]
        self._changes[0] = (rec, before, other._changes[0][2])
        return True


def nudge_instance(rec: ImageRecord, index: int, moved: Instance, notifier: EditNotifier) -> NudgeEdit:
    """Instance ``index`` replaced by ``moved`` (the canvas has moved and clamped it)."""
    before = _current(rec)
    _check_indices(rec, before, {index})
    after = list(before)
    after[index] = moved
    return NudgeEdit(rec, index, before, after, notifier)


def duplicate_instance(rec: ImageRecord, index: int, copy: Instance, notifier: EditNotifier) -> InstancesEdit:
    """Append ``copy`` (instance ``index`` offset by the canvas) as a new instance."""
    before = _current(rec)
    _check_indices(rec, before, {index})
    return InstancesEdit("Duplicate box", [(rec, before, before + [copy])], notifier)


def swap_left_right(rec: ImageRecord, index: int, flip_idx: Sequence[int], notifier: EditNotifier) -> InstancesEdit:
    """Relabel left points as right and vice versa (a mirrored annotation), positions unchanged."""
    before = _current(rec)
    _check_indices(rec, before, {index})
    inst = before[index]
    if inst.keypoints is None:
        raise ValueError(f"instance {index} of {rec.path.name} has no keypoints to swap")
    order = np.asarray(flip_idx, dtype=np.int64)
    if order.shape != (inst.keypoints.shape[0],):
        raise ValueError(
            f"flip_idx has {len(order)} entries but the instance has "
            f"{inst.keypoints.shape[0]} keypoints: fix flip_idx in the dataset config"
        )
    new = inst.copy()
    assert new.keypoints is not None
    new.keypoints = new.keypoints[order]
    return replace_instance(rec, index, new, "Swap left/right keypoints", notifier)


def paste_instances(rec: ImageRecord, instances: Sequence[Instance], notifier: EditNotifier) -> InstancesEdit:
    """Append copies of another image's labels (copy previous image), fitted to this image.

    Boxes are clipped to this image and keypoints that fall outside it become missing,
    so pasting from a larger image never creates labels a trainer would reject.
    """
    before = _current(rec)
    pasted = [_fit_to_image(inst, rec.width, rec.height) for inst in instances]
    pasted = [p for p in pasted if p is not None]
    return InstancesEdit(f"Paste {count_noun(len(pasted), 'label')}", [(rec, before, before + pasted)], notifier)


def _fit_to_image(inst: Instance, width: int | None, height: int | None) -> Instance | None:
    new = inst.copy()
    if width is None or height is None:
        return new
    new.box = clip_box(new.box, width, height)
    if new.box[2] - new.box[0] <= 0 or new.box[3] - new.box[1] <= 0:
        return None
    if new.keypoints is not None:
        kp = new.keypoints
        outside = (kp[:, 0] < 0) | (kp[:, 0] > width) | (kp[:, 1] < 0) | (kp[:, 1] > height)
        kp[outside] = 0.0
    return new


def remap_class(ds: Dataset, from_id: int, to_id: int, notifier: EditNotifier) -> InstancesEdit | None:
    """Every instance of class ``from_id`` in the dataset becomes ``to_id``: one undo step.

    ``None`` when no instance has ``from_id`` (nothing to undo, nothing to push).
    """
    changes: list[Change] = []
    for rec in ds.records:
        before = _current(rec)
        if not any(inst.class_id == from_id for inst in before):
            continue
        after = []
        for inst in before:
            if inst.class_id == from_id:
                inst = inst.copy()
                inst.class_id = int(to_id)
            after.append(inst)
        changes.append((rec, before, after))
    if not changes:
        return None
    n = sum(1 for _, before, _ in changes for inst in before if inst.class_id == from_id)
    return InstancesEdit(f"Remap class {from_id} -> {to_id} ({count_noun(n, 'instance')})", changes, notifier)


def count_class(ds: Dataset, class_id: int) -> int:
    """How many instances a remap of ``class_id`` would change (the preview count)."""
    return sum(1 for rec in ds.records for inst in rec.ensure_loaded().instances if inst.class_id == class_id)


def _check_indices(rec: ImageRecord, instances: list[Instance], indices: set[int]) -> None:
    bad = sorted(i for i in indices if not 0 <= i < len(instances))
    if bad:
        raise IndexError(f"{rec.path.name} has {len(instances)} instances; no instance {bad[0]}")


class AddClassCommand(QUndoCommand):
    """Append a class name; the YOLO saver writes the names back when ``classes_dirty`` is set."""

    def __init__(self, ds: Dataset, name: str, notifier: EditNotifier) -> None:
        name = name.strip()
        if not name:
            raise ValueError("a class name cannot be empty")
        if name in ds.classes:
            raise ValueError(f"class '{name}' already exists (id {ds.classes.index(name)})")
        super().__init__(f"Add class '{name}'")
        self._ds = ds
        self._name = name
        self._notifier = notifier

    @property
    def class_id(self) -> int:
        """The id the class gets (valid after redo)."""
        return self._ds.classes.index(self._name) if self._name in self._ds.classes else len(self._ds.classes)

    def redo(self) -> None:
        self._ds.classes.append(self._name)
        self._ds.classes_dirty = True
        self._notifier.classesChanged.emit()

    def undo(self) -> None:
        if self._ds.classes and self._ds.classes[-1] == self._name:
            self._ds.classes.pop()
        self._ds.classes_dirty = True
        self._notifier.classesChanged.emit()


class FixCommand(QUndoCommand):
    """A fix worked out by ``qa.fixes.apply_fix`` as one undo step: redo applies it, undo reverts it.

    The findings panel's quick fixes and label QC's one-click fixes both push this, so a
    fix does in the GUI exactly what ``validate --fix`` does, and undo restores the
    record's instances, unparsed lines and reader findings as they were.
    """

    def __init__(self, edit: FixEdit, notifier: EditNotifier, prefix: str = "") -> None:
        super().__init__(f"{prefix}{edit.title}")
        self.edit = edit
        self._notifier = notifier

    @property
    def records(self) -> list[ImageRecord]:
        return [self.edit.record]

    def redo(self) -> None:
        self.edit.apply()
        self._announce()

    def undo(self) -> None:
        self.edit.revert()
        self._announce()

    def _announce(self) -> None:
        self._notifier.recordChanged.emit(self.edit.record)
        self._notifier.editApplied.emit()

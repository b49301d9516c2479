"""The undo commands on their own: every builder, dataset-wide remap, adding a class.

Records are built in memory (no files) except where saving is the point.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QUndoStack

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.formats import open_dataset, save_dataset
from workbench.gui.commands import (
    AddClassCommand,
    EditNotifier,
    add_instance,
    count_class,
    delete_instances,
    paste_instances,
    remap_class,
    replace_instance,
    set_class,
    swap_left_right,
)


def _inst(
    cls: int, box: tuple[float, float, float, float], kps: list[tuple[float, float, float]] | None = None
) -> Instance:
    return Instance(cls, np.array(box, dtype=float), None if kps is None else np.array(kps, dtype=float))


def _rec(name: str, instances: list[Instance], size: tuple[int, int] = (100, 80)) -> ImageRecord:
    return ImageRecord(path=Path(f"/data/{name}.jpg"), width=size[0], height=size[1], instances=instances)


@pytest.fixture
def notifier(qtbot) -> EditNotifier:
    return EditNotifier()


@pytest.fixture
def stack() -> QUndoStack:
    return QUndoStack()


def _labels(rec: ImageRecord) -> list[tuple]:
    """Comparable content of a record: class, box and keypoints as plain tuples."""
    return [
        (i.class_id, tuple(i.box), None if i.keypoints is None else tuple(map(tuple, i.keypoints)))
        for i in rec.instances
    ]


def test_edit_redo_undo_mark_dirty_and_notify(notifier, stack, qtbot) -> None:
    rec = _rec("a", [_inst(0, (1, 2, 30, 40))])
    before = _labels(rec)
    with qtbot.waitSignal(notifier.recordChanged) as sig:
        stack.push(add_instance(rec, _inst(1, (50, 10, 60, 20)), notifier))
    assert sig.args == [rec]
    assert rec.dirty and len(rec.instances) == 2 and rec.instances[1].class_id == 1
    rec.dirty = False
    with qtbot.waitSignal(notifier.recordChanged):
        stack.undo()
    assert _labels(rec) == before and rec.dirty
    assert stack.undoText() == "" and stack.redoText() == "Add box"


def test_history_is_not_shared_with_the_record(notifier, stack) -> None:
    """Mutating the record's arrays in place (a buggy caller) cannot corrupt undo."""
    rec = _rec("a", [_inst(0, (1, 2, 30, 40))])
    moved = rec.instances[0].copy()
    moved.box += 5
    stack.push(replace_instance(rec, 0, moved, "Move box", notifier))
    rec.instances[0].box[:] = -1  # scribble over what redo installed
    stack.undo()
    assert tuple(rec.instances[0].box) == (1, 2, 30, 40)
    stack.redo()
    assert tuple(rec.instances[0].box) == (6, 7, 35, 45)


def test_delete_and_set_class_by_indices(notifier, stack) -> None:
    rec = _rec("a", [_inst(0, (0, 0, 10, 10)), _inst(1, (10, 10, 20, 20)), _inst(2, (20, 20, 30, 30))])
    before = _labels(rec)
    cmd = delete_instances(rec, [0, 2], notifier)
    assert cmd.text() == "Delete 2 boxes"
    stack.push(cmd)
    assert [i.class_id for i in rec.instances] == [1]
    stack.undo()
    assert _labels(rec) == before
    stack.push(set_class(rec, [0, 1], 2, notifier))
    assert [i.class_id for i in rec.instances] == [2, 2, 2]
    stack.undo()
    assert _labels(rec) == before
    with pytest.raises(IndexError, match="a.jpg has 3 instances; no instance 5"):
        delete_instances(rec, [5], notifier)


def test_swap_left_right_permutes_points_by_flip_idx(notifier, stack) -> None:
    kps = [(10, 10, 2), (20, 10, 2), (15, 15, 1), (12, 20, 2), (18, 20, 0)]
    rec = _rec("a", [_inst(0, (0, 0, 30, 30), kps)])
    stack.push(swap_left_right(rec, 0, [1, 0, 2, 4, 3], notifier))
    assert rec.instances[0].keypoints.tolist() == [[20, 10, 2], [10, 10, 2], [15, 15, 1], [18, 20, 0], [12, 20, 2]]
    stack.undo()
    assert rec.instances[0].keypoints.tolist() == [list(k) for k in kps]
    with pytest.raises(ValueError, match="flip_idx has 3 entries"):
        swap_left_right(rec, 0, [1, 0, 2], notifier)
    rec_no_kps = _rec("b", [_inst(0, (0, 0, 5, 5))])
    with pytest.raises(ValueError, match="no keypoints"):
        swap_left_right(rec_no_kps, 0, [1, 0, 2, 4, 3], notifier)


def test_paste_fits_labels_to_a_smaller_image(notifier, stack) -> None:
    source = [
        _inst(0, (10, 10, 40, 40), [(20, 20, 2), (90, 70, 2)]),  # second point outside 60x50
        _inst(1, (50, 40, 120, 90)),  # clipped to (50, 40, 60, 50)
        _inst(2, (70, 60, 90, 80)),  # entirely outside: dropped
    ]
    rec = _rec("small", [_inst(3, (1, 1, 5, 5))], size=(60, 50))
    cmd = paste_instances(rec, source, notifier)
    assert cmd.text() == "Paste 2 labels"
    stack.push(cmd)
    assert [i.class_id for i in rec.instances] == [3, 0, 1]
    assert rec.instances[1].keypoints.tolist() == [[20, 20, 2], [0, 0, 0]]
    assert rec.instances[2].box.tolist() == [50, 40, 60, 50]
    assert source[1].box.tolist() == [50, 40, 120, 90]  # the previous image's labels are untouched
    stack.undo()
    assert [i.class_id for i in rec.instances] == [3]


def _dataset(records: list[ImageRecord]) -> Dataset:
    return Dataset(root=Path("/data"), classes=["cat", "dog", "bird"], records=records)


def test_remap_class_is_dataset_wide_and_one_undo_step(notifier, stack) -> None:
    recs = [
        _rec("a", [_inst(0, (0, 0, 5, 5)), _inst(2, (5, 5, 9, 9))]),
        _rec("b", [_inst(1, (0, 0, 5, 5))]),
        _rec("c", [_inst(2, (1, 1, 3, 3)), _inst(2, (3, 3, 6, 6))]),
    ]
    ds = _dataset(recs)
    before = [_labels(r) for r in recs]
    assert count_class(ds, 2) == 3
    cmd = remap_class(ds, 2, 0, notifier)
    assert cmd is not None and cmd.text() == "Remap class 2 -> 0 (3 instances)"
    assert cmd.records == [recs[0], recs[2]]  # b is neither touched nor marked dirty
    stack.push(cmd)
    assert count_class(ds, 2) == 0 and count_class(ds, 0) == 4
    assert [r.dirty for r in recs] == [True, False, True]
    assert stack.count() == 1
    stack.undo()
    assert [_labels(r) for r in recs] == before
    assert remap_class(ds, 7, 0, notifier) is None


def test_add_class_appends_marks_names_dirty_and_undoes(notifier, stack, qtbot) -> None:
    ds = _dataset([])
    with qtbot.waitSignal(notifier.classesChanged):
        stack.push(AddClassCommand(ds, "  fish ", notifier))
    assert ds.classes == ["cat", "dog", "bird", "fish"] and ds.classes_dirty is True
    ds.classes_dirty = False  # as if saved
    with qtbot.waitSignal(notifier.classesChanged):
        stack.undo()
    assert ds.classes == ["cat", "dog", "bird"]
    assert ds.classes_dirty is True  # the saved yaml still lists fish: write it again
    with pytest.raises(ValueError, match="class 'dog' already exists"):
        AddClassCommand(ds, "dog", notifier)
    with pytest.raises(ValueError, match="empty"):
        AddClassCommand(ds, "   ", notifier)


def test_added_class_and_remap_are_saved_to_disk(notifier, stack, tmp_path: Path) -> None:
    import cv2

    (tmp_path / "images").mkdir()
    (tmp_path / "labels").mkdir()
    for stem in ("a", "b"):
        assert cv2.imwrite(str(tmp_path / "images" / f"{stem}.png"), np.zeros((40, 50, 3), np.uint8))
    (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n1 0.3 0.3 0.1 0.1\n")
    (tmp_path / "labels" / "b.txt").write_text("1 0.5 0.5 0.4 0.4\n")
    (tmp_path / "data.yaml").write_text("path: .\ntrain: images\nnames:\n  0: cat\n  1: dog\n")
    ds = open_dataset(tmp_path / "data.yaml")
    stack.push(AddClassCommand(ds, "fish", notifier))
    cmd = remap_class(ds, 1, 2, notifier)
    assert cmd is not None
    stack.push(cmd)
    written = save_dataset(ds)
    assert sorted(p.name for p in written) == ["a.txt", "b.txt", "data.yaml"]
    again = open_dataset(tmp_path / "data.yaml")
    assert again.classes == ["cat", "dog", "fish"]
    assert (tmp_path / "labels" / "a.txt").read_text() == "0 0.5 0.5 0.2 0.2\n2 0.3 0.3 0.1 0.1\n"
    assert (tmp_path / "labels" / "b.txt").read_text() == "2 0.5 0.5 0.4 0.4\n"

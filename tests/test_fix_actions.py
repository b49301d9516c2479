"""Typed fixes and the one ``apply_fix``, without Qt: every action, staleness, batches, JSON and cache.

Records are built in memory except where the file on disk is the point (a COCO size,
the validation cache).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_validate_data import make_yolo

from tests._dataset_builders import coco_json, write_image
from workbench.core.annotation import Dataset, ImageRecord, Instance, Source
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import (
    AddInstance,
    ClipBox,
    DeleteInstance,
    DeleteLine,
    ExcludeImage,
    FitBoxToKeypoints,
    FixAction,
    MarkKeypointMissing,
    MoveKeypoint,
    SetBox,
    SetClass,
    SetNc,
    SetVisibility,
    TakeImageSize,
    fix_from_dict,
    needs_confirmation,
)
from workbench.core.keypoints import KeypointSchema
from workbench.formats.registry import open_dataset, save_dataset
from workbench.qa import apply_fix, validate_dataset
from workbench.qa.fixes import LabelState, NotALabelFix, StaleFix, apply_fixes

EVERY_FIX: list[FixAction] = [
    ClipBox(1),
    DeleteInstance(1),
    DeleteInstance(2, safe=True, duplicate_of=0),
    SetClass(0),
    SetClass(0, 1),
    SetBox(0, (1.0, 2.0, 30.0, 40.0)),
    FitBoxToKeypoints(0, (1.0, 2.0, 30.0, 40.0)),
    MarkKeypointMissing(0, 2),
    SetVisibility(0, 1, 1),
    MoveKeypoint(0, 0, (5.0, 6.0)),
    MoveKeypoint(0, 0, (5.0, 6.0), swapped_with=1),
    AddInstance(1, (1.0, 2.0, 3.0, 4.0)),
    AddInstance(0, (1.0, 2.0, 3.0, 4.0), ((1.0, 2.0, 2.0), (0.0, 0.0, 0.0), (3.0, 4.0, 1.0))),
    DeleteLine("1 0.5 0.5"),
    TakeImageSize(),
    ExcludeImage(),
    SetNc(3),
]


def _kps(*rows: tuple[float, float, float]) -> np.ndarray:
    return np.array(rows, dtype=float)


@pytest.fixture
def scene() -> tuple[Dataset, ImageRecord]:
    """A 100x80 image with a box inside (3 keypoints), one reaching past the right edge and one unparsed line."""
    schema = KeypointSchema(names=["left_eye", "right_eye", "nose"], flip_idx=[1, 0, 2])
    rec = ImageRecord(
        path=Path("/data/images/a.jpg"),
        width=100,
        height=80,
        instances=[
            Instance(0, np.array([10.0, 10, 50, 50]), _kps((20, 20, 2), (40, 20, 2), (30, 30, 1))),
            Instance(1, np.array([60.0, 20, 130, 60]), _kps((70, 30, 2), (90, 30, 2), (80, 40, 2))),
        ],
        extra_lines=["1 0.5 0.5"],
        findings=[Finding(Severity.ERROR, "column_count", "line has 3 columns", line=3, fix=DeleteLine("1 0.5 0.5"))],
    )
    return Dataset(root=Path("/data"), classes=["face", "robot"], records=[rec], keypoints=schema), rec


def _state(rec: ImageRecord) -> tuple:
    """Everything a fix may change, comparable: instances as plain tuples, lines, findings."""
    insts = [
        (i.class_id, tuple(i.box), None if i.keypoints is None else tuple(map(tuple, i.keypoints)))
        for i in rec.instances
    ]
    return insts, list(rec.extra_lines), list(rec.findings)


@pytest.mark.parametrize("fix", EVERY_FIX, ids=lambda f: f.action)
def test_every_fix_goes_through_json_and_back(fix: FixAction):
    d = json.loads(json.dumps(fix.to_dict()))
    assert d["action"] == fix.action and "instance" not in d  # the finding already names the instance
    assert ("safe" in d) is fix.safe
    assert fix_from_dict(d, fix.target) == fix


def test_json_shape_of_a_fix_is_what_validate_json_always_printed():
    assert DeleteInstance(1, safe=True).to_dict() == {"action": "delete_instance", "safe": True}
    assert SetClass(4).to_dict() == {"action": "set_class"}  # no value: the user is asked
    assert DeleteInstance(3, duplicate_of=0).to_dict() == {"action": "delete_instance", "duplicate_of": 0}


def test_unreadable_fix_dicts_are_value_errors():
    with pytest.raises(ValueError, match="unknown fix action"):
        fix_from_dict({"action": "format_disk"})
    with pytest.raises(ValueError, match="needs the instance"):
        fix_from_dict({"action": "clip_box"}, None)
    with pytest.raises(ValueError, match="bad set_nc"):
        fix_from_dict({"action": "set_nc"})


def _applied(ds: Dataset, rec: ImageRecord, fix: FixAction) -> str:
    """Apply ``fix`` through its edit, checking that working it out changed nothing and revert undoes it."""
    before, dirty = _state(rec), rec.dirty
    edit = apply_fix(ds, rec, fix)
    assert _state(rec) == before and rec.dirty == dirty  # apply_fix is pure: only apply() edits
    edit.apply()
    assert rec.dirty and _state(rec) != before
    after = _state(rec)
    edit.revert()
    assert _state(rec) == before
    edit.apply()
    assert _state(rec) == after
    return edit.title


def test_clip_box(scene):
    ds, rec = scene
    assert _applied(ds, rec, ClipBox(1)) == "Clip box to image"
    assert rec.instances[1].box.tolist() == [60, 20, 100, 60]


def test_delete_instance(scene):
    ds, rec = scene
    assert _applied(ds, rec, DeleteInstance(0)) == "Delete the 'face' label"
    assert [i.class_id for i in rec.instances] == [1]


def test_set_class(scene):
    ds, rec = scene
    assert _applied(ds, rec, SetClass(0, 1)) == "Set class to 'robot'"
    assert [i.class_id for i in rec.instances] == [1, 1]


def test_set_box_is_clipped_to_the_image(scene):
    ds, rec = scene
    assert _applied(ds, rec, SetBox(0, (-5.0, 2.0, 30.0, 90.0))) == "Move the box to the model's"
    assert rec.instances[0].box.tolist() == [0, 2, 30, 80]


def _whole(inst: Instance) -> tuple:
    """An instance's every field, comparable (what a fix must leave alone unless it is about it)."""
    kps = None if inst.keypoints is None else inst.keypoints.tolist()
    return inst.class_id, inst.box.tolist(), kps, inst.source, inst.iscrowd


@pytest.mark.parametrize(
    ("fix", "changed"),
    [
        (SetBox(0, (12.0, 14.0, 44.0, 48.0)), {"box": [12, 14, 44, 48]}),
        (FitBoxToKeypoints(0, (15.0, 15.0, 45.0, 45.0)), {"box": [15, 15, 45, 45]}),
        (ClipBox(0), {"box": [5, 10, 50, 80]}),
        (SetClass(0, 1), {"class_id": 1}),
        (MoveKeypoint(0, 2, (33.0, 31.0)), {"keypoints": {2: [33, 31, 1]}}),
        (MoveKeypoint(0, 0, (40.0, 20.0), swapped_with=1), {"keypoints": {0: [40, 20, 2], 1: [20, 20, 2]}}),
        (MarkKeypointMissing(0, 1), {"keypoints": {1: [0, 0, 0]}}),
        (SetVisibility(0, 2, 2), {"keypoints": {2: [30, 30, 2]}}),
    ],
    ids=lambda v: v.action if isinstance(v, FixAction) else "",
)
def test_a_fix_changes_only_what_its_evidence_is_about(scene, fix, changed):
    """A moved box keeps its keypoints where they are in the image; a class fix touches the class only;
    a keypoint fix that one point (or the swapped pair); the source line, iscrowd and the other
    instance stay as they were."""
    ds, rec = scene
    rec.instances[0].box = np.array([5.0, 10, 50, 95])  # past the bottom edge, for ClipBox
    rec.instances[0].source = Source(Path("/data/labels/a.txt"), 7)
    rec.instances[0].iscrowd = True
    before = [_whole(i) for i in rec.instances]
    _applied(ds, rec, fix)
    cls, box, kps, source, iscrowd = before[0]
    kps = [list(row) for row in kps]
    for j, row in changed.get("keypoints", {}).items():
        kps[j] = row
    want = (changed.get("class_id", cls), changed.get("box", box), kps, source, iscrowd)
    assert _whole(rec.instances[0]) == want
    assert _whole(rec.instances[1]) == before[1]
    assert rec.extra_lines == ["1 0.5 0.5"]


def test_fit_box_to_keypoints_is_named_for_what_it_does(scene):
    ds, rec = scene
    assert _applied(ds, rec, FitBoxToKeypoints(0, (15.0, 15.0, 45.0, 45.0))) == "Move the box over its keypoints"
    assert FitBoxToKeypoints.title == "Move the box over its keypoints" != SetBox.title


@pytest.mark.parametrize(
    ("fix", "score", "asks"),
    [
        (DeleteInstance(0), None, True),  # QC's spurious_label, a near duplicate: the user's label goes
        (DeleteInstance(0), 0.99, True),
        (DeleteInstance(1, safe=True, duplicate_of=0), None, False),  # an exact duplicate: certain
        (DeleteLine("1 0.5 0.5"), None, True),
        (AddInstance(0, (1.0, 2.0, 3.0, 4.0)), None, True),
        (AddInstance(0, (1.0, 2.0, 3.0, 4.0)), 0.3, True),  # a low-score prediction
        (AddInstance(0, (1.0, 2.0, 3.0, 4.0)), float("nan"), True),
        (AddInstance(0, (1.0, 2.0, 3.0, 4.0)), 0.95, False),
        (ClipBox(0), None, False),
        (SetBox(0, (1.0, 2.0, 3.0, 4.0)), 0.2, False),
        (FitBoxToKeypoints(0, (1.0, 2.0, 3.0, 4.0)), None, False),
        (SetClass(0, 1), None, False),
        (MoveKeypoint(0, 0, (5.0, 6.0)), None, False),
        (MarkKeypointMissing(0, 1), None, False),
        (TakeImageSize(), None, False),
    ],
)
def test_only_fixes_that_delete_or_add_a_label_ask_first(fix, score, asks):
    assert needs_confirmation(fix, score) is asks


def test_mark_keypoint_missing_and_set_visibility(scene):
    ds, rec = scene
    assert _applied(ds, rec, MarkKeypointMissing(1, 2)) == "Mark keypoint 3 (nose) missing"
    assert rec.instances[1].keypoints[2].tolist() == [0, 0, 0]
    assert _applied(ds, rec, SetVisibility(0, 2, 2)) == "Set keypoint 3 (nose) visibility"
    assert rec.instances[0].keypoints[2].tolist() == [30, 30, 2]


def test_move_keypoint_moves_or_swaps_mirror_twins(scene):
    ds, rec = scene
    # The model puts left_eye where right_eye is labeled: a mirror mix-up, both swap.
    assert (
        _applied(ds, rec, MoveKeypoint(0, 0, (40.0, 20.0), swapped_with=1))
        == "Swap keypoint 1 (left_eye) and keypoint 2 (right_eye)"
    )
    assert rec.instances[0].keypoints[:2, :2].tolist() == [[40, 20], [20, 20]]
    # No twin named, or the twin is not where the model puts the point: only the point moves.
    assert _applied(ds, rec, MoveKeypoint(1, 2, (82.0, 44.0))) == "Move keypoint 3 (nose) to the model's point"
    assert rec.instances[1].keypoints[2].tolist() == [82, 44, 2]
    assert (
        _applied(ds, rec, MoveKeypoint(1, 0, (71.0, 31.0), swapped_with=1))
        == "Move keypoint 1 (left_eye) to the model's point"
    )
    assert rec.instances[1].keypoints[1].tolist() == [90, 30, 2]


def test_add_instance_keeps_points_only_of_the_datasets_schema(scene):
    ds, rec = scene
    pts = ((1.0, 2.0, 2.0), (0.0, 0.0, 0.0), (3.0, 4.0, 2.0))
    assert _applied(ds, rec, AddInstance(1, (90.0, 70.0, 120.0, 85.0), pts)) == "Add the missing 'robot'"
    assert rec.instances[-1].box.tolist() == [90, 70, 100, 80] and rec.instances[-1].keypoints.shape == (3, 3)
    _applied(ds, rec, AddInstance(0, (1.0, 1.0, 9.0, 9.0), pts[:2]))  # a 2-point model on a 3-point dataset
    assert rec.instances[-1].keypoints is None


def test_delete_line(scene):
    ds, rec = scene
    assert _applied(ds, rec, DeleteLine("1 0.5 0.5")) == "Delete line '1 0.5 0.5'"
    assert rec.extra_lines == [] and len(rec.instances) == 2


def test_take_image_size_drops_the_readers_claim(scene):
    ds, rec = scene
    rec.findings.append(Finding(Severity.ERROR, "image_size_mismatch", "the json says 9x9", fix=TakeImageSize()))
    assert _applied(ds, rec, TakeImageSize()) == "Take the image's size (100x80)"
    assert [f.kind for f in rec.findings] == ["column_count"]


@pytest.mark.parametrize(
    "fix",
    [ClipBox(2), DeleteInstance(-1), SetBox(5, (0.0, 0.0, 1.0, 1.0)), MarkKeypointMissing(0, 3), DeleteLine("gone")],
    ids=lambda f: f.action,
)
def test_a_fix_for_labels_that_changed_is_refused(scene, fix):
    ds, rec = scene
    with pytest.raises(StaleFix):
        apply_fix(ds, rec, fix)


def test_take_image_size_without_a_mismatch_is_stale(scene):
    with pytest.raises(StaleFix):
        apply_fix(*scene, TakeImageSize())


@pytest.mark.parametrize("fix", [ExcludeImage(), SetNc(2), SetClass(0)], ids=lambda f: f.action)
def test_advice_and_unanswered_fixes_are_no_label_edit(scene, fix):
    with pytest.raises(NotALabelFix):
        apply_fix(*scene, fix)


def test_a_batch_uses_the_indices_from_before_it(scene):
    ds, rec = scene
    rec.instances.append(Instance(0, np.array([1.0, 1, 5, 5])))
    fixes = [DeleteInstance(0), ClipBox(1), DeleteInstance(1), SetClass(2, 1), ClipBox(1)]
    edit = apply_fixes(ds, rec, fixes)
    edit.apply()
    assert [(i.class_id, i.box.tolist()) for i in rec.instances] == [(1, [1, 1, 5, 5])]
    assert edit.applied[-1] is fixes[3]
    assert edit.title == "Apply 4 fixes" and len(edit.applied) == 4  # the second clip's box was gone


def test_a_snapshot_does_not_share_arrays_with_the_record(scene):
    ds, rec = scene
    edit = apply_fix(ds, rec, ClipBox(1))
    edit.apply()
    rec.instances[1].box[0] = -99.0  # e.g. a canvas previewing a drag in place
    edit.revert()
    edit.apply()
    assert rec.instances[1].box[0] == 60
    assert LabelState.of(rec).instances[0] is not rec.instances[0]


def test_take_image_size_on_coco_is_saved(tmp_path):
    root = tmp_path / "ds"
    write_image(root / "a.jpg", 64, 48)
    ann = coco_json(
        root / "instances_train.json",
        [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}],
        [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [16, 12, 32, 24]}],
        [{"id": 1, "name": "thing"}],
    )
    ds = open_dataset(ann)
    (f,) = [f for f in validate_dataset(ds) if f.kind == "image_size_mismatch"]
    assert f.fix == TakeImageSize() and f.fix.safe
    apply_fix(ds, ds.records[0], f.fix).apply()
    save_dataset(ds)
    assert json.loads(ann.read_text())["images"][0]["width"] == 64
    assert not [g for g in validate_dataset(open_dataset(ann)) if g.kind == "image_size_mismatch"]


def test_typed_fixes_come_back_from_the_validation_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    text = "0 0.5 0.5 0.25 0.25\n0 0.5 0.5 0.25 0.25\n0 0.95 0.5 0.2 0.2\n0 0.5 0.5 0 0\n1 0.5\n"
    yaml = make_yolo(tmp_path / "d", {"a": text})
    first = validate_dataset(open_dataset(yaml), cache=True)
    ds = open_dataset(yaml)
    second = validate_dataset(ds, cache=True)
    assert not any(r.loaded for r in ds.records)  # really from the cache
    assert [f.fix for f in second] == [f.fix for f in first]
    assert {type(f.fix) for f in second} >= {DeleteInstance, ClipBox, DeleteLine}
    assert all(f.fix is None or f.fix.target in (None, f.instance) for f in second)

"""Safe fixes: clip, drop zero-area boxes, drop exact duplicates; nothing that needs a guess."""

from __future__ import annotations

import errno
import os

import cv2
import numpy as np
import pytest
from test_validate_data import make_yolo

from workbench.core.annotation import Instance
from workbench.core.fix_actions import FitBoxToKeypoints, MarkKeypointMissing
from workbench.formats.registry import open_dataset, save_dataset
from workbench.qa import apply_fix, apply_safe_fixes, validate_dataset, validate_record
from workbench.sample_data import write_sample

OK = "0 0.5 0.5 0.25 0.25\n"


def test_safe_fixes_change_only_what_is_certain(tmp_path):
    text = OK + OK + "0 0.5 0.5 0 0.2\n0 0.95 0.5 0.2 0.2\n3 0.2 0.2 0.1 0.1\n0 0.501 0.5 0.25 0.25\n"
    ds = open_dataset(make_yolo(tmp_path, {"a": text, "b": OK}))
    changes = apply_safe_fixes(ds, validate_dataset(ds))
    assert changes == [
        "labels/train/a.txt:2: deleted exact duplicate box",
        "labels/train/a.txt:3: deleted box with no area",
        "labels/train/a.txt:4: clipped box to the 64x48 image",
    ]
    a, b = ds.records
    assert a.dirty and not b.dirty
    assert [i.class_id for i in a.instances] == [0, 0, 3, 0]  # wrong class and near-duplicate kept
    assert np.allclose(a.instances[1].box, [54.4, 19.2, 64, 28.8])
    assert apply_safe_fixes(ds, validate_dataset(ds)) == []


def test_stale_findings_cannot_delete_the_wrong_instance(tmp_path):
    ds = open_dataset(make_yolo(tmp_path, {"a": OK + OK}))
    findings = validate_dataset(ds)  # says: instance 1 duplicates instance 0
    rec = ds.records[0]
    rec.set_instances([rec.instances[0], Instance(0, [1, 1, 9, 9])])  # the user edited it since
    assert apply_safe_fixes(ds, findings) == []
    assert len(rec.instances) == 2


def test_box_entirely_outside_is_deleted(tmp_path):
    ds = open_dataset(make_yolo(tmp_path, {"a": OK}))
    rec = ds.records[0].ensure_loaded()
    rec.set_instances(rec.instances + [Instance(0, [70, 10, 90, 20])])
    assert apply_safe_fixes(ds) == ["labels/train/a.txt: deleted box lying entirely outside the image"]
    assert len(rec.instances) == 1


def test_saved_fixes_round_trip(tmp_path):
    yaml = make_yolo(tmp_path, {"a": OK + OK})
    ds = open_dataset(yaml)
    apply_safe_fixes(ds)
    save_dataset(ds)
    assert (tmp_path / "labels" / "train" / "a.txt").read_text() == "0 0.5 0.5 0.25 0.25\n"
    assert validate_dataset(open_dataset(yaml)) == []


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EACCES])
def test_validate_fix_that_cannot_write_is_one_line_exit_2(tmp_path, monkeypatch, capsys, err):
    from workbench.cli.main import main

    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    ok, buf = cv2.imencode(".png", np.zeros((48, 64, 3), np.uint8))
    (root / "images" / "a.png").write_bytes(buf.tobytes())
    label = root / "labels" / "a.txt"
    label.write_text("0 0.5 0.5 0.2 0.2\n0 0.9 0.5 0.4 0.2\n")  # the second box sticks out: clip it
    before = label.read_bytes()

    def refuse(path, data):
        raise OSError(err, os.strerror(err), str(path))

    monkeypatch.setattr("workbench.formats.yolo.atomic_write_bytes", refuse)
    assert main(["validate", str(root), "--fix"]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "a.txt" in lines[0] and os.strerror(err) in lines[0]
    assert label.read_bytes() == before


# --------------------------------------------------------------------------- keypoint outside its box: which is wrong

# Five landmarks of a face (eyes, nose, mouth corners) whose right box is 110..210 x 60..180.
FACE = np.array([[140, 100, 2], [180, 100, 2], [160, 125, 2], [143, 150, 2], [177, 150, 2]], dtype=float)
FACE_BOX = [110.0, 60.0, 210.0, 180.0]


def _face_dataset(tmp_path, box: list[float], keypoints: np.ndarray):
    """A 320x240 pose dataset whose one label file holds this face (pixels), as YOLO writes it."""
    x1, y1, x2, y2 = box
    cols = [0, (x1 + x2) / 640, (y1 + y2) / 480, (x2 - x1) / 320, (y2 - y1) / 240]
    cols += [v for x, y, vis in keypoints for v in (x / 320, y / 240, int(vis))]
    line = " ".join(f"{c:.6f}" if isinstance(c, float) else str(c) for c in cols) + "\n"
    ds = open_dataset(make_yolo(tmp_path, {"a": line}, kpt_shape=[5, 3], sizes={"a": (320, 240)}))
    rec = ds.records[0].ensure_loaded()
    assert len(rec.instances) == 1 and rec.instances[0].source.line == 1
    return ds, rec


def _outside(ds, rec) -> list:
    return [f for f in validate_record(ds, rec) if f.kind == "keypoint_outside_box"]


def test_a_shifted_box_is_moved_over_its_keypoints_and_the_keypoints_stay(tmp_path):
    shifted = [FACE_BOX[0] + 55, FACE_BOX[1], FACE_BOX[2] + 55, FACE_BOX[3]]  # 55% of its width
    ds, rec = _face_dataset(tmp_path, shifted, FACE)
    found = _outside(ds, rec)
    assert len(found) == 2  # both left landmarks: one verdict, so both findings offer the same fix
    fix = found[0].fix
    assert isinstance(fix, FitBoxToKeypoints) and all(f.fix == fix for f in found)
    assert "box looks shifted" in found[0].message
    source = rec.instances[0].source
    edit = apply_fix(ds, rec, fix)
    edit.apply()
    inst = rec.instances[0]
    assert np.allclose(inst.keypoints, FACE, atol=1e-3)  # the landmarks were right: untouched
    assert np.allclose(inst.box, FACE_BOX, atol=5) and np.isclose(inst.width, 100)  # same size, moved back
    assert inst.class_id == 0 and inst.source == source
    assert _outside(ds, rec) == []  # one fix clears every finding of the instance


def test_a_keypoint_thrown_far_away_is_the_one_marked_missing(tmp_path):
    thrown = FACE.copy()
    thrown[2, :2] = (300, 225)  # the nose, far from the face; the box and the other four agree
    ds, rec = _face_dataset(tmp_path, FACE_BOX, thrown)
    (f,) = _outside(ds, rec)
    assert isinstance(f.fix, MarkKeypointMissing) and f.fix.keypoint == 2
    assert "mark it missing" in f.message
    apply_fix(ds, rec, f.fix).apply()
    inst = rec.instances[0]
    assert inst.keypoints[2].tolist() == [0, 0, 0]
    assert np.allclose(np.delete(inst.keypoints, 2, axis=0), np.delete(FACE, 2, axis=0), atol=1e-3)
    assert np.allclose(inst.box, FACE_BOX)


@pytest.mark.parametrize(
    "case",
    ["one_point_just_outside", "two_points_thrown_apart", "box_far_away"],
)
def test_when_the_evidence_does_not_say_which_is_wrong_no_fix_is_offered(tmp_path, case):
    kps, box = FACE.copy(), list(FACE_BOX)
    if case == "one_point_just_outside":
        kps[4, :2] = (224, 150)  # 14 px past the right edge, close to the others: box or point?
    elif case == "two_points_thrown_apart":
        kps[0, :2], kps[4, :2] = (5, 5), (315, 235)
    else:
        box = [10.0, 10.0, 60.0, 70.0]  # no modest move of this box reaches the points
    ds, rec = _face_dataset(tmp_path, box, kps)
    found = _outside(ds, rec)
    assert found and all(f.fix is None for f in found)
    assert all("check whether the keypoint or the box is wrong" in f.message for f in found)


def test_the_samples_shifted_box_is_moved_and_its_landmarks_kept(tmp_path):
    """train_009's box is shifted by 45% of its width off five correct landmarks (``sample_data``)."""
    ds = open_dataset(write_sample(tmp_path / "sample"))
    found = [f for f in validate_dataset(ds) if f.kind == "keypoint_outside_box" and f.image.endswith("train_009.jpg")]
    assert len(found) >= 2
    assert all(isinstance(f.fix, FitBoxToKeypoints) and f.fix == found[0].fix for f in found)
    rec = next(r for r in ds.records if r.path.name == "train_009.jpg")
    inst = rec.instances[found[0].instance]
    landmarks, box = inst.keypoints.copy(), inst.box.copy()
    apply_fix(ds, rec, found[0].fix).apply()
    fixed = rec.instances[found[0].instance]
    assert fixed.keypoints.tolist() == landmarks.tolist()
    true_box = box - np.array([0.45, 0, 0.45, 0]) * (box[2] - box[0])  # where the sample drew the head
    assert np.allclose(fixed.box, true_box, atol=3)
    assert not [f for f in validate_record(ds, rec) if f.kind == "keypoint_outside_box"]

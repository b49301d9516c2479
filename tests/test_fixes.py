"""Safe fixes: clip, drop zero-area boxes, drop exact duplicates; nothing that needs a guess."""

from __future__ import annotations

import errno
import os

import cv2
import numpy as np
import pytest
from test_validate_data import make_yolo

from workbench.core.annotation import Instance
from workbench.formats.registry import open_dataset, save_dataset
from workbench.qa import apply_safe_fixes, validate_dataset

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

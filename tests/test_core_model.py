"""The annotation model: lazy records, dirty tracking, arrays, keypoint schema."""

from __future__ import annotations

import gc
import os
import weakref
from pathlib import Path

import numpy as np
import pytest

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.core.arrays import record_arrays
from workbench.core.findings import Finding, Severity, summarize
from workbench.core.keypoints import KeypointSchema
from workbench.formats import open_dataset


def test_records_load_lazily(sample_yaml):
    ds = open_dataset(sample_yaml)
    assert len(ds) == 48
    assert not any(r.loaded for r in ds.records)
    rec = ds.records[0].ensure_loaded()
    assert rec.loaded and rec.size == (320, 240) and rec.instances
    assert sum(r.loaded for r in ds.records) == 1


def test_set_instances_marks_dirty(sample_yaml):
    ds = open_dataset(sample_yaml)
    rec = ds.records[2]
    rec.set_instances(rec.ensure_loaded().instances[:1])
    assert ds.dirty_records() == [rec]


def test_record_arrays_clip_and_drop_degenerate():
    rec = ImageRecord(path=__import__("pathlib").Path("x.jpg"), width=100, height=50)
    rec.instances = [
        Instance(0, [-10, 5, 40, 60], np.array([[1, 2, 2], [0, 0, 0]])),
        Instance(1, [30, 10, 30, 20]),  # zero width: Faster R-CNN would crash on it
        Instance(2, [120, 10, 150, 20]),  # entirely outside: zero width after clipping
    ]
    arr = record_arrays(rec, num_keypoints=2)
    np.testing.assert_allclose(arr.boxes, [[0, 5, 40, 50]])
    assert arr.classes.tolist() == [0] and arr.kept.tolist() == [0]
    assert arr.keypoints.shape == (1, 2, 3)
    assert len(record_arrays(rec, drop_degenerate=False).boxes) == 3


def test_schema_problems_and_roundtrip():
    s = KeypointSchema.face5()
    assert s.problems() == []
    assert KeypointSchema.from_dict(s.to_dict()) == s
    bad = KeypointSchema(["a", "b", "c"], flip_idx=[1, 2, 0], skeleton=[(0, 5)])
    problems = " ".join(bad.problems())
    assert "symmetrically" in problems and "skeleton" in problems
    assert KeypointSchema.generic(17).names[0] == "nose"


def test_class_counts_ignore_out_of_range():
    ds = Dataset(root=__import__("pathlib").Path("."), classes=["a", "b"])
    rec = ImageRecord(path=__import__("pathlib").Path("x.jpg"), width=10, height=10)
    rec.instances = [Instance(0, [0, 0, 1, 1]), Instance(5, [0, 0, 1, 1]), Instance(1, [0, 0, 1, 1])]
    ds.records.append(rec)
    assert ds.class_counts().tolist() == [1, 1]


def test_finding_text_and_summary():
    f = Finding(
        Severity.ERROR,
        "class_out_of_range",
        "class id 5 is outside 0..0",
        image="images/a.jpg",
        label_file="labels/a.txt",
        line=3,
        instance=2,
    )
    assert str(f) == "labels/a.txt:3: error: class id 5 is outside 0..0 [class_out_of_range]"
    assert f.to_dict()["severity"] == "error"
    s = summarize([f, f])
    assert s["by_severity"]["error"] == 2 and s["by_kind"] == {"class_out_of_range": 2}


def test_a_loaded_dataset_is_freed_without_the_cyclic_collector(sample_yaml):
    """A record drops its loader (which holds the dataset) once loaded: no reference cycle is left."""
    ds = open_dataset(sample_yaml).load_all()
    assert all(r._loader is None for r in ds.records)
    alive = weakref.ref(ds)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        del ds
        assert alive() is None
    finally:
        if was_enabled:
            gc.enable()


def test_a_record_loads_after_its_dataset_is_dropped(sample_yaml):
    rec = open_dataset(sample_yaml).records[0]
    assert rec.ensure_loaded().instances and rec.size == (320, 240)


def test_instance_box_conversion():
    box = np.array([1.0, 2.0, 3.0, 4.0])
    inst = Instance(0, box)
    assert inst.box is box  # already what it must be: kept (shared, as np.asarray shared it before)
    for given in (
        [1, 2, 3, 4],
        np.array([1, 2, 3, 4], np.float32),
        np.array([[1.0, 2.0, 3.0, 4.0]]),
        np.array([1.0, 2.0, 3.0, 4.0]).astype(">f8"),
    ):
        converted = Instance(0, given).box
        assert converted.dtype == np.float64 and converted.shape == (4,) and converted.tolist() == [1, 2, 3, 4]
    with pytest.raises(ValueError):
        Instance(0, np.zeros(5))


def _rel_by_resolving(root: Path, path: Path) -> str:
    """What Dataset.rel always did: resolve both, then relative_to."""
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()


@pytest.mark.parametrize(
    "path",
    [
        "images/train/a.jpg",
        "labels/train/sub/b.txt",
        "a.jpg",
        "",
        ".",
        "images/../labels/a.txt",
        "./images/a.jpg",
        "../elsewhere/a.jpg",
        "/etc/passwd",
        "images//a.jpg",
    ],
)
def test_rel_by_string_is_rel_by_resolving(tmp_path, monkeypatch, path):
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    ds = Dataset(root=root, classes=[])
    monkeypatch.chdir(root)
    for candidate in (Path(path), root / path, str(root / path), str(root) + "/" + path):
        assert ds.rel(candidate) == _rel_by_resolving(root, Path(candidate)), candidate
    assert ds.rel(None) is None


def test_rel_with_a_relative_root(tmp_path, monkeypatch):
    (tmp_path / "ds" / "images").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    ds = Dataset(root=Path("ds"), classes=[])
    assert ds.rel(tmp_path / "ds" / "images" / "a.jpg") == "images/a.jpg"
    assert ds.rel(Path("ds/images/a.jpg")) == "images/a.jpg"


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks here")
def test_rel_keeps_the_name_a_link_has_under_the_root(tmp_path):
    """A folder linked into the root is reported by the name the user sees under the root."""
    outside = tmp_path / "disk2" / "frames"
    outside.mkdir(parents=True)
    root = tmp_path / "ds"
    (root / "images").mkdir(parents=True)
    (root / "images" / "train").symlink_to(outside, target_is_directory=True)
    ds = Dataset(root=root, classes=[])
    assert ds.rel(root / "images" / "train" / "a.jpg") == "images/train/a.jpg"

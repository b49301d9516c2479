"""The annotation model: lazy records, dirty tracking, arrays, keypoint schema."""

from __future__ import annotations

import numpy as np

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
    f = Finding(Severity.ERROR, "class_out_of_range", "class id 5 is outside 0..0", image="images/a.jpg",
                label_file="labels/a.txt", line=3, instance=2)
    assert str(f) == "labels/a.txt:3: error: class id 5 is outside 0..0 [class_out_of_range]"
    assert f.to_dict()["severity"] == "error"
    s = summarize([f, f])
    assert s["by_severity"]["error"] == 2 and s["by_kind"] == {"class_out_of_range": 2}

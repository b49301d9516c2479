"""A save writes only what changed, in every format: an edit and its undo leave the files as they are."""

from __future__ import annotations

from pathlib import Path

import pytest
from _dataset_builders import coco_json, voc_xml, write_image

from workbench.formats import open_dataset, save_dataset


def _coco(tmp_path: Path) -> Path:
    write_image(tmp_path / "a.jpg")
    write_image(tmp_path / "b.jpg")
    ann = tmp_path / "instances_train.json"
    coco_json(
        ann,
        [
            {"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
            {"id": 2, "file_name": "b.jpg", "width": 64, "height": 48},
        ],
        [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1.5, 2.25, 10, 10], "extra": "kept"},
            {"id": 2, "image_id": 2, "category_id": 1, "bbox": [3, 3, 9, 9]},
        ],
        [{"id": 1, "name": "thing"}],
    )
    return ann


def _voc(tmp_path: Path) -> Path:
    root = tmp_path / "voc"
    (root / "Annotations").mkdir(parents=True)
    write_image(root / "JPEGImages" / "a.jpg")
    (root / "Annotations" / "a.xml").write_text(
        voc_xml("a.jpg", [("cat", (1, 1, 9, 9), 0), ("dog", (5, 5, 20, 20), 0)])
    )
    return root


@pytest.mark.parametrize("make, label", [(_coco, "instances_train.json"), (_voc, "voc/Annotations/a.xml")])
def test_edit_and_undo_writes_nothing_and_a_real_edit_writes(tmp_path, make, label):
    ds = open_dataset(make(tmp_path))
    path = tmp_path / label
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    rec = ds.records[0].ensure_loaded()
    original = [i.copy() for i in rec.instances]
    edited = [i.copy() for i in original]
    edited[0].box = edited[0].box + 1
    rec.set_instances(edited)  # the edit
    rec.set_instances([i.copy() for i in original])  # and its undo
    assert save_dataset(ds) == []
    assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
    rec.set_instances(edited)
    assert save_dataset(ds) == [path]
    again = open_dataset(make.__name__ == "_coco" and path or tmp_path / "voc").records[0].ensure_loaded()
    assert again.instances[0].same_as(edited[0])

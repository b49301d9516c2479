"""COCO JSON: category id mapping, boxes, keypoints, image folders, findings, save and export."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from _dataset_builders import coco_json, write_image

from workbench.core.annotation import Instance
from workbench.core.keypoints import COCO_PERSON_NAMES, COCO_PERSON_SIGMAS, COCO_PERSON_SKELETON
from workbench.formats import detect_format, export_dataset, open_dataset, save_dataset
from workbench.formats.base import DatasetError
from workbench.formats.coco import flip_from_names, split_from_name

CATS = [{"id": 90, "name": "toothbrush"}, {"id": 1, "name": "person"}, {"id": 3, "name": "car"}]


def _three_category_json(tmp_path: Path) -> Path:
    images = [
        {"id": 7, "file_name": "a.png", "width": 64, "height": 48},
        {"id": 8, "file_name": "b.png", "width": 64, "height": 48},
    ]
    anns = [
        {
            "id": 1,
            "image_id": 7,
            "category_id": 90,
            "bbox": [10, 5, 20, 10],
            "iscrowd": 0,
            "area": 200,
            "segmentation": [[10, 5, 30, 5, 30, 15]],
        },
        {"id": 2, "image_id": 7, "category_id": 3, "bbox": [1.5, 2.5, 3, 4], "iscrowd": 1},
        {"id": 3, "image_id": 8, "category_id": 1, "bbox": [0, 0, 64, 48], "iscrowd": 0, "custom": "kept"},
    ]
    return coco_json(tmp_path / "instances_val.json", images, anns, CATS)


def test_category_ids_map_to_contiguous_classes_and_back(tmp_path: Path):
    ds = open_dataset(_three_category_json(tmp_path))
    assert ds.format == "coco" and ds.classes == ["person", "car", "toothbrush"]
    assert ds.meta["coco_category_ids"] == [1, 3, 90]
    a = next(r for r in ds if r.path.name == "a.png")
    assert [i.class_id for i in a.instances] == [2, 1]
    out = export_dataset(ds, "coco", tmp_path / "out")
    data = json.loads(out.read_text())
    assert sorted(c["id"] for c in data["categories"]) == [1, 3, 90]
    assert sorted(a["category_id"] for a in data["annotations"]) == [1, 3, 90]


def test_bbox_xywh_becomes_xyxy_and_iscrowd_is_kept(tmp_path: Path):
    ds = open_dataset(_three_category_json(tmp_path))
    rec = next(r for r in ds if r.path.name == "a.png").ensure_loaded()
    assert (rec.width, rec.height) == (64, 48) and rec.split == "val"
    np.testing.assert_allclose(rec.instances[0].box, [10, 5, 30, 15])
    np.testing.assert_allclose(rec.instances[1].box, [1.5, 2.5, 4.5, 6.5])
    assert [i.iscrowd for i in rec.instances] == [False, True]
    assert rec.findings == [] and ds.findings == []


def test_new_class_gets_a_fresh_id_on_save(tmp_path: Path):
    path = _three_category_json(tmp_path)
    ds = open_dataset(path)
    ds.classes.append("zebra")
    rec = ds.records[1]
    rec.set_instances(rec.instances + [Instance(3, np.array([1.0, 1.0, 5.0, 5.0]))])
    save_dataset(ds)
    data = json.loads(path.read_text())
    assert {c["id"]: c["name"] for c in data["categories"]}[91] == "zebra"
    assert any(a["category_id"] == 91 for a in data["annotations"])
    assert open_dataset(path).classes == ["person", "car", "toothbrush", "zebra"]


def test_save_keeps_unchanged_annotations_verbatim_and_writes_only_when_dirty(tmp_path: Path):
    path = _three_category_json(tmp_path)
    past = time.time() - 1000
    os.utime(path, (past, past))
    ds = open_dataset(path)
    assert save_dataset(ds) == []
    assert path.stat().st_mtime == pytest.approx(past)
    rec = next(r for r in ds if r.path.name == "a.png")
    moved = rec.instances[1].copy()
    moved.box = moved.box + 1
    rec.set_instances([rec.instances[0], moved])
    assert save_dataset(ds) == [path]
    data = json.loads(path.read_text())
    by_id = {a["id"]: a for a in data["annotations"]}
    assert by_id[1]["segmentation"] == [[10, 5, 30, 5, 30, 15]]  # untouched: written back as read
    assert by_id[3]["custom"] == "kept"  # another image's annotation
    # The moved box is still annotation 2 (ids other tools refer to stay true), in its place.
    assert [a["id"] for a in data["annotations"]] == [1, 2, 3]
    moved_ann = by_id[2]
    assert moved_ann["bbox"] == [2.5, 3.5, 3, 4] and moved_ann["iscrowd"] == 1 and moved_ann["image_id"] == 7
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def _person_keypoints(tmp_path: Path) -> Path:
    kps = [0.0] * 51
    kps[0:3] = [20, 10, 2]  # nose
    kps[3:6] = [18, 9, 1]  # left eye, occluded
    kps[6:9] = [5, 5, 0]  # right eye: v=0 with coordinates -> missing everywhere
    cat = {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": COCO_PERSON_NAMES,
        "skeleton": [[a + 1, b + 1] for a, b in COCO_PERSON_SKELETON],
    }
    anns = [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 1,
            "bbox": [5, 5, 30, 30],
            "keypoints": kps,
            "num_keypoints": 2,
            "iscrowd": 0,
        },
        {"id": 2, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "keypoints": [1, 2, 3], "iscrowd": 0},
    ]
    return coco_json(
        tmp_path / "annotations" / "person_keypoints_train2017.json",
        [{"id": 1, "file_name": "p.jpg", "width": 64, "height": 48}],
        anns,
        [cat],
        image_dir=tmp_path / "train2017",
    )


def test_person_keypoints_schema_and_values(tmp_path: Path):
    ds = open_dataset(_person_keypoints(tmp_path))
    schema = ds.keypoints
    assert schema.names == COCO_PERSON_NAMES and schema.sigmas == COCO_PERSON_SIGMAS
    assert schema.skeleton == COCO_PERSON_SKELETON  # 1-based in the file, 0-based inside
    assert schema.flip_idx[1] == 2 and schema.flip_idx[15] == 16
    rec = ds.records[0].ensure_loaded()
    assert rec.path == (tmp_path / "train2017" / "p.jpg").resolve() and rec.split == "train"
    kp = rec.instances[0].keypoints
    np.testing.assert_allclose(kp[:3], [[20, 10, 2], [18, 9, 1], [0, 0, 0]])
    bad = [f for f in rec.findings if f.kind == "keypoint_count"]
    assert len(bad) == 1 and bad[0].instance == 1 and bad[0].label_file.endswith("person_keypoints_train2017.json")
    assert rec.instances[1].keypoints is None


def test_keypoint_dataset_folder_opens_and_exports_with_1_based_skeleton(tmp_path: Path):
    _person_keypoints(tmp_path)
    assert detect_format(tmp_path) == "coco"
    ds = open_dataset(tmp_path)
    out = export_dataset(ds, "coco", tmp_path / "out")
    cat = json.loads(out.read_text())["categories"][0]
    assert cat["skeleton"][0] == [16, 14] and cat["keypoints"] == COCO_PERSON_NAMES
    ann = json.loads(out.read_text())["annotations"][0]
    assert ann["keypoints"][:9] == [20, 10, 2, 18, 9, 1, 0, 0, 0] and ann["num_keypoints"] == 2


def test_findings_for_unknown_image_category_and_missing_file(tmp_path: Path):
    images = [
        {"id": 1, "file_name": "here.png", "width": 64, "height": 48},
        {"id": 2, "file_name": "gone.png", "width": 64, "height": 48},
        {"id": 3},
        "not an image",
    ]
    anns = [
        {"id": 10, "image_id": 1, "category_id": 5, "bbox": [1, 1, 2, 2]},
        {"id": 11, "image_id": 99, "category_id": 1, "bbox": [1, 1, 2, 2]},
        {"id": 12, "image_id": 1, "category_id": 1, "bbox": [1, "x", 2, 2]},
        {"id": 13, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]},
        42,
    ]
    path = coco_json(tmp_path / "c.json", images[:1], anns, [{"id": 1, "name": "a"}])
    data = json.loads(path.read_text())
    data["images"] = images
    path.write_text(json.dumps(data))
    ds = open_dataset(path).load_all()
    kinds = sorted(f.kind for f in ds.findings)
    assert kinds == ["coco_bad_image", "coco_bad_image", "coco_unknown_image", "coco_unknown_image"]
    here = next(r for r in ds if r.path.name == "here.png")
    assert sorted(f.kind for f in here.findings) == ["coco_bad_annotation", "coco_unknown_category"]
    assert all(f.label_file == "c.json" and f.image == "here.png" for f in here.findings)
    assert len(here.instances) == 1
    gone = next(r for r in ds if r.path.name == "gone.png")
    assert [f.kind for f in gone.findings] == ["missing_image"]
    # Unreadable annotations of an edited image are written back, not lost.
    here.set_instances([])
    save_dataset(ds)
    ids = sorted(a["id"] for a in json.loads(path.read_text())["annotations"] if isinstance(a, dict))
    assert ids == [10, 11, 12]


def test_json_syntax_error_names_file_line_and_column(tmp_path: Path):
    bad = tmp_path / "c.json"
    bad.write_text('{"images": [\n  {"id": 1,,}\n]}')
    with pytest.raises(DatasetError, match=r"c\.json:2:12: not valid JSON"):
        open_dataset(bad)
    bad.write_text('{"annotations": []}')
    with pytest.raises(DatasetError, match="'images' list"):
        open_dataset(bad)


def test_flir_style_json_with_images_in_data_folder_and_sizes_from_header(tmp_path: Path):
    folder = tmp_path / "images_thermal_val"
    write_image(folder / "data" / "video-1.jpg", 64, 48)
    (folder / "coco.json").write_text(
        json.dumps(
            {
                "images": [{"id": 0, "file_name": "data/video-1.jpg"}],  # no width/height: read from the header
                "annotations": [{"id": 1, "image_id": 0, "category_id": 1, "bbox": [16, 12, 32, 24]}],
                "categories": [{"id": 1, "name": "person"}, {"id": 2, "name": "bike"}],
            }
        )
    )
    ds = open_dataset(folder / "coco.json")
    rec = ds.records[0].ensure_loaded()
    assert rec.split == "val" and (rec.width, rec.height) == (64, 48) and rec.findings == []
    assert detect_format(folder) == "coco" and len(open_dataset(folder)) == 1  # the folder opens too


def test_coco_folder_with_two_splits(tmp_path: Path):
    cats = [{"id": 1, "name": "a"}]
    for split in ("train", "val"):
        coco_json(
            tmp_path / "annotations" / f"instances_{split}2017.json",
            [{"id": 1, "file_name": f"{split}.png", "width": 64, "height": 48}],
            [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 4, 4]}],
            cats,
            image_dir=tmp_path / "images" / f"{split}2017",
        )
    ds = open_dataset(tmp_path)
    assert sorted(ds.splits) == ["train", "val"] and all(r.path.is_file() for r in ds)
    out = export_dataset(ds, "coco", tmp_path / "out")
    assert out.name == "annotations" and sorted(open_dataset(out).splits) == ["train", "val"]


def test_real_coco8_pose_through_coco(coco8_pose: Path, tmp_path: Path):
    ds = open_dataset(coco8_pose).load_all()
    out = export_dataset(ds, "coco", tmp_path / "c")
    back = open_dataset(out).load_all()
    assert back.keypoints.names == COCO_PERSON_NAMES and back.keypoints.sigmas == COCO_PERSON_SIGMAS
    assert sum(len(r.instances) for r in back) == sum(len(r.instances) for r in ds)
    assert not [f for r in back for f in r.findings]


def test_flip_from_names_and_split_from_name():
    assert flip_from_names(["nose", "left_eye", "right_eye", "l_hand", "r_hand", "paw_l", "paw_r"]) == [
        0,
        2,
        1,
        4,
        3,
        6,
        5,
    ]
    assert flip_from_names(["a", "b"]) == [0, 1]
    assert split_from_name(Path("annotations/instances_val2017.json")) == "val"
    assert split_from_name(Path("images_thermal_train/coco.json")) == "train"
    assert split_from_name(Path("x/labels.json")) == "train"

"""Validation memory and time bounded by the data, not by the worst input; small parsing defects."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.core.fix_actions import DeleteInstance
from workbench.qa import checks_duplicates
from workbench.qa.checks_duplicates import NEAR_DUPLICATE_IOU, _overlapping_pairs
from workbench.qa.checks_instances import check_instances
from workbench.qa.qc_geometry import box_iou


def reference_pairs(classes: list[int], boxes: list[list[float]]) -> list[tuple[int, int, float]]:
    """The full n x n IoU matrix, as the duplicate check was before: the results to match."""
    c = np.array(classes)
    iou = box_iou(np.array(boxes, dtype=np.float64), np.array(boxes, dtype=np.float64))
    same = (c[:, None] == c[None, :]) & (iou > NEAR_DUPLICATE_IOU)
    out: dict[int, tuple[int, int, float]] = {}
    for a, b in zip(*np.nonzero(np.triu(same, k=1)), strict=True):
        out.setdefault(int(b), (int(a), int(b), float(iou[a, b])))
    return [out[b] for b in sorted(out)]


def pairs_of(classes: list[int], boxes: list[list[float]]) -> list[tuple[int, int, float]]:
    insts = [Instance(c, np.array(b, dtype=np.float64)) for c, b in zip(classes, boxes, strict=True)]
    pairs, complete = _overlapping_pairs(insts, boxes)
    assert complete
    return pairs


def clustered_boxes(rng: np.random.Generator, n: int) -> tuple[list[int], list[list[float]]]:
    """Boxes in a few clusters, with exact copies and near copies (jittered by 0..3%), two classes."""
    base = []
    for _ in range(max(1, n // 4)):
        x, y = rng.uniform(-20, 600, 2)
        w, h = rng.uniform(0.01, 200, 2) if rng.random() < 0.2 else rng.uniform(5, 80, 2)
        base.append([x, y, x + w, y + h])
    classes, boxes = [], []
    for _ in range(n):
        b = list(base[rng.integers(len(base))])
        r = rng.random()
        if r < 0.4:
            w, h = b[2] - b[0], b[3] - b[1]
            b = [v + rng.uniform(-0.03, 0.03) * s for v, s in zip(b, (w, h, w, h), strict=True)]
        elif r < 0.45:
            b = [b[0], b[1], b[0], b[3]]  # no area: never a duplicate
        classes.append(int(rng.integers(2)))
        boxes.append(b)
    return classes, boxes


@pytest.mark.parametrize("seed", range(40))
def test_duplicate_pairs_equal_the_full_matrix(seed):
    rng = np.random.default_rng(seed)
    classes, boxes = clustered_boxes(rng, int(rng.integers(13, 300)))
    assert pairs_of(classes, boxes) == reference_pairs(classes, boxes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 1),
            st.integers(0, 6),
            st.integers(0, 6),
            st.integers(1, 4),
            st.integers(1, 4),
            st.sampled_from([1.0, 20.0, 21.0, 40.0]),
        ),
        min_size=13,
        max_size=60,
    )
)
def test_duplicate_pairs_equal_the_full_matrix_on_lattice_boxes(rows):
    # Small integer lattices make many exact ties and IoUs right at the threshold (20/21 > 0.95).
    classes = [r[0] for r in rows]
    boxes = [[r[1] * r[5], r[2] * 1.0, r[1] * r[5] + r[3] * r[5], r[2] + r[4] * 1.0] for r in rows]
    assert pairs_of(classes, boxes) == reference_pairs(classes, boxes)


def test_small_files_use_the_pairwise_loop_with_the_same_result():
    rng = np.random.default_rng(7)
    for _ in range(50):
        classes, boxes = clustered_boxes(rng, int(rng.integers(2, 13)))
        assert pairs_of(classes, boxes) == reference_pairs(classes, boxes)


def _record(classes: np.ndarray, boxes: np.ndarray) -> tuple[Dataset, ImageRecord]:
    ds = Dataset(root=__import__("pathlib").Path("."), classes=["a", "b"], format="yolo")
    rec = ImageRecord(path=__import__("pathlib").Path("a.jpg"), width=100_000, height=100_000)
    rec.instances = [Instance(int(c), b) for c, b in zip(classes, boxes, strict=True)]
    return ds, rec


def test_100k_random_boxes_are_checked_in_seconds():
    rng = np.random.default_rng(0)
    n = 100_000
    xy = rng.uniform(0, 99_000, (n, 2))
    wh = rng.uniform(5, 500, (n, 2))
    boxes = np.hstack([xy, xy + wh])
    boxes[:10] = boxes[10:20]  # ten exact copies
    start = time.perf_counter()
    ds, rec = _record(rng.integers(0, 2, n) * 0, boxes)
    dups = [f for f in check_instances(ds, rec) if f.kind == "duplicate"]
    assert time.perf_counter() - start < 20
    assert {f.instance for f in dups} == set(range(10, 20))


def test_100k_identical_boxes_give_a_bounded_report():
    n = 100_000
    boxes = np.tile([10.0, 10.0, 50.0, 60.0], (n, 1))
    ds, rec = _record(np.zeros(n, dtype=int), boxes)
    start = time.perf_counter()
    found = check_instances(ds, rec)
    assert time.perf_counter() - start < 20
    dups = [f for f in found if f.kind == "duplicate"]
    assert len(dups) == checks_duplicates.MAX_DUPLICATE_FINDINGS + 1
    assert all(isinstance(f.fix, DeleteInstance) and f.fix.duplicate_of == 0 for f in dups[:-1])
    assert f"and {n - 1 - checks_duplicates.MAX_DUPLICATE_FINDINGS} more duplicate boxes" in dups[-1].message


def test_boxes_piled_up_beyond_the_budget_fall_back_to_exact_copies(monkeypatch):
    monkeypatch.setattr(checks_duplicates, "MAX_CANDIDATE_PAIRS", 1000)
    rng = np.random.default_rng(3)
    n = 2000
    boxes = np.array([10.0, 10.0, 50.0, 60.0]) + rng.uniform(0, 0.01, (n, 4))  # all near-duplicates
    boxes[1] = boxes[0]
    ds, rec = _record(np.zeros(n, dtype=int), boxes)
    found = check_instances(ds, rec)
    assert [f.instance for f in found if f.kind == "duplicate"] == [1]
    assert [f.kind for f in found if f.kind == "duplicate_check_incomplete"] == ["duplicate_check_incomplete"]


# --------------------------------------------------------------------------- huge label files


def _yolo(tmp_path, labels, **kw):
    from test_validate_data import make_yolo

    return make_yolo(tmp_path, labels, **kw)


def _validate(path):
    from workbench.formats.registry import open_dataset
    from workbench.qa import validate_dataset

    return validate_dataset(open_dataset(path), workers=1)


def test_label_file_with_too_many_lines_is_a_finding_not_a_parse(tmp_path):
    from workbench.formats.yolo_labels import MAX_LABEL_LINES

    yaml = _yolo(tmp_path, {"a": "0 0.5 0.5 0.2 0.2\n" * (MAX_LABEL_LINES + 1), "b": "0 0.5 0.5 0.2 0.2\n"})
    found = _validate(yaml)
    big = [f for f in found if f.kind == "label_file_too_large"]
    assert len(big) == 1 and big[0].label_file == "labels/train/a.txt"
    assert f"{MAX_LABEL_LINES + 1} lines" in big[0].message
    assert not [f for f in found if f.kind == "duplicate"]  # never parsed


def test_label_file_over_the_byte_limit_is_not_read(tmp_path, monkeypatch):
    from workbench.formats import yolo, yolo_labels

    monkeypatch.setattr(yolo_labels, "MAX_LABEL_BYTES", 1000)
    monkeypatch.setattr(yolo, "MAX_LABEL_BYTES", 1000)
    yaml = _yolo(tmp_path, {"a": "0 0.5 0.5 0.2 0.2\n" * 100, "b": "0 0.5 0.5 0.2 0.2\n"})
    big = [f for f in _validate(yaml) if f.kind == "label_file_too_large"]
    assert len(big) == 1 and "MiB limit" in big[0].message


def test_label_file_linked_to_an_endless_device_is_bounded(tmp_path, monkeypatch):
    from workbench.formats import yolo

    yaml = _yolo(tmp_path, {"a": None, "b": "0 0.5 0.5 0.2 0.2\n"})
    link = tmp_path / "labels" / "train" / "a.txt"
    try:
        link.symlink_to("/dev/zero")
    except OSError:
        pytest.skip("no symlinks here")
    monkeypatch.setattr(yolo, "MAX_LABEL_BYTES", 1 << 20)
    refused = [f for f in _validate(yaml) if f.kind == "unreadable_label"]
    assert len(refused) == 1 and "device" in refused[0].message  # refused before a byte is read


# --------------------------------------------------------------------------- yaml


def _open(path):
    from workbench.formats.registry import open_dataset

    return open_dataset(path)


def test_yaml_billion_laughs_is_refused_naming_the_file(tmp_path):
    from workbench.formats.base import DatasetError

    yaml = _yolo(tmp_path, {"a": "0 0.5 0.5 0.2 0.2\n"})
    lines = ["train: images/train", "val: images/train", 'a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for prev, cur in zip("abcdefghi", "bcdefghij", strict=True):
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    lines.append("names: *j")
    yaml.write_text("\n".join(lines) + "\n")
    assert yaml.stat().st_size < 1000
    with pytest.raises(DatasetError, match=r"data\.yaml: refused: expands to more than"):
        _open(yaml)


@pytest.mark.parametrize("depth", [150, 5000])
def test_deeply_nested_yaml_is_a_message(tmp_path, depth):
    from workbench.formats.base import DatasetError

    yaml = _yolo(tmp_path, {"a": "0 0.5 0.5 0.2 0.2\n"})
    yaml.write_text("train: images/train\nnames: " + "[" * depth + "a" + "]" * depth + "\n")
    with pytest.raises(DatasetError, match="nested more than 100 levels"):
        _open(yaml)


def test_recursive_yaml_alias_is_refused():
    from workbench.core.safe_yaml import YamlLimitError, safe_load_text

    with pytest.raises(YamlLimitError, match="endless"):
        safe_load_text("a: &a [1, *a]\n")


def test_safe_yaml_loads_what_safe_load_loads():
    import yaml as pyyaml

    from workbench.core.safe_yaml import safe_load_text

    text = (
        "base: &b {lr: 0.01, epochs: 3}\nrun: {<<: *b, epochs: 5}\nnames: [a, b]\n"
        "kpt_shape: [17, 3]\nshared: [*b, *b]\nempty:\n"
    )
    assert safe_load_text(text) == pyyaml.safe_load(text)
    assert safe_load_text("") is None


def test_train_run_config_goes_through_the_safe_loader(tmp_path):
    from workbench.train.runs import CONFIG, read_config

    (tmp_path / CONFIG).write_text(
        "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
        + "".join(
            f"{c}: &{c} [" + ",".join([f"*{p}"] * 10) + "]\n" for p, c in zip("abcdefghi", "bcdefghij", strict=True)
        )
    )
    with pytest.raises(ValueError, match="expands"):
        read_config(tmp_path)
    (tmp_path / CONFIG).write_text("epochs: [\n")
    with pytest.raises(ValueError, match="not valid YAML"):
        read_config(tmp_path)


# --------------------------------------------------------------------------- small parsing defects


def test_bom_at_the_start_of_label_file_yaml_and_classes_txt(tmp_path):
    yaml = _yolo(tmp_path, {"a": "\ufeff0 0.5 0.5 0.2 0.2\n0 0.2 0.2 0.1 0.1\n"}, names=["cat"])
    yaml.write_text("\ufeff" + yaml.read_text())
    ds = _open(yaml)
    assert ds.classes == ["cat"]
    found = _validate(yaml)
    assert not [f for f in found if f.kind == "not_a_number"], [str(f) for f in found]
    assert len(ds.records[0].ensure_loaded().instances) == 2

    folder = tmp_path / "bare"
    (folder / "images").mkdir(parents=True)
    (folder / "labels").mkdir()
    from test_validate_data import jpeg_bytes

    (folder / "images" / "a.jpg").write_bytes(jpeg_bytes())
    (folder / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (folder / "classes.txt").write_text("\ufeffcat\ndog\n", encoding="utf-8")
    assert _open(folder).classes == ["cat", "dog"]


def test_coco_json_with_a_bom_is_read(tmp_path):
    from _dataset_builders import coco_json

    path = coco_json(
        tmp_path / "ann.json",
        [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
        [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]}],
        [{"id": 1, "name": "cat"}],
    )
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert _open(path).classes == ["cat"]


@pytest.mark.parametrize(("text", "flagged"), [("abc", True), ("true", True), ("2", True), ("1", False), ("0", False)])
def test_voc_difficult_that_is_not_0_or_1_is_a_warning(tmp_path, text, flagged):
    from _dataset_builders import voc_xml, write_image

    write_image(tmp_path / "JPEGImages" / "a.jpg")
    (tmp_path / "Annotations").mkdir()
    xml = voc_xml("a.jpg", [("dog", (10, 5, 30, 25), 0), ("cat", (1, 1, 8.5, 9), 0)])
    parts = xml.split("<difficult>0</difficult>")
    xml = parts[0] + "<difficult>0</difficult>" + parts[1] + f"<difficult>{text}</difficult>" + parts[2]
    (tmp_path / "Annotations" / "a.xml").write_text(xml)
    bad = [f for f in _validate(tmp_path) if f.kind == "voc_bad_difficult"]
    if not flagged:
        assert bad == []
        return
    assert len(bad) == 1
    f = bad[0]
    assert f.label_file == "Annotations/a.xml" and f.line is not None and f.line > 10
    assert f"<difficult>{text}</difficult>" in f.message


@pytest.mark.parametrize("flip", ['"abc"', "3", "{a: 1}"])
def test_flip_idx_that_is_not_a_list_is_an_error(tmp_path, flip):
    yaml = _yolo(tmp_path, {"a": "0 0.5 0.5 0.2 0.2 0.5 0.5 2 0.4 0.4 2\n"}, kpt_shape=[2, 3])
    yaml.write_text(yaml.read_text() + f"flip_idx: {flip}\n")
    ds = _open(yaml)
    bad = [f for f in ds.findings if f.kind == "bad_keypoint_schema"]
    assert len(bad) == 1 and bad[0].label_file == "data.yaml" and "flip_idx" in bad[0].message
    assert bad[0].severity.name == "ERROR"


# --------------------------------------------------------------------------- no labels


def test_dataset_without_label_files_is_an_error(tmp_path):
    yaml = _yolo(tmp_path, {"a": None, "b": None})
    (tmp_path / "stray").mkdir()
    found = [f for f in _validate(yaml) if f.kind == "no_labels"]
    assert len(found) == 1 and found[0].severity.name == "ERROR"
    assert "2 images but no labels" in found[0].message and "labels/" in found[0].message


def test_dataset_with_only_empty_label_files_is_an_error(tmp_path):
    found = [f for f in _validate(_yolo(tmp_path, {"a": "", "b": "\n"})) if f.kind == "no_labels"]
    assert len(found) == 1 and "2 label files" in found[0].message


def test_one_labeled_object_is_enough(tmp_path):
    found = _validate(_yolo(tmp_path, {"a": None, "b": "0 0.5 0.5 0.2 0.2\n"}))
    assert not [f for f in found if f.kind == "no_labels"]


# --------------------------------------------------------------------------- validation cache key


def test_cache_key_changes_with_the_checks_source(tmp_path, monkeypatch):
    from workbench.qa import cache

    ds = _open(_yolo(tmp_path, {"a": "0 0.5 0.5 0.2 0.2\n"}))
    before = cache.config_fingerprint(ds)
    assert cache.checks_digest() == cache.checks_digest()
    monkeypatch.setattr(cache, "_CHECKS_DIGEST", "edited")
    assert cache.config_fingerprint(ds) != before
    monkeypatch.setattr(cache, "__version__", "9.9")
    monkeypatch.setattr(cache, "_CHECKS_DIGEST", None)
    assert cache.config_fingerprint(ds) != before


def test_box_iou_in_blocks_equals_one_block(monkeypatch):
    from workbench.qa import qc_geometry

    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 100, (257, 2))
    a = np.hstack([xy, xy + rng.uniform(0, 30, (257, 2))])
    b = a[rng.permutation(257)[:31]]
    whole = qc_geometry.box_iou(a, b)
    monkeypatch.setattr(qc_geometry, "_BLOCK", 100)  # 3 rows per block
    assert np.array_equal(qc_geometry.box_iou(a, b), whole)
    assert qc_geometry.box_iou(a[:0], b).shape == (0, 31)
    assert qc_geometry.box_iou(a, b[:0]).shape == (257, 0)


def test_a_keypoint_schema_finding_names_data_yaml_once_and_says_how_to_fix(tmp_path, capsys):
    from workbench.cli.main import main

    yaml = _yolo(tmp_path, {"a": "0 0.5 0.5 0.2 0.2 0.5 0.5 2 0.4 0.4 2\n"}, kpt_shape=[2, 3])
    yaml.write_text(yaml.read_text() + "flip_idx: [0, 0]\n")
    main(["validate", str(yaml)])
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "flip_idx" in line]
    assert line.strip().startswith("data.yaml: flip_idx") and line.count("data.yaml") == 2  # location, then the fix
    assert "fix the keypoint keys" in line


def test_a_line_of_a_million_numbers_is_not_a_million_point_face_schema(tmp_path):
    """With no kpt_shape in the yaml the column count decides between boxes and yolov5-face;
    one broken line of 3,000,001 numbers made the dataset 'yolo-face' with 1.5M keypoints,
    which every export then named."""
    from _dataset_builders import write_image

    from workbench.formats import open_dataset
    from workbench.formats.convert import convert_dataset
    from workbench.qa.validate import validate_dataset

    root = tmp_path / "ds"
    write_image(root / "images" / "a.jpg")
    (root / "labels").mkdir()
    (root / "labels" / "a.txt").write_text("0" + " 0.5" * 3_000_000 + "\n")
    (root / "data.yaml").write_text("train: images\nnames: [thing]\n")
    ds = open_dataset(root / "data.yaml")
    assert ds.keypoints is None and ds.format == "yolo"
    assert [f.kind for f in validate_dataset(ds) if f.kind == "column_count"] == ["column_count"]
    out = tmp_path / "out"
    convert_dataset(ds, "coco", out)
    assert sum(p.stat().st_size for p in out.rglob("*.json")) < 10_000


def test_a_coco_category_naming_too_many_keypoints_is_one_error_not_a_huge_schema(tmp_path):
    """A data.yaml's kpt_shape stops at MAX_KEYPOINTS; a COCO category's 'keypoints' list did
    not, and 200,000 names made a 60 MB label file of 50 boxes in a yolo-pose export."""
    import json

    from _dataset_builders import write_image

    from workbench.core.keypoints import MAX_KEYPOINTS
    from workbench.formats import open_dataset
    from workbench.formats.convert import convert_dataset
    from workbench.qa.validate import validate_dataset

    root = tmp_path / "src"
    write_image(root / "a.jpg")
    k = MAX_KEYPOINTS + 1
    coco = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5], "keypoints": [1, 1, 2] * k},
        ],
        "categories": [{"id": 1, "name": "p", "keypoints": [f"k{i}" for i in range(k)]}],
    }
    (root / "ann.json").write_text(json.dumps(coco))
    ds = open_dataset(root / "ann.json")
    assert ds.keypoints is None
    found = validate_dataset(ds)
    assert [f.kind for f in found if f.kind == "keypoint_count"] == ["keypoint_count"]
    rec = ds.records[0]
    assert len(rec.instances) == 1 and rec.instances[0].keypoints is None  # the box is kept
    convert_dataset(ds, "coco", tmp_path / "out")
    assert sum(p.stat().st_size for p in (tmp_path / "out").rglob("*.json")) < 10_000


def test_every_reader_refuses_more_classes_than_the_limit_so_no_conversion_writes_an_unreadable_yaml(tmp_path):
    """A COCO file with MAX_CLASSES + 2 categories opened, and its YOLO export (names keyed
    0..N-1) was then refused by the YOLO reader with a message naming keys that were fine."""
    import json

    from _dataset_builders import write_image

    from workbench.formats import open_dataset
    from workbench.formats.base import MAX_CLASSES, DatasetError

    write_image(tmp_path / "a.jpg")
    n = MAX_CLASSES + 2
    coco = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
        "annotations": [],
        "categories": [{"id": i, "name": f"c{i}"} for i in range(n)],
    }
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    with pytest.raises(DatasetError, match="categories, more than"):
        open_dataset(tmp_path / "ann.json")
    (tmp_path / "images").mkdir()
    write_image(tmp_path / "images" / "b.jpg")
    (tmp_path / "list.yaml").write_text("train: images\nnames: [" + ", ".join(f"c{i}" for i in range(n)) + "]\n")
    with pytest.raises(DatasetError, match="classes, more than"):
        open_dataset(tmp_path / "list.yaml")
    (tmp_path / "keys.yaml").write_text("train: images\nnames: {0: a, 1: b, 99999999999: c}\n")
    with pytest.raises(DatasetError, match=r"got \[99999999999\]"):
        open_dataset(tmp_path / "keys.yaml")

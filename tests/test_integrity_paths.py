"""Paths written in annotation files stay inside the dataset; every image keeps its own labels;
a conversion appears complete or not at all."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from _dataset_builders import coco_json, voc_xml, write_image

from workbench.cli.main import main
from workbench.formats import open_dataset, save_dataset
from workbench.formats.base import DatasetError
from workbench.formats.convert import convert_dataset
from workbench.qa.validate import validate_dataset


def _kinds(ds) -> list[str]:
    return [f.kind for f in validate_dataset(ds)]


def _secret(tmp_path: Path) -> Path:
    """A file outside the dataset that a hostile annotation points at."""
    write_image(tmp_path / "outside" / "secret.jpg")
    return tmp_path / "outside" / "secret.jpg"


def _tree_names(folder: Path) -> set[str]:
    return {p.name for p in folder.rglob("*")}


@pytest.mark.parametrize("escape", ["../outside/secret.jpg", "{abs}"])
def test_coco_file_name_outside_the_dataset_is_a_finding_and_never_exported(tmp_path, escape):
    secret = _secret(tmp_path)
    root = tmp_path / "ds"
    write_image(root / "images" / "ok.jpg")
    name = str(secret) if escape == "{abs}" else "../../outside/secret.jpg"
    ann = root / "annotations" / "instances_train.json"
    coco_json(
        ann,
        [
            {"id": 1, "file_name": "ok.jpg", "width": 64, "height": 48},
            {"id": 2, "file_name": name, "width": 64, "height": 48},
        ],
        [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]},
            {"id": 2, "image_id": 2, "category_id": 1, "bbox": [1, 1, 10, 10]},
        ],
        [{"id": 1, "name": "thing"}],
    )
    ds = open_dataset(ann)
    assert [r.path.name for r in ds.records] == ["ok.jpg"]
    outside = [f for f in validate_dataset(ds) if f.kind == "path_outside_dataset"]
    assert len(outside) == 1 and "secret.jpg" in outside[0].message
    assert "coco_unknown_image" not in _kinds(ds)  # its annotation is counted in that finding
    out = tmp_path / "out"
    assert main(["convert", str(ann), "--to", "yolo", str(out)]) == 0
    assert "secret.jpg" not in _tree_names(out)


def test_voc_filename_outside_the_image_folder_is_not_followed(tmp_path):
    _secret(tmp_path)
    root = tmp_path / "voc"
    (root / "Annotations").mkdir(parents=True)
    (root / "JPEGImages").mkdir()
    (root / "Annotations" / "a.xml").write_text(voc_xml("../../outside/secret.jpg", [("cat", (1, 1, 9, 9), 0)]))
    ds = open_dataset(root)
    assert "path_outside_dataset" in _kinds(ds)
    out = tmp_path / "out"
    main(["convert", str(root), "--to", "coco", str(out)])
    assert not out.exists() or "secret.jpg" not in _tree_names(out)


def test_yolo_list_file_entries_outside_the_root_are_findings_symlinked_folders_stay(tmp_path):
    secret = _secret(tmp_path)
    root = tmp_path / "ds"
    write_image(root / "images" / "in.jpg")
    (root / "labels").mkdir(parents=True)
    (root / "labels" / "in.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    elsewhere = tmp_path / "elsewhere"
    write_image(elsewhere / "linked.jpg")
    (root / "images" / "cam").symlink_to(elsewhere, target_is_directory=True)
    (root / "labels" / "cam").mkdir()
    (root / "labels" / "cam" / "linked.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "train.txt").write_text(f"images/in.jpg\n../outside/secret.jpg\n{secret}\n./images/cam/linked.jpg\n")
    (root / "data.yaml").write_text(f"path: {root}\ntrain: train.txt\nval: images/in.jpg\nnames: [thing]\n")
    ds = open_dataset(root / "data.yaml")
    assert sorted(r.path.name for r in ds.records) == ["in.jpg", "linked.jpg"]
    outside = [f for f in validate_dataset(ds) if f.kind == "path_outside_dataset"]
    assert sorted(f.line for f in outside) == [2, 3]
    assert all(f.label_file == "train.txt" for f in outside)


def _colored(path: Path, color: int) -> None:
    img = np.full((48, 64, 3), color, np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(path.suffix, img)
    path.write_bytes(buf.tobytes())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _labels_by_image(ds) -> dict[str, list[tuple[str, tuple[int, ...]]]]:
    return {
        _digest(r.path): sorted((ds.classes[i.class_id], tuple(int(round(v)) for v in i.box)) for i in r.instances)
        for r in ds.load_all()
    }


def _colliding_yolo(root: Path) -> Path:
    for k, cam in enumerate(["cam1", "cam2", "CAM1"]):  # CAM1 collides with cam1 on macOS and Windows
        _colored(root / "images" / "train" / cam / "frame_0001.png", 40 + 80 * k)
        label = root / "labels" / "train" / cam / "frame_0001.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        x = 0.2 + 0.25 * k
        kps = " ".join(f"{x:.3f} 0.5 2" for _ in range(2))
        label.write_text(f"{k % 2} {x:.3f} 0.5 0.1 0.2 {kps}\n")
    (root / "data.yaml").write_text(
        f"path: {root}\ntrain: images/train\nval: images/train\nkpt_shape: [2, 3]\nflip_idx: [1, 0]\nnames: [a, b]\n"
    )
    return root / "data.yaml"


@pytest.mark.parametrize("first", ["yolo-pose", "coco"])
@pytest.mark.parametrize("target", ["yolo", "yolo-pose", "coco", "voc"])
def test_every_output_image_keeps_exactly_its_own_labels(tmp_path, first, target):
    source = open_dataset(_colliding_yolo(tmp_path / "src"))
    if first == "coco":  # a COCO source whose file_names collide by base name (cam1/..., cam2/...)
        convert_dataset(source, "coco", tmp_path / "coco")
        source = open_dataset(tmp_path / "coco")
    expected = _labels_by_image(source)
    assert len(expected) == 3
    out = tmp_path / "out"
    convert_dataset(source, target, out)
    result = open_dataset(out)
    assert len(result.records) == 3
    assert _labels_by_image(result) == expected


def test_conversion_killed_midway_leaves_nothing_and_a_rerun_works(tmp_path, monkeypatch):
    src = _colliding_yolo(tmp_path / "src")
    out = tmp_path / "out"
    import workbench.formats.files as files

    real = files.link_or_copy
    calls = []

    def dies_on_the_second(a, b):
        calls.append(a)
        if len(calls) == 2:
            raise KeyboardInterrupt  # what a kill looks like from inside
        real(a, b)

    monkeypatch.setattr("workbench.formats.yolo.link_or_copy", dies_on_the_second)
    with pytest.raises(KeyboardInterrupt):
        convert_dataset(src, "yolo", out)
    assert not out.exists()
    assert not list(tmp_path.glob(".out.partial-*"))
    monkeypatch.setattr("workbench.formats.yolo.link_or_copy", real)
    (tmp_path / ".out.partial-stale").mkdir()  # as a SIGKILL would leave it
    convert_dataset(src, "yolo", out)
    assert len(open_dataset(out / "data.yaml").records) == 3
    assert not list(tmp_path.glob(".out.partial-*"))


def test_output_inside_the_source_is_refused(tmp_path):
    src = _colliding_yolo(tmp_path / "src")
    with pytest.raises(DatasetError, match="inside the source"):
        convert_dataset(src, "coco", tmp_path / "src" / "converted")
    assert not (tmp_path / "src" / "converted").exists()
    assert main(["convert", str(src), "--to", "voc", str(tmp_path / "src" / "images" / "out")]) == 2


@pytest.mark.parametrize("target", ["coco", "voc", "yolo"])
def test_names_that_are_not_utf8_or_odd_convert(tmp_path, target):
    root = tmp_path / "src"
    names = [os.fsdecode(b"caf\xe9.png"), "new\nline.png", "  sp ace .png", "x" * 240 + ".png"]
    for k, name in enumerate(names):
        _colored(root / "images" / name, 30 * (k + 1))
        (root / "labels").mkdir(parents=True, exist_ok=True)
        (root / "labels" / (Path(name).stem + ".txt")).write_text(f"0 0.5 0.5 0.{k + 1} 0.2\n")
    (root / "data.yaml").write_text(f"path: {root}\ntrain: images\nval: images\nnames: [a]\n")
    expected = _labels_by_image(open_dataset(root / "data.yaml"))
    out = tmp_path / "out"
    assert main(["convert", str(root / "data.yaml"), "--to", target, str(out)]) == 0
    assert _labels_by_image(open_dataset(out)) == expected


def test_coco_declared_size_is_checked_against_the_image_and_fixed(tmp_path):
    root = tmp_path / "ds"
    write_image(root / "a.jpg", 64, 48)
    ann = root / "instances_train.json"
    coco_json(
        ann,
        [{"id": 1, "file_name": "a.jpg", "width": 100000, "height": 100000}],
        [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [16, 12, 32, 24]}],
        [{"id": 1, "name": "thing"}],
    )
    ds = open_dataset(ann)
    found = [f for f in validate_dataset(ds) if f.kind == "image_size_mismatch"]
    assert len(found) == 1 and "100000x100000" in found[0].message and "64x48" in found[0].message
    rec = ds.records[0]
    assert (rec.width, rec.height) == (64, 48)  # normalized exports use the real size
    out = tmp_path / "yolo"
    convert_dataset(ds, "yolo", out)
    assert (out / "labels" / "train" / "a.txt").read_text().split() == ["0", "0.5", "0.5", "0.5", "0.5"]
    assert main(["validate", str(ann), "--fix"]) in (0, 1)
    import json

    assert json.loads(ann.read_text())["images"][0]["width"] == 64
    assert "image_size_mismatch" not in _kinds(open_dataset(ann))


@pytest.mark.parametrize("which", ["label", "yaml", "list"])
def test_a_fifo_where_a_label_file_or_config_belongs_is_refused_not_read_forever(tmp_path, which):
    root = tmp_path / "ds"
    write_image(root / "images" / "a.jpg")
    (root / "labels").mkdir()
    label = root / "labels" / "a.txt"
    if which == "label":
        os.mkfifo(label)
    else:
        label.write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "train.txt").write_text("images/a.jpg\n")
    if which == "list":
        (root / "train.txt").unlink()
        os.mkfifo(root / "train.txt")
    yaml_path = root / "data.yaml"
    if which == "yaml":
        os.mkfifo(yaml_path)
    else:
        yaml_path.write_text("path: .\ntrain: train.txt\nval: train.txt\nnames: [x]\n")
    rc = main(["validate", str(yaml_path)])  # would block forever on open() of a FIFO
    assert rc in (1, 2)


# --------------------------------------------------------------------------- odd path strings


def test_contained_path_refuses_nul_bytes_and_windows_style_escapes(tmp_path):
    from workbench.core.paths import contained_path

    root = tmp_path / "ds"
    images = root / "images"
    assert contained_path(images, "a.jpg", root) == images / "a.jpg"
    assert contained_path(images, "a\x00.jpg", root) is None  # no file system allows a NUL
    assert contained_path(images, "", root) is None and contained_path(images, ".", root) is None
    assert contained_path(images, "..\\..\\outside\\secret.jpg", root) is None  # Windows separators
    assert contained_path(images, "..\\../outside/x.jpg", root) is None  # mixed
    assert contained_path(images, "\\\\server\\share\\x.jpg", root) is None  # a UNC path
    assert contained_path(images, "sub\\a.jpg", root) == images / "sub\\a.jpg"  # inside either way: as written


def test_coco_file_names_with_nul_or_backslash_escapes_are_findings_never_reads(tmp_path):
    secret = tmp_path / "outside" / "secret.jpg"
    _colored(secret, 200)  # unlike ok.jpg's bytes, so a copy of it would show
    root = tmp_path / "ds"
    write_image(root / "images" / "ok.jpg")
    names = ["ok.jpg", "..\\..\\outside\\secret.jpg", "ok\x00.jpg"]
    data = {
        "images": [{"id": i + 1, "file_name": n, "width": 64, "height": 48} for i, n in enumerate(names)],
        "annotations": [{"id": i + 1, "image_id": i + 1, "category_id": 1, "bbox": [1, 1, 9, 9]} for i in range(3)],
        "categories": [{"id": 1, "name": "thing"}],
    }
    ann = root / "images" / "instances_train.json"
    ann.write_text(json.dumps(data))
    ds = open_dataset(ann)
    assert [r.path.name for r in ds.records] == ["ok.jpg"]
    outside = [f for f in validate_dataset(ds) if f.kind == "path_outside_dataset"]
    assert len(outside) == 2 and all(f.label_file.endswith("instances_train.json") for f in outside)
    assert "secret.jpg" in outside[0].message and "\\x00" in outside[1].message  # the name as written
    out = tmp_path / "out"
    assert main(["convert", str(ann), "--to", "coco", str(out)]) == 0
    assert secret.read_bytes() not in [p.read_bytes() for p in out.rglob("*") if p.is_file()]


def test_list_file_lines_with_backslash_escapes_or_nul_are_findings_with_their_line(tmp_path):
    _secret(tmp_path)
    root = tmp_path / "ds"
    write_image(root / "images" / "a.jpg")
    (root / "train.txt").write_bytes(b"images/a.jpg\n..\\outside\\secret.jpg\nimages/a\x00.jpg\n")
    (root / "data.yaml").write_text("path: .\ntrain: train.txt\nnames: [thing]\n")
    ds = open_dataset(root / "data.yaml")
    assert [r.path.name for r in ds.records] == ["a.jpg"]
    outside = [f for f in validate_dataset(ds) if f.kind == "path_outside_dataset"]
    assert [(f.label_file, f.line) for f in outside] == [("train.txt", 2), ("train.txt", 3)]


def test_a_list_file_named_by_several_splits_reports_each_bad_line_once(tmp_path):
    root = tmp_path / "ds"
    write_image(root / "images" / "a.jpg")
    (root / "train.txt").write_text("images/a.jpg\n../../etc/passwd\n")
    (root / "data.yaml").write_text("path: .\ntrain: train.txt\nval: train.txt\ntest: [train.txt]\nnames: [x]\n")
    outside = [f for f in validate_dataset(open_dataset(root / "data.yaml")) if f.kind == "path_outside_dataset"]
    assert [(f.label_file, f.line) for f in outside] == [("train.txt", 2)]


# --------------------------------------------------------------------------- export names


def test_export_names_replace_control_characters_slashes_and_lone_surrogates():
    from workbench.formats.files import MAX_STEM_BYTES, safe_file_name, unique_file_name

    assert safe_file_name("plain  name.jpg") == "plain  name.jpg"  # spaces are kept
    assert safe_file_name("a\nb\tc\x7f.jpg") == "a_b_c_.jpg"
    assert safe_file_name("back\\slash/slash.jpg") == "back_slash_slash.jpg"
    assert safe_file_name(os.fsdecode(b"caf\xe9.jpg")) == "caf\ufffd.jpg"
    assert safe_file_name("\ud800x.jpg") == "\ufffdx.jpg"  # a lone surrogate from a JSON escape
    assert safe_file_name("..") == "_" and safe_file_name("") == "_"
    used: set[str] = set()
    long = unique_file_name(Path("é" * 200 + ".png"), used)
    assert len(Path(long).stem.encode()) <= MAX_STEM_BYTES and long.endswith(".png")
    assert unique_file_name(Path("é" * 200 + ".jpg"), used) == Path(long).stem + "_1.jpg"


@pytest.mark.parametrize("target", ["voc", "yolo", "coco"])
def test_names_with_tabs_and_backslashes_export_to_readable_lists(tmp_path, target):
    root = tmp_path / "src"
    names = ["tab\there.png", "win\\dows.png", "plain.png"]
    for k, name in enumerate(names):
        _colored(root / "images" / name, 40 * (k + 1))
        (root / "labels").mkdir(parents=True, exist_ok=True)
        (root / "labels" / (Path(name).stem + ".txt")).write_text(f"0 0.5 0.5 0.{k + 1} 0.2\n")
    (root / "data.yaml").write_text("path: .\ntrain: images\nnames: [a]\n")
    expected = _labels_by_image(open_dataset(root / "data.yaml"))
    out = tmp_path / "out"
    convert_dataset(root / "data.yaml", target, out)
    assert not [p for p in out.rglob("*") if "\t" in p.name or "\\" in p.name]
    back = open_dataset(out)
    assert _labels_by_image(back) == expected and not [f for f in validate_dataset(back) if f.severity.value == "error"]


def test_voc_export_keeps_the_split_of_names_with_spaces(tmp_path):
    root = tmp_path / "src"
    for split, name in (("train", "a b"), ("val", "c  d"), ("val", " e"), ("val", "a")):
        write_image(root / "images" / split / f"{name}.png")
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split / f"{name}.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\nnames: [a]\n")
    back = open_dataset(convert_dataset(root / "data.yaml", "voc", tmp_path / "voc").output)
    assert sorted((r.split, r.path.name) for r in back.records) == [
        ("train", "a b.png"),
        ("val", " e.png"),
        ("val", "a.png"),
        ("val", "c  d.png"),
    ]


def test_voc_per_class_split_lists_still_name_the_id(tmp_path):
    root = tmp_path / "voc"
    write_image(root / "JPEGImages" / "000001.jpg")
    (root / "Annotations").mkdir(parents=True)
    (root / "Annotations" / "000001.xml").write_text(voc_xml("000001.jpg", [("cat", (1, 1, 9, 9), 0)]))
    (root / "ImageSets" / "Main").mkdir(parents=True)
    (root / "ImageSets" / "Main" / "val.txt").write_text("000001  1\n")
    assert [r.split for r in open_dataset(root).records] == ["val"]


@pytest.mark.skipif(os.name != "posix", reason="a folder name that is not UTF-8 needs a POSIX file system")
def test_coco_export_of_a_source_whose_path_is_not_utf8_writes_utf8_json(tmp_path):
    root = tmp_path / os.fsdecode(b"caf\xe9")
    write_image(root / "images" / "a.png")
    (root / "labels").mkdir()
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "data.yaml").write_text("path: .\ntrain: images\nnames: [a]\n")
    report = convert_dataset(root / "data.yaml", "coco", tmp_path / "out")
    (ann,) = (tmp_path / "out" / "annotations").glob("*.json")
    info = json.loads(ann.read_bytes().decode("utf-8"))["info"]
    assert "caf\ufffd" in info["description"] and report.images == 1


# --------------------------------------------------------------------------- partial conversions


def test_a_stale_partial_is_removed_by_pid_and_a_live_conversions_is_kept(tmp_path):
    src = _colliding_yolo(tmp_path / "src")
    dead = 2**22 + 12345  # above Linux's largest pid: no such process
    stale = tmp_path / f".out.partial-{dead}-abcd"
    (stale / "images").mkdir(parents=True)
    live = tmp_path / f".out.partial-{os.getppid()}-wxyz"  # our parent is running: its work stays
    live.mkdir()
    convert_dataset(src, "coco", tmp_path / "out")
    assert not stale.exists() and live.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "out", "src"])


def test_coco_images_in_a_linked_folder_stay_allowed(tmp_path):
    elsewhere = tmp_path / "disk2" / "pictures"
    write_image(elsewhere / "a.png")
    root = tmp_path / "ds"
    (root / "annotations").mkdir(parents=True)
    (root / "images").symlink_to(elsewhere, target_is_directory=True)
    ann = root / "annotations" / "instances_train.json"
    data = {
        "images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 10, 10]}],
        "categories": [{"id": 1, "name": "thing"}],
    }
    ann.write_text(json.dumps(data))
    assert "path_outside_dataset" not in _kinds(open_dataset(ann))
    report = convert_dataset(ann, "yolo", tmp_path / "out")
    assert report.images == 1 and report.source_errors == 0


def test_a_converted_folder_gets_ordinary_permissions_not_the_temporary_folders(tmp_path):
    src = _colliding_yolo(tmp_path / "src")
    (tmp_path / "out").mkdir()
    convert_dataset(src, "voc", tmp_path / "out")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "out").stat().st_mode & 0o777 == 0o777 & ~mask


def test_coco_category_name_with_a_lone_surrogate_saves_and_converts(tmp_path):
    write_image(tmp_path / "c" / "a.png")
    text = (
        '{"images": [{"id": 1, "file_name": "a.png", "width": 64, "height": 48}], '
        '"annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}], '
        '"categories": [{"id": 1, "name": "caf\\udce9"}]}'
    )
    ann = tmp_path / "c" / "instances_train.json"
    ann.write_text(text)
    for fmt in ("coco", "voc", "yolo"):
        report = convert_dataset(ann, fmt, tmp_path / fmt)
        assert len(open_dataset(report.output).load_all().records[0].instances) == 1
    ds = open_dataset(ann)
    ds.records[0].set_instances([])
    save_dataset(ds)
    assert json.loads(ann.read_text(encoding="utf-8"))["categories"][0]["name"] == "caf\udce9"


@pytest.mark.parametrize("target", ["coco", "voc"])
def test_a_crash_midway_through_a_coco_or_voc_export_leaves_nothing(tmp_path, monkeypatch, target):
    import importlib

    src = _colliding_yolo(tmp_path / "src")
    module = importlib.import_module(f"workbench.formats.{target}")
    real, calls = module.link_or_copy, []

    def full_on_the_second(a, b):
        calls.append(b)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(a, b)

    monkeypatch.setattr(module, "link_or_copy", full_on_the_second)
    with pytest.raises(DatasetError, match="No space"):  # one message naming OUT, not an OSError traceback
        convert_dataset(src, target, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_output_that_is_the_source_folder_says_so(tmp_path):
    src = _colliding_yolo(tmp_path / "src")
    with pytest.raises(DatasetError, match="is the source dataset"):
        convert_dataset(src, "coco", tmp_path / "src")


def test_names_no_file_system_can_hold_are_missing_images_not_crashes(tmp_path):
    """A name longer than any file system allows (ENAMETOOLONG) or through a file (ENOTDIR)
    makes ``pathlib`` raise; one such annotation must not stop validate or convert."""
    long_name = "a" * 300 + ".jpg"
    coco_root = tmp_path / "coco"
    write_image(coco_root / "ok.jpg")
    ann = coco_root / "ann.json"
    names = ["ok.jpg", long_name, "ok.jpg/inner.jpg"]
    coco = {
        "images": [{"id": i + 1, "file_name": n, "width": 64, "height": 48} for i, n in enumerate(names)],
        "annotations": [
            {"id": i + 1, "image_id": i + 1, "category_id": 1, "bbox": [1, 1, 10, 10]} for i in range(len(names))
        ],
        "categories": [{"id": 1, "name": "thing"}],
    }
    ann.write_text(json.dumps(coco))
    assert _kinds(open_dataset(ann)).count("missing_image") == 2
    assert main(["convert", str(ann), "--to", "voc", str(tmp_path / "out_coco")]) == 0

    yolo_root = tmp_path / "yolo"
    write_image(yolo_root / "images" / "ok.jpg")
    (yolo_root / "labels").mkdir()
    (yolo_root / "labels" / "ok.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (yolo_root / "train.txt").write_text(f"images/ok.jpg\n{'b' * 5000}.jpg\n")
    (yolo_root / "data.yaml").write_text("train: train.txt\nnames: [thing]\n")
    assert "missing_image" in _kinds(open_dataset(yolo_root / "data.yaml"))
    assert main(["convert", str(yolo_root / "data.yaml"), "--to", "coco", str(tmp_path / "out_yolo")]) == 0

    voc_root = tmp_path / "voc"
    (voc_root / "Annotations").mkdir(parents=True)
    (voc_root / "JPEGImages").mkdir()
    (voc_root / "Annotations" / "a.xml").write_text(voc_xml(long_name, [("cat", (1, 1, 9, 9), 0)]))
    assert "missing_image" in _kinds(open_dataset(voc_root))


@pytest.mark.parametrize("target", ["yolo", "coco", "voc"])
def test_names_equal_after_unicode_normalization_get_their_own_output_files(tmp_path, target):
    """``café`` in NFC and in NFD are two files on Linux but one name on macOS: copied there,
    one export image (and its label file) would replace the other."""
    import unicodedata

    src = tmp_path / "src"
    names = [unicodedata.normalize(form, "café.png") for form in ("NFC", "NFD")]
    assert names[0] != names[1]
    for k, name in enumerate(names):
        _colored(src / name, 60 + 100 * k)
    coco = {
        "images": [{"id": k + 1, "file_name": n, "width": 64, "height": 48} for k, n in enumerate(names)],
        "annotations": [
            {"id": k + 1, "image_id": k + 1, "category_id": 1, "bbox": [5 + 20 * k, 5, 10, 10]} for k in range(2)
        ],
        "categories": [{"id": 1, "name": "thing"}],
    }
    (src / "ann.json").write_text(json.dumps(coco))
    source = open_dataset(src / "ann.json")
    out = tmp_path / "out"
    convert_dataset(source, target, out)
    folded = [unicodedata.normalize("NFC", p.name).casefold() for p in out.rglob("*") if p.is_file()]
    assert len(folded) == len(set(folded))
    assert _labels_by_image(open_dataset(out)) == _labels_by_image(source)


def test_voc_annotation_goes_with_the_image_its_filename_names_among_same_stem_images(tmp_path):
    """``a.jpg`` and ``a.png`` beside one ``a.xml`` naming ``a.png``: the boxes were drawn on
    a.png, and pairing by stem alone gave them to a.jpg."""
    root = tmp_path / "voc"
    _colored(root / "JPEGImages" / "a.jpg", 40)
    _colored(root / "JPEGImages" / "a.png", 200)
    (root / "Annotations").mkdir()
    (root / "Annotations" / "a.xml").write_text(voc_xml("a.png", [("cat", (1, 1, 9, 9), 0)]))
    ds = open_dataset(root)
    assert [r.path.name for r in ds.records] == ["a.png"]
    shared = [f for f in validate_dataset(ds) if f.kind == "label_file_shared"]
    assert len(shared) == 1 and "a.jpg" in shared[0].message and shared[0].label_file == "Annotations/a.xml"
    out = tmp_path / "out"
    convert_dataset(ds, "coco", out)
    assert _labels_by_image(open_dataset(out)) == {_digest(root / "JPEGImages" / "a.png"): [("cat", (1, 1, 9, 9))]}


def test_yolo_images_that_share_one_label_file_are_reported(tmp_path):
    root = tmp_path / "yolo"
    _colored(root / "images" / "a.jpg", 40)
    _colored(root / "images" / "a.png", 200)
    _colored(root / "images" / "b.jpg", 90)
    (root / "labels").mkdir()
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "data.yaml").write_text("train: images\nnames: [thing]\n")
    shared = [f for f in validate_dataset(open_dataset(root / "data.yaml")) if f.kind == "label_file_shared"]
    assert len(shared) == 1
    assert shared[0].label_file == "labels/a.txt" and "a.jpg" in shared[0].message and "a.png" in shared[0].message
    # Two image folders that lead to one label folder: images/x/a.jpg and an image kept in labels/x/.
    _colored(root / "images" / "x" / "c.jpg", 10)
    _colored(root / "labels" / "x" / "c.jpg", 250)
    (root / "labels" / "x" / "c.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "data.yaml").write_text("train: [images/x, labels/x]\nnames: [thing]\n")
    shared = [f for f in validate_dataset(open_dataset(root / "data.yaml")) if f.kind == "label_file_shared"]
    assert len(shared) == 1 and "images/x/c.jpg and labels/x/c.jpg" in shared[0].message


def test_classes_with_one_name_are_reported_and_a_voc_conversion_says_it_merges_them(tmp_path):
    """COCO categories 1 and 2 both named 'car': VOC keys classes by name, so converted their
    boxes become one class; validate and the conversion report must both say so."""
    write_image(tmp_path / "src" / "a.jpg")
    coco = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]},
            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [30, 20, 10, 10]},
        ],
        "categories": [{"id": 1, "name": "car"}, {"id": 2, "name": "car "}],
    }
    ann = tmp_path / "src" / "ann.json"
    ann.write_text(json.dumps(coco))
    ds = open_dataset(ann)
    dup = [f for f in validate_dataset(ds) if f.kind == "duplicate_class_name"]
    assert len(dup) == 1 and "class 0 and class 1" in dup[0].message
    report = convert_dataset(ds, "voc", tmp_path / "voc")
    assert any("named alike" in loss for loss in report.losses)
    assert not any("named alike" in loss for loss in convert_dataset(ds, "yolo", tmp_path / "yolo").losses)


@pytest.mark.parametrize("where", ["images", "images/pred", "root-of-yaml"])
def test_predict_out_in_the_folder_of_its_images_is_refused_before_anything_is_written(tmp_path, capsys, where):
    """``--out`` set to the images' folder would replace each image with its overlay (same
    name); a folder inside the data would be read back as unlabeled images."""
    root = tmp_path / "ds"
    _colored(root / "images" / "a.jpg", 90)
    (root / "data.yaml").write_text("train: images\nnames: [thing]\n")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    source = root / "data.yaml" if where == "root-of-yaml" else root / "images"
    out = root / "preds" if where == "root-of-yaml" else root / where
    weights = tmp_path / "no-such-model.pt"  # refused before the model is even looked at
    rc = main(["predict", str(weights), str(source), "--out", str(out), "--save-images", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 2 and "--out" in err and "folder of the images being predicted" in err
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    assert where == "images" or not out.exists()


@pytest.mark.parametrize("target", ["yolo", "coco", "voc"])
def test_images_named_without_an_image_extension_survive_conversion_with_their_labels(tmp_path, target):
    """A COCO file_name 'img001' or 'scan.jpg.bak' names a real JPEG; copied under that name,
    the YOLO reader (which lists images by extension) opened the export without it."""
    src = tmp_path / "src"
    names = ["img001", "scan.jpg.bak", "photo.PNG"]
    for k, name in enumerate(names):
        _colored(src / "tmp.png" if name == "photo.PNG" else src / "tmp.jpg", 30 + 70 * k)
        (src / ("tmp.png" if name == "photo.PNG" else "tmp.jpg")).rename(src / name)
    coco = {
        "images": [{"id": k + 1, "file_name": n, "width": 64, "height": 48} for k, n in enumerate(names)],
        "annotations": [
            {"id": k + 1, "image_id": k + 1, "category_id": 1, "bbox": [2 + 10 * k, 3, 8, 8]} for k in range(3)
        ],
        "categories": [{"id": 1, "name": "thing"}],
    }
    (src / "ann.json").write_text(json.dumps(coco))
    source = open_dataset(src / "ann.json")
    assert convert_dataset(source, target, tmp_path / "out").images == 3
    result = open_dataset(tmp_path / "out")
    assert len(result.records) == 3
    assert _labels_by_image(result) == _labels_by_image(source)


def test_a_voc_conversion_reports_class_names_voc_cannot_hold(tmp_path):
    """A COCO category named '' converted to VOC gave an <object> with an empty <name>, which
    reads back as a broken object: one box fewer, and the report said nothing."""
    write_image(tmp_path / "src" / "a.jpg")
    coco = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]},
            {"id": 2, "image_id": 1, "category_id": 2, "bbox": [30, 20, 10, 10]},
        ],
        "categories": [{"id": 1, "name": ""}, {"id": 2, "name": " padded "}],
    }
    (tmp_path / "src" / "ann.json").write_text(json.dumps(coco))
    report = convert_dataset(open_dataset(tmp_path / "src" / "ann.json"), "voc", tmp_path / "voc")
    assert any("1 box of classes with an empty name" in loss for loss in report.losses)
    assert any("' padded '" in loss for loss in report.losses)


def test_two_coco_image_entries_for_one_file_are_reported(tmp_path):
    """'a.jpg' and './sub/../a.jpg' under two ids: one picture whose boxes are split between
    two records, so every copy of it trains and exports with only part of its labels."""
    write_image(tmp_path / "a.jpg")
    (tmp_path / "sub").mkdir()
    coco = {
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 64, "height": 48},
            {"id": 2, "file_name": "sub/../a.jpg", "width": 64, "height": 48},
        ],
        "annotations": [
            {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10]},
            {"id": 2, "image_id": 2, "category_id": 1, "bbox": [30, 20, 10, 10]},
        ],
        "categories": [{"id": 1, "name": "thing"}],
    }
    (tmp_path / "ann.json").write_text(json.dumps(coco))
    found = [f for f in validate_dataset(open_dataset(tmp_path / "ann.json")) if f.kind == "coco_duplicate_file"]
    assert len(found) == 1 and "image ids 1 and 2" in found[0].message and found[0].image == "a.jpg"


def test_voc_annotations_renamed_from_their_image_pair_with_it_once(tmp_path):
    """a.xml and b.xml both say <filename>c.jpg</filename> and there is no a.jpg or b.jpg:
    c.jpg was listed three times, once unlabeled (training it as background) and once with
    each file's boxes."""
    root = tmp_path / "voc"
    _colored(root / "JPEGImages" / "c.jpg", 120)
    (root / "Annotations").mkdir()
    (root / "Annotations" / "a.xml").write_text(voc_xml("c.jpg", [("cat", (1, 1, 9, 9), 0)]))
    (root / "Annotations" / "b.xml").write_text(voc_xml("c.jpg", [("cat", (20, 20, 30, 30), 0)]))
    ds = open_dataset(root)
    found = validate_dataset(ds)
    assert [r.path.name for r in ds.records if r.width is not None] == ["c.jpg"]
    assert "unlabeled_image" not in [f.kind for f in found]
    shared = [f for f in found if f.kind == "label_file_shared"]
    assert len(shared) == 1 and shared[0].label_file == "Annotations/b.xml"
    out = tmp_path / "out"
    convert_dataset(ds, "yolo", out)
    assert _labels_by_image(open_dataset(out)) == {_digest(root / "JPEGImages" / "c.jpg"): [("cat", (1, 1, 9, 9))]}


@pytest.mark.parametrize("where", ["under-a-file", "name-too-long", "disk-full"])
def test_an_output_folder_that_cannot_be_written_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch, where):
    import errno

    src = tmp_path / "src"
    write_image(src / "a.jpg")
    (src / "ann.json").write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 48}],
                "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}],
                "categories": [{"id": 1, "name": "thing"}],
            }
        )
    )
    (tmp_path / "a-file").write_text("keep")
    out = {
        "under-a-file": tmp_path / "a-file" / "out",
        "name-too-long": tmp_path / ("o" * 300),
        "disk-full": tmp_path / "out",
    }[where]
    if where == "disk-full":

        def full(path, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

        monkeypatch.setattr("workbench.core.atomic._replace_with", full)
    rc = main(["convert", str(src / "ann.json"), "--to", "yolo", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "cannot be written there" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "src"]
    assert (tmp_path / "a-file").read_text() == "keep"


@pytest.mark.parametrize("command", ["validate", "convert", "predict"])
@pytest.mark.parametrize("where", ["name-too-long", "under-a-file"])
def test_a_dataset_path_the_file_system_refuses_is_one_line_not_a_traceback(tmp_path, capsys, command, where):
    (tmp_path / "a-file").write_text("")
    data = str(tmp_path / ("d" * 300)) if where == "name-too-long" else str(tmp_path / "a-file" / "data.yaml")
    argv = {
        "validate": ["validate", data],
        "convert": ["convert", data, "--to", "yolo", str(tmp_path / "out")],
        "predict": ["predict", str(tmp_path / "w.pt"), data, "--out", str(tmp_path / "out")],
    }[command]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("workbench: ")


def test_a_coco_json_at_the_root_does_not_read_images_from_the_folder_above(tmp_path):
    """ds/ann.json naming 'secret.jpg' found ../images/secret.jpg (one of the places COCO
    layouts keep images, relative to an annotations/ folder) outside the dataset, and the
    conversion exported it."""
    _colored(tmp_path / "images" / "secret.jpg", 99)
    root = tmp_path / "ds"
    root.mkdir()
    coco = {
        "images": [{"id": 1, "file_name": "secret.jpg", "width": 64, "height": 48}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}],
        "categories": [{"id": 1, "name": "thing"}],
    }
    (root / "ann.json").write_text(json.dumps(coco))
    ds = open_dataset(root / "ann.json")
    assert "missing_image" in _kinds(ds)
    out = tmp_path / "out"
    main(["convert", str(root / "ann.json"), "--to", "yolo", str(out)])
    assert not out.exists() or "secret.jpg" not in _tree_names(out)
    # The usual layout still works: annotations/ beside images/, both inside the dataset.
    (root / "annotations").mkdir()
    (root / "ann.json").rename(root / "annotations" / "instances_train.json")
    _colored(root / "images" / "secret.jpg", 99)
    assert "missing_image" not in _kinds(open_dataset(root / "annotations" / "instances_train.json"))

"""Pascal VOC XML: VOC2007 and labelImg layouts, findings with lines, save and export."""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from _dataset_builders import voc_xml, write_image

from workbench.core.annotation import Instance
from workbench.formats import detect_format, export_dataset, open_dataset, save_dataset
from workbench.formats.voc import XmlError, parse_xml, read_voc


def _voc2007(root: Path) -> Path:
    for stem, split in (("000001", "train"), ("000002", "val"), ("000003", "test")):
        write_image(root / "JPEGImages" / f"{stem}.jpg")
        (root / "Annotations").mkdir(parents=True, exist_ok=True)
        objects = [("dog", (10, 5, 30, 25), 0), ("cat", (1, 1, 8.5, 9), 1)] if stem != "000003" else []
        (root / "Annotations" / f"{stem}.xml").write_text(voc_xml(f"{stem}.jpg", objects))
        main = root / "ImageSets" / "Main"
        main.mkdir(parents=True, exist_ok=True)
        with open(main / f"{split}.txt", "a") as f:
            f.write(stem + "\n")
    return root


def test_voc2007_layout_splits_classes_and_boxes(tmp_path: Path):
    root = _voc2007(tmp_path / "VOC2007")
    assert detect_format(root) == "voc"
    ds = open_dataset(root)
    assert ds.format == "voc" and ds.classes == ["cat", "dog"]  # sorted names found
    assert {r.path.stem: r.split for r in ds} == {"000001": "train", "000002": "val", "000003": "test"}
    rec = next(r for r in ds if r.path.stem == "000001").ensure_loaded()
    dog, cat = rec.instances
    assert dog.class_id == 1 and cat.class_id == 0
    np.testing.assert_allclose(dog.box, [10, 5, 30, 25])  # pixels as written, no 1-based shift
    np.testing.assert_allclose(cat.box, [1, 1, 8.5, 9])
    assert (dog.iscrowd, cat.iscrowd) == (False, True)  # difficult -> iscrowd
    assert dog.source.line == 6 and rec.findings == []


def test_labelimg_folder_with_predefined_classes_and_unknown_name(tmp_path: Path):
    root = tmp_path / "shots"
    write_image(root / "images" / "a.png")
    write_image(root / "images" / "b.png")
    (root / "annotations").mkdir()
    (root / "annotations" / "a.xml").write_text(voc_xml("a.png", [("car", (1, 2, 3, 4), 0), ("bus", (2, 2, 9, 9), 0)]))
    (root / "predefined_classes.txt").write_text("person\ncar\n")
    ds = open_dataset(tmp_path / "shots" / "annotations" / "a.xml")
    assert ds.format == "voc" and ds.classes == ["person", "car"]  # lazily loaded: nothing read yet
    a = next(r for r in ds if r.path.stem == "a").ensure_loaded()
    assert [i.class_id for i in a.instances] == [1, 2] and ds.classes == ["person", "car", "bus"]
    assert [f.kind for f in a.findings] == ["voc_unknown_class"]
    b = next(r for r in ds if r.path.stem == "b").ensure_loaded()
    assert not b.has_labels and b.instances == [] and b.findings == []


def test_xml_beside_images_in_split_folders(tmp_path: Path):
    for split in ("train", "val"):
        write_image(tmp_path / split / f"{split}1.jpg")
        (tmp_path / split / f"{split}1.xml").write_text(voc_xml(f"{split}1.jpg", [("x", (1, 1, 5, 5), 0)]))
    ds = read_voc(tmp_path)
    assert sorted(ds.splits) == ["train", "val"] and ds.classes == ["x"]


def test_malformed_xml_and_bad_objects_become_findings_with_lines(tmp_path: Path):
    root = tmp_path / "v"
    write_image(root / "ok.png")
    write_image(root / "broken.png")
    write_image(root / "partial.png")
    (root / "ok.xml").write_text(voc_xml("ok.png", [("a", (1, 1, 5, 5), 0)]))
    (root / "broken.xml").write_text("<annotation>\n  <object>\n    <name>a</name>\n  </annotation>\n")
    text = voc_xml("partial.png", [("a", (1, 1, 5, 5), 0), ("a", (2, 2, 6, 6), 0)]).replace(
        "<xmax>6</xmax>", "<xmax>six</xmax>"
    )
    (root / "partial.xml").write_text(text)
    ds = open_dataset(root).load_all()
    recs = {r.path.stem: r for r in ds}
    (broken,) = recs["broken"].findings
    assert broken.kind == "voc_bad_xml" and broken.line == 4 and broken.label_file == "broken.xml"
    (partial,) = recs["partial"].findings
    assert partial.kind == "voc_bad_object" and partial.line == 13
    assert len(recs["partial"].instances) == 1 and len(recs["ok"].instances) == 1


def test_save_rewrites_only_dirty_xml_and_keeps_unedited_objects(tmp_path: Path):
    root = _voc2007(tmp_path / "VOC")
    files = sorted((root / "Annotations").glob("*.xml"))
    past = int(time.time()) - 1000
    for f in files:
        os.utime(f, (past, past))
    ds = open_dataset(root)
    rec = next(r for r in ds if r.path.stem == "000001")
    rec.set_instances(rec.instances[:1] + [Instance(0, np.array([3.0, 4.0, 12.25, 13.0]))])
    assert save_dataset(ds) == [root / "Annotations" / "000001.xml"]
    assert [f.stat().st_mtime_ns == int(past * 1e9) for f in files] == [False, True, True]
    tree = ET.parse(files[0]).getroot()
    objs = tree.findall("object")
    assert objs[0].findtext("pose") == "Left" and objs[0].findtext("truncated") == "1"  # kept as read
    assert objs[1].findtext("name") == "cat" and objs[1].findtext("bndbox/xmax") == "12.25"
    assert tree.findtext("folder") == "images"  # the rest of the file kept
    assert not [p for p in (root / "Annotations").iterdir() if p.name.startswith(".")]
    again = next(r for r in open_dataset(root) if r.path.stem == "000001").ensure_loaded()
    assert all(a.same_as(b) for a, b in zip(again.instances, rec.instances, strict=True))


def test_saving_an_edit_to_a_broken_xml_keeps_the_broken_text(tmp_path: Path):
    root = tmp_path / "v"
    write_image(root / "a.png")
    (root / "a.xml").write_text("<annotation><object>")
    (root / "classes.txt").write_text("a\n")
    ds = open_dataset(root)
    rec = ds.records[0]
    rec.set_instances([Instance(0, np.array([1.0, 1.0, 4.0, 4.0]))])
    written = save_dataset(ds)
    assert (root / "a.xml.broken").read_text() == "<annotation><object>"
    assert root / "a.xml" in written
    assert len(open_dataset(root).records[0].ensure_loaded().instances) == 1


def test_export_voc2007_layout(tmp_path: Path):
    ds = open_dataset(_voc2007(tmp_path / "src"))
    out = export_dataset(ds, "voc", tmp_path / "out")
    assert (out / "ImageSets" / "Main" / "val.txt").read_text() == "000002\n"
    assert (out / "classes.txt").read_text() == "cat\ndog\n"
    back = open_dataset(out).load_all()
    assert back.classes == ds.classes and len(back) == 3
    assert back.config_file == out / "classes.txt"


def test_parse_xml_refuses_entities_and_reports_position():
    with pytest.raises(XmlError) as e:
        parse_xml(b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "yyyy">]><a>&x;</a>')
    assert e.value.line == 1
    with pytest.raises(XmlError) as e:
        parse_xml(b"<a>\n<b></a>")
    assert (e.value.line, e.value.column) == (2, 6)

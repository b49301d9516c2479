"""A write changes only what the user changed: lines, files, data.yaml, COCO json, VOC xml, --fix.

An edit and its undo leave the files as they are, in every format.
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import pytest
from _dataset_builders import coco_json, voc_xml, write_image

from workbench.cli.main import main
from workbench.core.annotation import Instance
from workbench.formats import open_dataset, save_dataset
from workbench.formats.yolo_labels import LabelLayout, minimal_label_text, parse_label_text


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


# 64x48 images; line 2 is unparseable, line 4 blank, CRLF endings, no final newline.
CRLF_TEXT = (
    b"0 0.756420 0.500000 0.200000 0.200000\r\nthis line is broken\r\n1 0.300000 0.3 0.1 0.1\r\n\r\n0 0.1 0.1 0.05 0.05"
)
YAML_TEXT = (
    "# thermal set, do not reorder\n"
    "path:   # empty on purpose: relative to this file\n"
    "train: images/train\n"
    "val: images/train\n"
    "nc: 2\n"
    "names: [cat, dog]  # ids are fixed\n"
    "custom_tool_key: {keep: me}\n"
)


def _dataset(root: Path, labels: dict[str, bytes | None], yaml_text: str = YAML_TEXT) -> Path:
    for stem, data in labels.items():
        write_image(root / "images" / "train" / f"{stem}.png")
        if data is not None:
            (root / "labels" / "train").mkdir(parents=True, exist_ok=True)
            (root / "labels" / "train" / f"{stem}.txt").write_bytes(data)
    (root / "data.yaml").write_text(yaml_text)
    return root / "data.yaml"


def _age(*paths: Path) -> dict[Path, int]:
    """Set the files' mtime into the past; returns it, to see later which files were touched."""
    past = time.time() - 1000
    for p in paths:
        os.utime(p, (past, past))
    return {p: p.stat().st_mtime_ns for p in paths}


def _record(ds, stem: str):
    return next(r for r in ds if r.path.stem == stem).ensure_loaded()


def test_an_edit_rewrites_only_its_line_keeping_crlf_final_newline_and_unparsed_lines(tmp_path):
    yaml = _dataset(tmp_path, {"a": CRLF_TEXT})
    ds = open_dataset(yaml)
    rec = _record(ds, "a")
    edited = rec.instances[1].copy()
    edited.class_id = 0
    rec.set_instances([rec.instances[0], edited, rec.instances[2]])
    assert save_dataset(ds) == [rec.label_path]
    lines = rec.label_path.read_bytes().split(b"\r\n")
    assert lines == [
        b"0 0.756420 0.500000 0.200000 0.200000",  # untouched: not "0.75642"
        b"this line is broken",  # still line 2
        b"0 0.3 0.3 0.1 0.1",  # the edited line, in its place
        b"",
        b"0 0.1 0.1 0.05 0.05",
    ]  # still no final newline
    assert b"\n" not in rec.label_path.read_bytes().replace(b"\r\n", b"")  # CRLF throughout


def test_new_box_goes_after_the_last_line_and_a_deleted_one_takes_only_its_line(tmp_path):
    text = "0 0.5 0.5 0.2 0.2\n1 0.300000 0.3 0.1 0.1\nbroken\n"
    layout, (w, h), label = LabelLayout("det"), (64, 48), tmp_path / "a.txt"
    parsed = parse_label_text(text, layout, w, h, label)
    a, b = parsed.instances
    out = minimal_label_text([b, Instance(1, [1, 1, 5, 5])], parsed.extra_lines, layout, w, h, label, text)
    assert out == "1 0.300000 0.3 0.1 0.1\nbroken\n1 0.046875 0.0625 0.0625 0.083333\n"
    # the unparsed line deleted (the quick fix), the rest byte for byte
    assert minimal_label_text([a, b], [], layout, w, h, label, text) == "0 0.5 0.5 0.2 0.2\n1 0.300000 0.3 0.1 0.1\n"


def test_undecodable_bytes_in_an_unparsed_line_go_back_unchanged(tmp_path):
    raw = b"0 0.5 0.5 0.2 0.2\nnot \xff utf8\n"
    yaml = _dataset(tmp_path, {"a": raw})
    ds = open_dataset(yaml)
    rec = _record(ds, "a")
    rec.set_instances(rec.instances + [Instance(0, [1, 1, 5, 5])])
    save_dataset(ds)
    assert rec.label_path.read_bytes().startswith(raw)


def test_an_edit_undone_or_a_record_marked_for_nothing_writes_nothing(tmp_path):
    yaml = _dataset(tmp_path, {"a": CRLF_TEXT, "b": b"0 0.5 0.5 0.2 0.2\n", "empty": None})
    ds = open_dataset(yaml)
    labels = [r.label_path for r in ds if r.has_labels]
    before = _age(*labels, yaml)
    for rec in ds:
        rec.ensure_loaded()
        original = [i.copy() for i in rec.instances]
        moved = [i.copy() for i in original]
        for i in moved:
            i.box += 2
        rec.set_instances(moved)
        rec.set_instances(original)  # undo
    assert ds.dirty_records() == list(ds)
    assert save_dataset(ds) == []
    assert {p: p.stat().st_mtime_ns for p in before} == before
    assert not (tmp_path / "labels" / "train" / "empty.txt").exists()  # no empty file for an unlabeled image
    assert ds.dirty_records() == []


def test_class_added_then_removed_leaves_data_yaml_alone(tmp_path):
    yaml = _dataset(tmp_path, {"a": b"0 0.5 0.5 0.2 0.2\n"})
    before = _age(yaml)
    ds = open_dataset(yaml)
    ds.classes.append("bird")
    ds.classes.pop()
    ds.classes_dirty = True  # what the add and undo commands leave behind
    assert save_dataset(ds) == []
    assert yaml.stat().st_mtime_ns == before[yaml] and yaml.read_text() == YAML_TEXT


@pytest.mark.parametrize(
    "names_line, expected",
    [
        ("names: [cat, dog]  # ids are fixed", "names: [cat, dog, bird] # ids are fixed"),
        ("names:\n  0: cat\n  1: dog", "names:\n  0: cat\n  1: dog\n  2: bird"),
    ],
)
def test_added_class_changes_only_names_and_nc_in_data_yaml(tmp_path, names_line, expected):
    text = YAML_TEXT.replace("names: [cat, dog]  # ids are fixed", names_line)
    yaml = _dataset(tmp_path, {"a": b"0 0.5 0.5 0.2 0.2\n"}, text)
    ds = open_dataset(yaml)
    ds.classes.append("bird")
    ds.classes_dirty = True
    assert save_dataset(ds) == [yaml]
    assert yaml.read_text() == text.replace("nc: 2", "nc: 3").replace(names_line, expected)
    assert "null" not in yaml.read_text()
    assert open_dataset(yaml).classes == ["cat", "dog", "bird"]


def test_classes_txt_written_only_when_the_names_differ(tmp_path):
    (tmp_path / "images").mkdir()
    write_image(tmp_path / "images" / "a.png")
    classes = tmp_path / "classes.txt"
    classes.write_text("cat\ndog\n")
    before = _age(classes)
    ds = open_dataset(tmp_path)
    ds.classes_dirty = True
    assert save_dataset(ds) == [] and classes.stat().st_mtime_ns == before[classes]
    ds.classes.append("bird")
    ds.classes_dirty = True
    assert save_dataset(ds) == [classes] and classes.read_text() == "cat\ndog\nbird\n"


def _coco_interleaved(tmp_path: Path) -> Path:
    """Two images whose annotations interleave (1, 2, 1), as other tools write them."""
    for name in ("a.png", "b.png"):
        write_image(tmp_path / name)
    images = [
        {"id": 1, "file_name": "a.png", "width": 64, "height": 48},
        {"id": 2, "file_name": "b.png", "width": 64, "height": 48},
    ]
    anns = [
        {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10], "iscrowd": 0, "area": 100},
        {"id": 2, "image_id": 2, "category_id": 1, "bbox": [2, 2, 10, 10], "iscrowd": 0, "tool": "kept"},
        {"id": 3, "image_id": 1, "category_id": 1, "bbox": [20, 20, 5, 5], "iscrowd": 0},
    ]
    return coco_json(tmp_path / "instances_val.json", images, anns, [{"id": 1, "name": "thing"}])


def test_coco_unchanged_json_is_not_rewritten_and_an_edit_keeps_the_order(tmp_path):
    path = _coco_interleaved(tmp_path)
    before = _age(path)
    ds = open_dataset(path)
    for rec in ds:
        rec.ensure_loaded()
        rec.set_instances([i.copy() for i in rec.instances])  # marked dirty, same labels
    ds.classes_dirty = True
    assert save_dataset(ds) == [] and path.stat().st_mtime_ns == before[path]
    rec = next(r for r in ds if r.path.name == "a.png")
    moved = rec.instances[1].copy()
    moved.box = moved.box + 1
    rec.set_instances([rec.instances[0], moved])
    assert save_dataset(ds) == [path]
    anns = json.loads(path.read_text())["annotations"]
    assert [a["id"] for a in anns] == [1, 2, 3]  # the moved box is still annotation 3, in its place
    assert anns[0] == {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 10, 10], "iscrowd": 0, "area": 100}
    assert {"id": 2, "image_id": 2, "category_id": 1, "bbox": [2, 2, 10, 10], "iscrowd": 0, "tool": "kept"} in anns
    assert anns[2] == {"id": 3, "image_id": 1, "category_id": 1, "bbox": [21, 21, 5, 5], "iscrowd": 0, "area": 25}
    rec.set_instances([*rec.instances, Instance(0, [30, 30, 40, 40])])  # a new box gets a fresh id after its image's
    assert save_dataset(ds) == [path]
    assert [a["id"] for a in json.loads(path.read_text())["annotations"]] == [1, 2, 3, 4]


@pytest.mark.parametrize(
    "style",
    [
        {"indent": 4},
        {"indent": "\t", "ensure_ascii": False},
        {"indent": 2, "end": "\n"},
        {"indent": 2, "crlf": True, "end": "\r\n"},
        {},  # json.dump's default: one line, ", " and ": "
        {"separators": (",", ":")},
        {"indent": 1, "sort_keys": True, "separators": (",", ": ")},
    ],
)
def test_coco_edit_of_one_box_changes_only_that_box_whatever_the_files_formatting(tmp_path, style):
    """indent 4, tabs, \\u escapes, CRLF, a final newline or none, spaced separators: all
    kept, so a diff shows the edited box and its area and nothing else."""
    for name in ("a.jpg", "b.jpg"):
        write_image(tmp_path / name)
    data = {
        "info": {"description": "caf\u00e9 \u2013 cams", "year": 2024},
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 64, "height": 48, "extra": None},
            {"id": 2, "file_name": "b.jpg", "width": 64, "height": 48},
        ],
        "annotations": [
            {
                "id": 7,
                "image_id": 1,
                "category_id": 3,
                "bbox": [1.5, 2, 10, 10],
                "area": 100,
                "iscrowd": 0,
                "segmentation": [[1.5, 2, 11.5, 2, 11.5, 12]],
                "tool": {"by": "Zo\u00eb"},
            },
            {"id": 8, "image_id": 2, "category_id": 3, "bbox": [3, 3, 5, 5], "area": 25, "iscrowd": 0},
            {"id": 9, "image_id": 1, "category_id": 3, "bbox": [30, 20, 4, 4], "area": 16, "iscrowd": 0},
        ],
        "categories": [{"id": 3, "name": "caf\u00e9", "supercategory": "x"}],
    }
    opts = {k: v for k, v in style.items() if k not in ("crlf", "end")}
    text = json.dumps(data, **opts) + style.get("end", "")
    if style.get("crlf"):
        text = text.replace("\n", "\r\n")
    path = tmp_path / "instances_train.json"
    path.write_bytes(text.encode("utf-8"))
    ds = open_dataset(path)
    rec = next(r for r in ds if r.path.name == "a.jpg")
    rec.ensure_loaded()
    moved = rec.instances[0].copy()
    moved.box = moved.box + [1, 0, 0, 0]
    rec.set_instances([moved, rec.instances[1]])
    assert save_dataset(ds) == [path]
    after = path.read_bytes().decode("utf-8")
    expected = json.loads(text)
    expected["annotations"][0].update(bbox=[2.5, 2, 9, 10], area=90)
    opts_after = dict(opts)
    if "sort_keys" in opts_after:  # the file's own (sorted) order is kept, nothing is re-sorted
        opts_after.pop("sort_keys")
        expected = json.loads(json.dumps(expected, sort_keys=True))
    want = json.dumps(expected, **opts_after) + style.get("end", "")
    if style.get("crlf"):
        want = want.replace("\n", "\r\n")
    assert after == want


# --------------------------------------------------------------------------- failures


def _fail_writes(monkeypatch, code: int) -> None:
    def refuse(path, data):
        raise OSError(code, os.strerror(code), f"{path}.tmp-sibling")

    monkeypatch.setattr("workbench.core.atomic._replace_with", refuse)


def _make_read_only(monkeypatch, path: Path) -> None:
    """chmod the file read-only; as root (which ignores permissions) simulate the refusal instead."""
    if os.geteuid() == 0:
        _fail_writes(monkeypatch, errno.EACCES)
    else:
        path.chmod(0o444)


@pytest.mark.parametrize("failure", ["read-only", "disk full"])
def test_a_failed_write_names_the_label_file_and_keeps_it_intact(tmp_path, monkeypatch, failure):
    yaml = _dataset(tmp_path, {"a": b"0 0.5 0.5 0.2 0.2\n"})
    ds = open_dataset(yaml)
    rec = _record(ds, "a")
    if failure == "read-only":
        _make_read_only(monkeypatch, rec.label_path)
    else:
        _fail_writes(monkeypatch, errno.ENOSPC)
    rec.set_instances([])
    with pytest.raises(OSError) as info:
        save_dataset(ds)
    assert info.value.filename == str(rec.label_path)
    assert rec.label_path.read_bytes() == b"0 0.5 0.5 0.2 0.2\n" and rec.dirty


def test_fix_changes_only_fixed_lines_and_reports_true_line_numbers(tmp_path, capsys):
    text = (
        b"0 0.5 0.5 0.25 0.25\n"  # 1 kept
        b"0 0.250000 0.25 0.1 0.1\n"  # 2 kept, six decimals stay
        b"0 0.95 0.5 0.2 0.2\n"  # 3 clipped
        b"garbage line\n"  # 4 unparseable: stays
        b"0 0.5 0.5 0 0.2\n"  # 5 zero area: deleted
        b"0 0.1 0.1 0.1 0.1\n"  # 6 kept
        b"7 0.7 0.7 0.1 0.1\n"
    )  # 7 wrong class: reported, never guessed
    yaml = _dataset(tmp_path, {"a": text, "b": b"0 0.5 0.5 0.2 0.2\n"})
    b_label = tmp_path / "labels" / "train" / "b.txt"
    before = _age(b_label)
    assert main(["validate", str(yaml), "--fix"]) == 1
    out = capsys.readouterr().out
    assert "labels/train/a.txt:3: clipped box" in out and "labels/train/a.txt:5: deleted box with no area" in out
    assert "saved 1 changed file (labels/train/a.txt); line numbers above are the lines before the fix" in out
    lines = (tmp_path / "labels" / "train" / "a.txt").read_bytes().splitlines()
    assert lines[:2] == text.splitlines()[:2] and lines[3] == b"garbage line"
    assert lines[2] != text.splitlines()[2] and lines[4:] == text.splitlines()[5:]
    # The remaining findings name the saved file's lines: the wrong class is now on line 6.
    assert lines[5].startswith(b"7 ") and "labels/train/a.txt:6: class id 7" in out
    assert "labels/train/a.txt:4:" in out  # the garbage line, still line 4
    assert b_label.stat().st_mtime_ns == before[b_label]


def test_voc_classes_txt_with_the_same_names_is_not_rewritten(tmp_path):
    root = _voc(tmp_path)
    classes = root / "classes.txt"
    classes.write_bytes(b"cat\r\ndog\r\n")
    before = _age(classes)
    ds = open_dataset(root)
    ds.classes_dirty = True  # what a class added and undone leaves behind
    assert save_dataset(ds) == [] and classes.stat().st_mtime_ns == before[classes]
    ds.classes.append("bird")
    ds.classes_dirty = True
    assert save_dataset(ds) == [classes] and open_dataset(root).classes == ["cat", "dog", "bird"]


_VOC_TWO_SPACES = """<?xml version="1.0" encoding="{encoding}"?>
<annotation verified="yes">
  <folder>JPEGImages</folder>
  <filename>a.jpg</filename>
  <source><database>Unknown</database></source>
  <size>
    <width>64</width>
    <height>48</height>
    <depth>3</depth>
  </size>
  <!-- reviewed by {reviewer} -->
  <object>
    <name>{first}</name>
    <pose>Unspecified</pose>
    <bndbox>
      <xmin>1</xmin>
      <ymin>2</ymin>
      <xmax>10</xmax>
      <ymax>12</ymax>
    </bndbox>
  </object>
  <object>
    <name>dog</name>
    <bndbox><xmin>20.5</xmin><ymin>20</ymin><xmax>30</xmax><ymax>40</ymax></bndbox>
  </object>
</annotation>
"""


@pytest.mark.parametrize(("encoding", "newline"), [("utf-8", "\n"), ("utf-8", "\r\n"), ("ISO-8859-1", "\n")])
def test_voc_edit_changes_only_the_edited_text_and_keeps_comments_declaration_and_layout(tmp_path, encoding, newline):
    """A one-box edit used to rebuild the file: declaration and comments dropped, two-space
    indentation turned into tabs, elements the object never had added."""
    root = tmp_path / "voc"
    write_image(root / "JPEGImages" / "a.jpg")
    (root / "Annotations").mkdir()
    text = _VOC_TWO_SPACES.format(encoding=encoding, reviewer="Zoë", first="café").replace("\n", newline)
    xml = root / "Annotations" / "a.xml"
    xml.write_bytes(text.encode(encoding))
    ds = open_dataset(root)
    rec = ds.records[0]
    rec.ensure_loaded()
    assert sorted(ds.classes) == ["café", "dog"]

    moved = rec.instances[1].copy()
    moved.box = moved.box + [1, 0, 0, 0]
    rec.set_instances([rec.instances[0], moved])
    assert save_dataset(ds) == [xml]
    text = text.replace("<xmin>20.5</xmin>", "<xmin>21.5</xmin>")
    assert xml.read_bytes() == text.encode(encoding)

    rec.set_instances([rec.instances[1]])  # delete the first object: its lines go, nothing else
    assert save_dataset(ds) == [xml]
    first_object = text[text.index("  <object>") : text.index("  <object>", text.index("  <object>") + 1)]
    text = text.replace(first_object, "", 1)
    assert xml.read_bytes() == text.encode(encoding)

    renamed = Instance(ds.classes.index("café"), [2, 3, 12, 13])  # a new box, class name not ASCII
    rec.set_instances([rec.instances[0], renamed])
    assert save_dataset(ds) == [xml]
    after = xml.read_bytes()
    assert after.startswith(text[: text.index("</annotation>")].rstrip().encode(encoding))
    added = after.decode(encoding)[len(text[: text.index("</annotation>")].rstrip()) :]
    assert f"{newline}  <object>{newline}    <name>café</name>" in added and f"{newline}      <xmin>2</xmin>" in added
    again = open_dataset(root).records[0]
    again.ensure_loaded()
    assert [tuple(float(v) for v in i.box) for i in again.instances] == [
        (21.5, 20.0, 30.0, 40.0),
        (2.0, 3.0, 12.0, 13.0),
    ]
    assert save_dataset(ds) == []  # saved state: nothing more to write


def _random_voc(rng) -> str:
    """A VOC file in one of several layouts, with parts, poses, broken objects and comments."""
    indent = rng.choice(["\t", "  ", ""])
    nl = rng.choice(["\n", "\r\n"]) if indent else ""
    parts = []
    for k in range(rng.randint(0, 4)):
        extra = rng.choice(
            [
                "",
                f"{nl}{indent * 2}<pose>x</pose>",
                f"{nl}{indent * 2}<difficult>{rng.choice('01')}</difficult>",
                f"{nl}{indent * 2}<part><name>h</name><bndbox><xmin>0</xmin><ymin>0</ymin><xmax>1</xmax>"
                "<ymax>1</ymax></bndbox></part>",
            ]
        )
        box = "".join(
            f"{nl}{indent * 3}<{t}>{v}</{t}>"
            for t, v in zip(("xmin", "ymin", "xmax", "ymax"), (k, k + 1, k + 10, k + 11), strict=True)
        )
        name = rng.choice(["a", "b", "c&amp;d"])
        parts.append(
            f"{nl}{indent}<object>{nl}{indent * 2}<name>{name}</name>{extra}{nl}{indent * 2}<bndbox>{box}"
            f"{nl}{indent * 2}</bndbox>{nl}{indent}</object>"
        )
        if rng.random() < 0.2:
            parts.append(f"{nl}{indent}<object><name>broken</name></object>")
        if rng.random() < 0.2:
            parts.append(f"{nl}{indent}<!-- note {k} -->")
    decl = rng.choice(["", '<?xml version="1.0"?>' + nl])
    return f"{decl}<annotation>{nl}{indent}<filename>a.jpg</filename>{''.join(parts)}{nl}</annotation>{nl}"


def test_voc_random_edits_read_back_as_edited_and_keep_comments_and_broken_objects(tmp_path):
    import random

    rng = random.Random(7)
    for trial in range(60):
        root = tmp_path / f"t{trial}"
        write_image(root / "JPEGImages" / "a.jpg")
        (root / "Annotations").mkdir()
        text = _random_voc(rng)
        xml = root / "Annotations" / "a.xml"
        xml.write_bytes(text.encode())
        (root / "classes.txt").write_text("a\nb\nc&d\nbroken\n")
        ds = open_dataset(root)
        rec = ds.records[0]
        rec.ensure_loaded()
        for _ in range(4):
            instances = [i.copy() for i in rec.instances]
            op = rng.random()
            if instances and op < 0.3:
                del instances[rng.randrange(len(instances))]
            elif op < 0.6:
                new = Instance(rng.randrange(3), [rng.randint(0, 20), 1, 30, 40.5], iscrowd=rng.random() < 0.3)
                instances.insert(rng.randint(0, len(instances)), new)
            elif instances:
                j = rng.randrange(len(instances))
                edited = instances[j].copy()
                edited.box = edited.box + rng.choice([0, 1, 0.25])
                edited.class_id, edited.iscrowd = rng.randrange(3), rng.random() < 0.5
                instances[j] = edited
            expected = [(ds.classes[i.class_id], tuple(i.box), i.iscrowd) for i in instances]
            rec.set_instances(instances)
            save_dataset(ds)
            back = open_dataset(root)
            again = back.records[0]
            again.ensure_loaded()
            assert [(back.classes[i.class_id], tuple(i.box), i.iscrowd) for i in again.instances] == expected
            now = xml.read_bytes().decode()
            assert now.count("<!-- note") == text.count("<!-- note")
            assert now.count("<name>broken</name>") == text.count("<name>broken</name>")
            assert now.startswith(text[: text.index("<annotation>")])
            assert save_dataset(ds) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "train: images\nnames:\n  - cat   # first\n  - dog\n# end\n",
            "train: images\nnames:\n  - cat   # first\n  - dog\n  - bird\n# end\n",
        ),
        (
            "train: images\nnames:\n    - cat\n    - dog\nval: images\n",
            "train: images\nnames:\n    - cat\n    - dog\n    - bird\nval: images\n",
        ),
        (
            "train: images\nnames:\n    0: cat\n    1: dog\n",
            "train: images\nnames:\n    0: cat\n    1: dog\n    2: bird\n",
        ),
        (
            "names:\n  0: cat  # c\n  1: dog  # d\n\n# splits\ntrain: images\n",
            "names:\n  0: cat  # c\n  1: dog  # d\n  2: bird\n\n# splits\ntrain: images\n",
        ),
        (
            "train: images\r\nnames:\r\n  - cat\r\n  - dog\r\n",
            "train: images\r\nnames:\r\n  - cat\r\n  - dog\r\n  - bird\r\n",
        ),
        ("train: images\nnames: [cat, dog]", "train: images\nnames: [cat, dog, bird]"),
    ],
)
def test_added_class_keeps_the_yamls_indentation_line_endings_and_final_newline(tmp_path, text, expected):
    """ruamel.yaml's default layout rewrote every line of an indented names list, every
    CRLF line end, and added a final newline the file did not have."""
    yaml = _dataset(tmp_path, {"a": b"0 0.5 0.5 0.2 0.2\n"}, text)
    yaml.write_bytes(text.encode())
    ds = open_dataset(yaml)
    ds.classes.append("bird")
    ds.classes_dirty = True
    assert save_dataset(ds) == [yaml]
    assert yaml.read_bytes().decode() == expected


@pytest.mark.parametrize("fmt", ["yolo", "voc"])
@pytest.mark.parametrize("old", ["\ufeffcat\r\ndog\r\n", "cat\ndog", "cat\r\ndog"])
def test_added_class_keeps_classes_txt_line_ends_bom_and_final_newline(tmp_path, fmt, old):
    if fmt == "yolo":
        write_image(tmp_path / "images" / "a.jpg")
        (tmp_path / "labels").mkdir()
        (tmp_path / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
        classes = tmp_path / "classes.txt"
    else:
        write_image(tmp_path / "JPEGImages" / "a.jpg")
        (tmp_path / "Annotations").mkdir()
        (tmp_path / "Annotations" / "a.xml").write_text(voc_xml("a.jpg", [("cat", (1, 1, 9, 9), 0)]))
        classes = tmp_path / "classes.txt"
    classes.write_bytes(old.encode())
    ds = open_dataset(tmp_path)
    assert ds.classes == ["cat", "dog"]
    ds.classes.append("bird")
    ds.classes_dirty = True
    assert classes in save_dataset(ds)
    newline = "\r\n" if "\r\n" in old else "\n"
    assert classes.read_bytes().decode() == old + (newline if not old.endswith("\n") else "") + "bird" + (
        newline if old.endswith("\n") else ""
    )

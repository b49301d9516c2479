"""Fuzzing every text parser: whatever the bytes, a reader returns findings or raises DatasetError.

A label file, a COCO json, a VOC xml or a data.yaml written by another tool (or
half-written by a crash) must never take the program down with a traceback.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml
from _dataset_builders import write_image
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.formats import save_dataset
from workbench.formats.base import DatasetError
from workbench.formats.coco import read_coco
from workbench.formats.voc import read_voc
from workbench.formats.yolo import read_yolo
from workbench.formats.yolo_labels import LabelLayout, parse_label_text

# The suite runs a fixed set of examples (derandomized: no flaky failures in CI);
# WORKBENCH_FUZZ_EXAMPLES=2000 runs a deeper random search.
DEEP = os.environ.get("WORKBENCH_FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(DEEP or 60),
    derandomize=DEEP is None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
LAYOUTS = [LabelLayout("det"), LabelLayout("pose", 2, 3), LabelLayout("pose", 2, 2), LabelLayout("face", 2, 2)]

numberish = st.one_of(
    st.integers(-3, 3).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["-1", "0.5", "1e999", "nan", "-0", "1.0", "2", "x", "", "0x1"]),
)
label_text = st.lists(st.lists(numberish, max_size=12).map(" ".join), max_size=6).map("\n".join)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10**20) | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@FUZZ
@given(st.one_of(st.text(), label_text), st.sampled_from(LAYOUTS))
def test_label_text_parser_accounts_for_every_line(text: str, layout: LabelLayout):
    parsed = parse_label_text(text, layout, 64, 48)
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(parsed.instances) + len(parsed.extra_lines) == len(lines)
    assert all(1 <= issue.line <= len(text.splitlines()) for issue in parsed.issues)
    for inst in parsed.instances:
        assert inst.box.shape == (4,) and all(math.isfinite(v) for v in inst.box)
        if layout.kind != "det":
            assert inst.keypoints.shape == (2, 3)


@pytest.mark.parametrize("line", ["0 0 0 0 10E306", "0 0.5 0.5 0.1 0.1 1e308 0.5 2 0.5 0.5 2"])
def test_overflowing_values_are_not_read_as_infinite_boxes(line: str):
    parsed = parse_label_text(line, LabelLayout("pose", 2, 3) if len(line.split()) > 5 else LabelLayout("det"), 64, 48)
    for inst in parsed.instances:
        assert all(math.isfinite(v) for v in inst.box)
        assert inst.keypoints is None or all(math.isfinite(v) for v in inst.keypoints.reshape(-1))


@FUZZ
@given(st.binary(max_size=200))
def test_yolo_label_bytes_never_crash_the_reader(data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_image(root / "images" / "train" / "a.png", 16, 16)
        (root / "labels" / "train").mkdir(parents=True)
        (root / "labels" / "train" / "a.txt").write_bytes(data)
        (root / "data.yaml").write_text("train: images/train\nnames: [a, b]\n")
        ds = read_yolo(root / "data.yaml").load_all()
        rec = ds.records[0]
        rec.set_instances(list(rec.instances))
        save_dataset(ds)  # unreadable lines are written back, not lost; bytes that are not UTF-8 kept as they were
        text = (root / "labels" / "train" / "a.txt").read_bytes().decode("utf-8", "replace")
        assert all(line in text for line in rec.extra_lines)


# Huge counts are pinned by the memory bomb cases below, in a child with capped memory.
yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 50) | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4) | st.integers(0, 5), inner, max_size=4)
    ),
    max_leaves=12,
)
yaml_configs = st.dictionaries(
    st.sampled_from(
        ["path", "train", "val", "test", "names", "nc", "kpt_shape", "flip_idx", "kpt_names", "skeleton", "kpt_sigmas"]
    ),
    yaml_values,
    max_size=6,
)


@FUZZ
@given(st.one_of(st.text(max_size=200), yaml_configs.map(lambda d: yaml.safe_dump(d, allow_unicode=True))))
def test_data_yaml_text_raises_only_dataset_error(text: str):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_image(root / "images" / "a.png", 16, 16)
        cfg = root / "data.yaml"
        cfg.write_text(text, encoding="utf-8")
        try:
            read_yolo(cfg).load_all()
        except DatasetError:
            pass


MEMORY_BOMBS = ["nc: 100000000000\n", "names: {0: a, 100000000000: b}\n", "names: [a]\nkpt_shape: [100000000000, 3]\n"]


@pytest.mark.parametrize("config", MEMORY_BOMBS)
def test_huge_counts_in_the_yaml_are_refused_not_allocated(config: str, tmp_path: Path):
    write_image(tmp_path / "images" / "a.png", 16, 16)
    (tmp_path / "data.yaml").write_text("train: images\n" + config)
    # In a child with 1 GiB of address space, so the bomb cannot take the test machine down.
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
        "from workbench.formats.base import DatasetError\n"
        "from workbench.formats.yolo import read_yolo\n"
        "try:\n    read_yolo(__import__('pathlib').Path(sys.argv[1]))\n"
        "except DatasetError:\n    sys.exit(2)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "data.yaml")],
        capture_output=True,
        timeout=60,
        cwd=Path(__file__).parents[1],
    )
    assert done.returncode in (0, 2), done.stderr.decode()[-300:]


YOLO_YAML_BUGS = [
    "kpt_shape: [2, 3]\nflip_idx: [a, 1]\n",
    "kpt_shape: [2, 3]\nflip_idx: [null, 1]\n",
    "kpt_shape: [2, 3]\nflip_idx: [.inf, 1]\n",
    "kpt_shape: [2, 3]\nskeleton: [[1]]\n",
    "kpt_shape: [2, 3]\nskeleton: [[1, x]]\n",
    "kpt_shape: [2, 3]\nkpt_sigmas: [x, y]\n",
    "kpt_shape: [.inf, 3]\n",
    "path: ~nosuchuser/x\n",
    "path: " + "x" * 300 + "\n",  # OSError: file name too long, from Path.is_dir
]


@pytest.mark.parametrize("extra", YOLO_YAML_BUGS)
def test_known_yaml_values_that_escape_as_exceptions(extra: str, tmp_path: Path):
    write_image(tmp_path / "images" / "a.png", 16, 16)
    cfg = tmp_path / "data.yaml"
    cfg.write_text("train: images\nnames: [a]\n" + extra)
    try:
        read_yolo(cfg).load_all()
    except DatasetError:
        pass


def _coco_documents() -> st.SearchStrategy[dict]:
    image = st.fixed_dictionaries(
        {"id": json_values | st.integers(0, 3), "file_name": st.just("a.png") | json_values},
        optional={"width": json_values | st.just(16), "height": json_values},
    )
    ann = st.fixed_dictionaries(
        {
            "image_id": st.integers(0, 3) | json_values,
            "category_id": st.integers(0, 3) | json_values,
            "bbox": st.lists(st.floats() | st.integers(-5, 20), max_size=5) | json_values,
        },
        optional={
            "id": json_values,
            "keypoints": st.lists(st.integers(0, 5), max_size=7) | json_values,
            "iscrowd": json_values,
        },
    )
    cat = st.fixed_dictionaries(
        {"id": st.integers(0, 3) | json_values, "name": json_values},
        optional={
            "keypoints": st.lists(st.text(max_size=3), max_size=2) | json_values,
            "skeleton": json_values,
            "flip_idx": json_values,
            "sigmas": json_values,
        },
    )
    return st.fixed_dictionaries(
        {"images": st.lists(image | json_values, max_size=3)},
        optional={
            "annotations": st.lists(ann | json_values, max_size=4),
            "categories": st.lists(cat | json_values, max_size=3),
        },
    )


@FUZZ
@given(
    st.one_of(
        st.text(max_size=200), _coco_documents().map(json.dumps), json_values.map(lambda v: json.dumps({"images": v}))
    )
)
def test_coco_json_text_raises_only_dataset_error(text: str):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_image(root / "a.png", 16, 16)
        path = root / "c.json"
        path.write_text(text, encoding="utf-8")
        try:
            ds = read_coco(path).load_all()
        except DatasetError:
            return
        if ds.records:
            rec = ds.records[0]
            rec.set_instances(list(rec.instances))
            save_dataset(ds)
            read_coco(path).load_all()  # what was saved still opens


xml_text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=8)
voc_objects = st.lists(
    st.tuples(xml_text | st.just("cat"), st.lists(numberish | st.just("5"), min_size=4, max_size=4), xml_text),
    max_size=3,
)


def _voc_text(objects: list[tuple[str, list[str], str]], width: str) -> str:
    def esc(s: str) -> str:
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    body = "".join(
        f"<object><name>{esc(n)}</name><difficult>{esc(d)}</difficult><bndbox><xmin>{esc(b[0])}</xmin>"
        f"<ymin>{esc(b[1])}</ymin><xmax>{esc(b[2])}</xmax><ymax>{esc(b[3])}</ymax></bndbox></object>"
        for n, b, d in objects
    )
    return f"<annotation><size><width>{esc(width)}</width><height>16</height></size>{body}</annotation>"


@FUZZ
@given(st.one_of(st.binary(max_size=200), st.builds(_voc_text, voc_objects, numberish).map(str.encode)))
def test_voc_xml_never_crashes_the_reader(data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_image(root / "a.png", 16, 16)
        (root / "a.xml").write_bytes(data)
        ds = read_voc(root).load_all()
        rec = ds.records[0]
        assert all(f.label_file == "a.xml" for f in rec.findings if f.kind.startswith("voc_"))
        rec.set_instances(list(rec.instances))
        save_dataset(ds)
        assert len(read_voc(root).load_all().records[0].instances) == len(rec.instances)

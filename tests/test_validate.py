"""Every validation kind, found with its file and line, on datasets written per test."""

from __future__ import annotations

import gc
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_validate_data import grid_boxes, make_yolo

from workbench.core.annotation import Instance
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import ClipBox, DeleteInstance
from workbench.core.gc_pause import paused_gc
from workbench.formats.registry import open_dataset
from workbench.qa import validate_dataset, validate_record
from workbench.qa.parallel import worker_count

OK = "0 0.5 0.5 0.25 0.25\n"
FACE_OK = "0 0.5 0.5 0.5 0.5 0.4 0.4 0.6 0.4 0.5 0.5 0.4 0.6 0.6 0.6\n"


def findings_of(yaml: Path, **kw) -> list[Finding]:
    return validate_dataset(open_dataset(yaml), **kw)


def only(findings: list[Finding], kind: str) -> list[Finding]:
    return [f for f in findings if f.kind == kind]


def one(findings: list[Finding], kind: str) -> Finding:
    found = only(findings, kind)
    assert len(found) == 1, [str(f) for f in findings]
    return found[0]


def test_clean_dataset_has_no_findings(tmp_path):
    yaml = make_yolo(tmp_path, {"a": OK, "b": "0 0.25 0.25 0.5 0.5\n0 0.75 0.75 0.4 0.4\n"})
    assert findings_of(yaml) == []


def test_yolov5_face_class_out_of_range_names_config_file_and_line(tmp_path):
    yaml = make_yolo(tmp_path, {"a": FACE_OK + "5" + FACE_OK[1:]}, names=["face"], nc=1, yaml_name="widerface.yaml")
    ds = open_dataset(yaml)
    assert ds.format == "yolo-face"
    f = one(validate_dataset(ds), "class_out_of_range")
    assert (f.severity, f.label_file, f.line, f.instance) == (Severity.ERROR, "labels/train/a.txt", 2, 1)
    assert "class id 5 is outside 0..0 (nc=1 in widerface.yaml)" in f.message
    assert f.location() == "labels/train/a.txt:2"


def test_negative_class_is_out_of_range(tmp_path):
    f = one(findings_of(make_yolo(tmp_path, {"a": OK + "-1 0.5 0.5 0.2 0.2\n"})), "class_out_of_range")
    assert f.line == 2 and "class id -1" in f.message


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        ("0.5 0.5 0.5 0.2 0.2", "class_not_integer"),
        ("0 0.5 0.5 0.2", "column_count"),
        ("0 abc 0.5 0.2 0.2", "not_a_number"),
        ("0 32 24 10 10", "not_normalized"),
    ],
)
def test_reader_line_kinds_surface_with_file_and_line(tmp_path, line, kind):
    f = one(findings_of(make_yolo(tmp_path, {"a": OK + line + "\n"})), kind)
    assert (f.severity, f.label_file, f.line) == (Severity.ERROR, "labels/train/a.txt", 2)


def test_degenerate_box_is_an_error_with_a_safe_delete(tmp_path):
    f = one(findings_of(make_yolo(tmp_path, {"a": OK + "0 0.5 0.5 0 0.2\n"})), "degenerate_box")
    assert (f.severity, f.line) == (Severity.ERROR, 2)
    assert f.fix == DeleteInstance(1, safe=True)


def test_box_outside_image(tmp_path):
    yaml = make_yolo(tmp_path, {"a": "0 0.95 0.5 0.2 0.2\n"})
    f = one(findings_of(yaml), "box_outside_image")
    assert f.severity == Severity.WARNING and f.fix == ClipBox(0) and "64x48" in f.message


def test_exact_and_near_duplicates(tmp_path):
    near = "0 0.501 0.5 0.25 0.25\n"
    found = only(findings_of(make_yolo(tmp_path, {"a": OK + OK + near})), "duplicate")
    assert [(f.line, f.fix.safe) for f in found] == [(2, True), (3, False)]
    assert "exact duplicate of line 1" in found[0].message
    assert found[1].fix == DeleteInstance(2, safe=False, duplicate_of=0) and "IoU" in found[1].message


def test_duplicates_among_many_instances(tmp_path):
    lines = grid_boxes(20, 0)
    found = only(findings_of(make_yolo(tmp_path, {"a": "\n".join(lines + [lines[7]]) + "\n"})), "duplicate")
    assert [(f.line, f.fix.duplicate_of) for f in found] == [(21, 7)]


def test_keypoint_half_missing_in_face_labels(tmp_path):
    bad = "0 0.5 0.5 0.5 0.5 -1 0.4 0.6 0.4 0.5 0.5 0.4 0.6 0.6 0.6\n"
    f = one(findings_of(make_yolo(tmp_path, {"a": FACE_OK + bad}, names=["face"])), "keypoint_half_missing")
    assert (f.line, f.instance) == (2, 1)


def test_keypoint_outside_box_only_for_visible_points(tmp_path):
    # Box 0.4..0.6 wide; point 0 visible far outside, point 1 occluded far outside.
    line = "0 0.5 0.5 0.2 0.2 0.95 0.95 2 0.05 0.05 1 0.5 0.5 2\n"
    f = one(findings_of(make_yolo(tmp_path, {"a": line}, kpt_shape=[3, 3])), "keypoint_outside_box")
    assert f.severity == Severity.WARNING and f.line == 1 and "keypoint 1 (" in f.message


def test_bad_visibility(tmp_path):
    line = "0 0.5 0.5 0.2 0.2 0.5 0.5 3\n"
    f = one(findings_of(make_yolo(tmp_path, {"a": line}, kpt_shape=[1, 3])), "bad_visibility")
    assert f.line == 1


def test_missing_and_miscounted_keypoints_after_an_edit(tmp_path):
    ds = open_dataset(make_yolo(tmp_path, {"a": "0 0.5 0.5 0.2 0.2 0.5 0.5 2\n"}, kpt_shape=[1, 3]))
    rec = ds.records[0].ensure_loaded()
    rec.set_instances(rec.instances + [Instance(0, [1, 1, 10, 10]), Instance(0, [20, 20, 30, 30], np.zeros((2, 3)))])
    found = validate_record(ds, rec)
    assert one(found, "missing_keypoints").instance == 1
    assert one(found, "keypoint_count").instance == 2


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty"),
        (None, "truncated"),  # a JPEG cut in half
        (b"not an image at all", "not a readable image"),
    ],
)
def test_corrupt_image(tmp_path, data, problem):
    yaml = make_yolo(tmp_path, {"a": OK})
    img = tmp_path / "images" / "train" / "a.jpg"
    img.write_bytes(img.read_bytes()[: len(img.read_bytes()) // 2] if data is None else data)
    f = one(findings_of(yaml), "corrupt_image")
    assert f.severity == Severity.ERROR and problem in f.message and f.image == "images/train/a.jpg"


def test_tiny_image(tmp_path):
    yaml = make_yolo(tmp_path, {"a": OK, "b": OK}, sizes={"b": (20, 16)})
    f = one(findings_of(yaml), "tiny_image")
    assert f.image == "images/train/b.jpg" and "20x16" in f.message
    assert only(findings_of(yaml, check_images=False), "tiny_image") == []


def test_missing_image_and_unlabeled_image(tmp_path):
    yaml = make_yolo(tmp_path, {"a": OK, "b": None})
    (tmp_path / "labels" / "train" / "gone.txt").write_text(OK)
    found = findings_of(yaml)
    missing = one(found, "missing_image")
    assert missing.label_file == "labels/train/gone.txt" and missing.image is None
    unlabeled = one(found, "unlabeled_image")
    assert unlabeled.severity == Severity.INFO and unlabeled.image == "images/train/b.jpg"


def test_names_mismatch(tmp_path):
    f = one(findings_of(make_yolo(tmp_path, {"a": OK}, names=["a"], nc=2)), "names_mismatch")
    assert f.severity == Severity.ERROR and f.label_file == "data.yaml"


def test_rare_class_fires_on_a_typo_among_many(tmp_path):
    labels = {f"img{i}": "\n".join(grid_boxes(30, i % 2)) + "\n" for i in range(4)}
    labels["img0"] += "2 0.5 0.95 0.05 0.05\n"
    f = one(findings_of(make_yolo(tmp_path, labels, names=["a", "b", "c"])), "rare_class")
    assert (f.severity, f.label_file, f.line) == (Severity.WARNING, "labels/train/img0.txt", 31)
    assert "only 1 instance" in f.message and "median class has 60" in f.message


def test_rare_class_is_silent_on_small_datasets(tmp_path):
    labels = {"a": "\n".join(grid_boxes(10, 0)) + "\n1 0.5 0.95 0.05 0.05\n"}
    assert only(findings_of(make_yolo(tmp_path, labels, names=["a", "b"])), "rare_class") == []


def test_empty_class(tmp_path):
    f = one(findings_of(make_yolo(tmp_path, {"a": OK}, names=["a", "b"])), "empty_class")
    assert f.severity == Severity.INFO and "class 1 (b)" in f.message


def test_findings_are_sorted_errors_first_then_file_and_line(tmp_path):
    yaml = make_yolo(tmp_path, {"b": "0 0.95 0.5 0.2 0.2\n3 0.5 0.5 0.1 0.1\n", "a": "0 0.5 0.5 0 0\n" + OK, "c": None})
    found = findings_of(yaml)
    assert [f.severity.rank for f in found] == sorted(f.severity.rank for f in found)
    errors = [(f.label_file, f.line) for f in found if f.severity == Severity.ERROR]
    assert errors == [("labels/train/a.txt", 1), ("labels/train/b.txt", 2)]


def test_validate_record_checks_edits_in_memory_and_drops_stale_reader_findings(tmp_path):
    ds = open_dataset(make_yolo(tmp_path, {"a": "0 32 24 10 10\n0 0.5 0.5 0.2\n"}))
    rec = ds.records[0].ensure_loaded()
    assert {f.kind for f in validate_record(ds, rec)} == {"not_normalized", "column_count", "box_outside_image"}
    rec.set_instances([Instance(7, [10, 10, 20, 20])])  # the user fixed the box, typed a bad class
    (tmp_path / "labels" / "train" / "a.txt").write_text("garbage\n")  # must not be re-read
    kinds = {f.kind for f in validate_record(ds, rec)}
    assert kinds == {"column_count", "class_out_of_range"}  # the unparsed line is still in extra_lines


# pytest-qt loads Qt into this process, and a process with Qt never forks (see
# qa/parallel.py), so the worker processes are exercised in a fresh interpreter.
_FORK_SCRIPT = """
import os, sys
from workbench.formats.registry import open_dataset
from workbench.qa import validate_dataset
from workbench.qa.parallel import map_records, worker_count

PARENT = os.getpid()

def size(ds, i):
    rec = ds.records[i].ensure_loaded()
    return rec.width, rec.height

def dies_in_a_worker(ds, i):
    if os.getpid() != PARENT:
        os._exit(1)
    return i

yaml = sys.argv[1]
ds = open_dataset(yaml)
assert worker_count(2, len(ds)) == 2, "this interpreter should fork"
serial = validate_dataset(open_dataset(yaml), workers=1)
forked = validate_dataset(ds, workers=2)
assert forked == serial and len(serial) == 20, (len(serial), len(forked))
assert not any(r.loaded for r in ds.records), "records checked in workers stay unloaded here"
assert map_records(ds, size, list(range(30)), workers=2) == [(64, 48)] * 30
assert map_records(ds, dies_in_a_worker, list(range(6)), workers=2) == list(range(6))
print("ok")
"""


def test_worker_processes_give_the_same_findings_and_survive_a_killed_worker(tmp_path):
    labels = {f"i{i}": OK if i % 3 else "0 0.5 0.5 0 0\n5 0.5 0.5 0.2 0.2\n" for i in range(30)}
    yaml = make_yolo(tmp_path, labels)
    script = tmp_path / "fork_check.py"
    script.write_text(_FORK_SCRIPT)
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, str(script), str(yaml)], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_no_fork_with_qt_loaded_or_off_the_main_thread():
    import threading

    pytest.importorskip("PySide6.QtCore")
    assert worker_count(2, 100) == 1
    result: list[int] = []
    t = threading.Thread(target=lambda: result.append(worker_count(2, 100)))
    t.start()
    t.join()
    assert result == [1]


def test_real_coco8_has_no_errors(coco8, coco8_pose):
    for yaml in (coco8, coco8_pose):
        found = findings_of(yaml)
        assert not [f for f in found if f.severity == Severity.ERROR], [str(f) for f in found]
    assert {f.kind for f in findings_of(coco8)} == {"empty_class"}  # 8 images cannot show 80 classes


def test_coco_instances_are_named_by_annotation_id(tmp_path):
    from workbench.formats.registry import export_dataset
    from workbench.qa.instance_finding import annotation_id

    out = export_dataset(open_dataset(make_yolo(tmp_path / "y", {"a": OK + OK})), "coco", tmp_path / "c")
    f = one(findings_of(out if out.suffix == ".json" else tmp_path / "c"), "duplicate")
    assert f.line is None and f.image.endswith("a.jpg") and f.label_file.endswith(".json")
    assert f.message.startswith("annotation id ") and f.instance == 1
    # Each instance carries its own id; once the image is edited, instances may have moved or
    # been drawn, so no id is named.
    ds = open_dataset(out)
    rec = ds.records[0].ensure_loaded()
    ids = [inst.source.annotation_id for inst in rec.instances]
    assert len(set(ids)) == 2 and all(isinstance(i, int) for i in ids)
    assert annotation_id(rec, 1) == f"annotation id {ids[1]}: "
    rec.set_instances(rec.instances[::-1])
    assert annotation_id(rec, 1) == ""


def test_paused_gc_restores_the_collector_as_it_was(tmp_path):
    yaml = make_yolo(tmp_path, {"a": OK})
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block does not switch it on under the outer one
    assert gc.isenabled()
    validate_dataset(open_dataset(yaml))
    assert gc.isenabled()
    gc.disable()
    try:
        validate_dataset(open_dataset(yaml))  # a program that runs without the collector keeps it off
        with paused_gc():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_paused_gc_leaves_objects_the_program_froze_frozen():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with paused_gc():
            kept = [[i] for i in range(1000)]
        assert gc.get_freeze_count() == frozen and kept
    finally:
        gc.unfreeze()


def test_validation_benchmark_runs_and_ends_with_one_json_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the benchmark sets it; restored after
    bench = runpy.run_path(str(Path(__file__).resolve().parents[1] / "benchmarks" / "validate.py"))
    assert bench["main"](["--n", "24", "--repeats", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert result["n"] == 24 and result["repeats"] == 1
    for key in ("ours_s", "baseline_s", "speedup", "cached_s", "cached_speedup", "open_s"):
        assert result[key] > 0, key
    for key in ("ours_cpu_s", "baseline_cpu_s", "cached_cpu_s"):  # os.times() counts in 10 ms ticks
        assert result[key] >= 0, key
    assert any("warm cache" in line for line in lines[:-1])


@pytest.mark.parametrize("kpt_shape", [None, [2, 3]])
def test_findings_are_the_same_with_the_careful_label_parser(tmp_path, monkeypatch, kpt_shape):
    """End to end, file and line included: the fast label parse changes no finding."""
    import workbench.formats.yolo as yolo
    from tests._careful_parse import parse_label_text_careful

    tail = " 0.5 0.5 2 0.6 0.6 1" if kpt_shape else ""
    lines = [
        f"0 0.5 0.5 0.25 0.25{tail}",
        f"1 0.5 0.5 0.25 0.25{tail}",
        f"0 0.5 0.5 0.25 0.25{tail}",
        f"7 0.2 0.2 0.1 0.1{tail}",
        f"0.5 0.2 0.2 0.1 0.1{tail}",
        f"0 1.5 0.2 0.1 0.1{tail}",
        f"0 0.2 0.2 0 0{tail}",
        f"0 nan 0.2 0.1 0.1{tail}",
        "0 0.2 0.2",
        f"x 0.2 0.2 0.1 0.1{tail}",
        f"0 0.99 0.99 0.2 0.2{tail}",
        f"-1 0.3 0.3 0.1 0.1{tail}",
        "",
    ]
    if kpt_shape:
        lines += ["0 0.5 0.5 0.2 0.2 0.5 0.5 3 0.1 0.1 2", "0 0.5 0.5 0.2 0.2 0.5 0.5 2 5 5 2"]
    labels = {f"i{i}": "\n".join(lines[i % len(lines) :] + lines[: i % 3]) + "\n" for i in range(24)}
    yaml = make_yolo(tmp_path, labels, names=["a", "b"], kpt_shape=kpt_shape)

    def everything() -> list[dict]:
        return [f.to_dict() for f in validate_dataset(open_dataset(yaml), workers=1)]

    fast = everything()
    monkeypatch.setattr(yolo, "parse_label_text", parse_label_text_careful)
    careful = everything()
    assert fast == careful
    kinds = {f["kind"] for f in fast}
    assert {
        "column_count",
        "not_a_number",
        "class_not_integer",
        "not_normalized",
        "class_out_of_range",
        "duplicate",
        "degenerate_box",
    } <= kinds, kinds

"""`workbench validate`: exit codes, human and JSON output, --fix writing only what changed."""

from __future__ import annotations

import json
import os

import pytest
from test_validate_data import make_yolo

from workbench.cli.main import main

OK = "0 0.5 0.5 0.25 0.25\n"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_clean_dataset_exits_0(tmp_path, capsys):
    assert main(["validate", str(make_yolo(tmp_path, {"a": OK}))]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_errors_exit_1_grouped_by_severity_with_file_and_line(tmp_path, capsys):
    yaml = make_yolo(tmp_path, {"a": OK + "5 0.5 0.5 0.2 0.2\n", "b": "0 0.95 0.5 0.2 0.2\n", "c": None})
    assert main(["validate", str(yaml), "--cache"]) == 1
    out = capsys.readouterr().out
    assert out.index("errors (1):") < out.index("warnings (1):") < out.index("infos (1):")
    assert "labels/train/a.txt:2: class id 5 is outside 0..0 (nc=1 in data.yaml)" in out
    assert "[class_out_of_range]" in out and "[box_outside_image]" in out
    assert out.rstrip().endswith(
        "1 error, 1 warning, 1 info (box_outside_image 1, class_out_of_range 1, unlabeled_image 1)"
    )


def test_unusable_input_exits_2_with_a_message(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    (tmp_path / "bad.yaml").write_text("train: [unclosed\n")
    assert main(["validate", str(tmp_path / "bad.yaml")]) == 2
    err = capsys.readouterr().err
    assert "no such file" in err and "bad.yaml:2: not valid YAML" in err and "Traceback" not in err


def test_json_shape(tmp_path, capsys):
    yaml = make_yolo(tmp_path, {"a": OK + "0 0.5 0.5 0 0\n"})
    assert main(["validate", str(yaml), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"findings", "summary"}
    (f,) = data["findings"]
    assert f == {
        "severity": "error",
        "kind": "degenerate_box",
        "message": f["message"],
        "image": "images/train/a.jpg",
        "label_file": "labels/train/a.txt",
        "line": 2,
        "instance": 1,
        "fix": {"action": "delete_instance", "safe": True},
    }
    assert data["summary"] == {
        "total": 1,
        "by_severity": {"error": 1, "warning": 0, "info": 0},
        "by_kind": {"degenerate_box": 1},
    }


def test_fix_rewrites_only_changed_files_atomically(tmp_path, capsys):
    yaml = make_yolo(tmp_path, {"a": OK + OK + "0 0.5 0.5 0 0\n", "b": OK, "c": "7 0.5 0.5 0.2 0.2\n"})
    labels = tmp_path / "labels" / "train"
    before = {p.name: os.stat(p) for p in labels.iterdir()}
    assert main(["validate", str(yaml), "--fix"]) == 1  # the wrong class id remains: never guessed
    out = capsys.readouterr().out
    assert "labels/train/a.txt:2: deleted exact duplicate box" in out
    assert "labels/train/a.txt:3: deleted box with no area" in out and "saved 1 changed file" in out
    assert "labels/train/c.txt:1: class id 7" in out and "degenerate_box" not in out
    assert (labels / "a.txt").read_text() == "0 0.5 0.5 0.25 0.25\n"
    after = {p.name: os.stat(p) for p in labels.iterdir()}
    assert set(after) == set(before)  # no temp files left behind
    assert after["a.txt"].st_ino != before["a.txt"].st_ino  # replaced, not rewritten in place
    for name in ("b.txt", "c.txt"):
        assert (after[name].st_ino, after[name].st_mtime_ns) == (before[name].st_ino, before[name].st_mtime_ns)
    assert main(["validate", str(yaml), "--fix"]) == 1
    assert "nothing to fix safely" in capsys.readouterr().out


def test_no_images_flag(tmp_path, capsys):
    yaml = make_yolo(tmp_path, {"a": OK}, sizes={"a": (20, 16)})
    assert main(["validate", str(yaml)]) == 0
    assert "tiny_image" in capsys.readouterr().out
    assert main(["validate", str(yaml), "--no-images"]) == 0
    assert "tiny_image" not in capsys.readouterr().out

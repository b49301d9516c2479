"""The validation cache: reused for unchanged files, ignored for changed ones."""

from __future__ import annotations

import os

import pytest
from test_validate_data import make_yolo

from workbench.formats.registry import open_dataset
from workbench.qa import validate_dataset
from workbench.qa.cache import cache_path

BAD = "0 0.5 0.5 0 0\n"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def test_second_run_reuses_results_without_loading_records(tmp_path):
    yaml = make_yolo(tmp_path / "d", {"a": BAD, "b": "0 0.5 0.5 0.2 0.2\n", "c": None}, names=["a", "b"])
    first = validate_dataset(open_dataset(yaml), cache=True)
    assert cache_path(open_dataset(yaml)).is_file()
    ds = open_dataset(yaml)
    second = validate_dataset(ds, cache=True)
    assert second == first and {f.kind for f in first} == {"degenerate_box", "unlabeled_image", "empty_class"}
    assert not any(r.loaded for r in ds.records)


def test_changed_label_file_is_checked_again(tmp_path):
    yaml = make_yolo(tmp_path / "d", {"a": BAD})
    validate_dataset(open_dataset(yaml), cache=True)
    label = tmp_path / "d" / "labels" / "train" / "a.txt"
    label.write_text("0 0.5 0.5 0.2 0.2\n3 0.5 0.5 0.2 0.2\n")
    os.utime(label, ns=(1, 1))  # a different mtime even on a coarse clock
    found = validate_dataset(open_dataset(yaml), cache=True)
    assert [(f.kind, f.line) for f in found] == [("class_out_of_range", 2)]


def test_config_change_drops_the_cache(tmp_path):
    yaml = make_yolo(tmp_path / "d", {"a": "1 0.5 0.5 0.2 0.2\n"}, names=["a", "b"])
    assert [f.kind for f in validate_dataset(open_dataset(yaml), cache=True)] == ["empty_class"]
    yaml.write_text(yaml.read_text().replace("names: ['a', 'b']", "names: ['a']"))
    kinds = [f.kind for f in validate_dataset(open_dataset(yaml), cache=True)]
    assert kinds == ["class_out_of_range", "empty_class"]


def test_unreadable_cache_file_is_ignored(tmp_path):
    yaml = make_yolo(tmp_path / "d", {"a": BAD})
    path = cache_path(open_dataset(yaml))
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    assert [f.kind for f in validate_dataset(open_dataset(yaml), cache=True)] == ["degenerate_box"]

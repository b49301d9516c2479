"""The bundled sample is deterministic, well-formed apart from its injected mistakes."""

from __future__ import annotations

from workbench.cli.main import main
from workbench.formats import open_dataset
from workbench.sample_data import INJECTED_MISTAKES, write_sample


def test_sample_is_deterministic(tmp_path):
    a = write_sample(tmp_path / "a").parent
    b = write_sample(tmp_path / "b").parent
    for f in sorted((a / "labels").rglob("*.txt")) + sorted((a / "images").rglob("*.jpg")):
        assert f.read_bytes() == (b / f.relative_to(a)).read_bytes(), f


def test_sample_content(sample_yaml):
    ds = open_dataset(sample_yaml).load_all()
    assert ds.format == "yolo-pose" and ds.classes == ["face", "robot", "alien"]
    assert ds.keypoints.names[0] == "left_eye" and ds.keypoints.flip_idx == [1, 0, 2, 4, 3]
    assert {s: len(r) for s, r in ds.splits.items()} == {"train": 36, "val": 12}
    counts = ds.class_counts()
    assert counts.min() >= 20  # every class well represented
    assert all(not r.findings for r in ds)  # the mistakes are semantic, not parse errors


def test_injected_mistakes_are_where_they_say(sample_yaml):
    ds = open_dataset(sample_yaml).load_all()
    by_name = {r.path.name: r for r in ds}
    for m in INJECTED_MISTAKES:
        rec = by_name[m.image]
        assert rec.split == m.split
        if m.kind == "class_out_of_range":
            assert rec.instances[m.line - 1].class_id == 5
        if m.kind == "class_swap":  # the description names the class written in the file
            cls = rec.instances[m.line - 1].class_id
            assert f"class {cls} ({ds.classes[cls]})" in m.description
        if m.line is not None:
            assert rec.instances[m.line - 1].source.line == m.line


def test_sample_command(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "s")]) == 0
    assert (tmp_path / "s" / "data.yaml").is_file()
    assert "validate" in capsys.readouterr().out

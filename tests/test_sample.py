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


def test_thermal_sample_is_16_bit_deterministic_and_wrong_where_it_says(tmp_path, capsys):
    import cv2
    import numpy as np

    from workbench.core.image_io import read_raw_image
    from workbench.core.input_range import resolve
    from workbench.qa import validate_dataset
    from workbench.sample_data import THERMAL_MISTAKES, write_thermal_sample

    assert main(["sample", "--thermal", str(tmp_path / "t")]) == 0
    assert "workbench validate" in capsys.readouterr().out
    a = (tmp_path / "t" / "data.yaml").parent
    b = write_thermal_sample(tmp_path / "u").parent
    files = sorted(p for p in a.rglob("*") if p.is_file() and p.suffix in (".png", ".tif", ".txt"))
    assert len(files) == 64
    for f in files:
        assert f.read_bytes() == (b / f.relative_to(a)).read_bytes(), f
    ds = open_dataset(a / "data.yaml").load_all()
    assert ds.format == "yolo" and {s: len(r) for s, r in ds.splits.items()} == {"train": 24, "val": 8}
    for rec in ds:
        raw = read_raw_image(rec.path)
        assert raw.dtype == np.uint16 and raw.ndim == 2 and 6900 < raw.min() and raw.max() < 8100
    first = ds.records[0].path
    # Decoded the ordinary 8-bit way the frame is a handful of grey levels: the case this sample is for.
    assert len(np.unique(cv2.imdecode(np.fromfile(first, np.uint8), cv2.IMREAD_COLOR))) <= 5
    warm = read_raw_image(first)
    rec = ds.records[0]
    x0, y0, x1, y1 = (int(v) for v in rec.instances[0].box)
    inside = np.median(warm[y0:y1, x0:x1])
    assert inside - np.median(warm) > 150  # warm objects a few hundred counts above the background
    chosen = resolve("auto", [r.path for r in ds.split("train")])
    assert chosen.mode == "fixed" and 7000 < chosen.lo < chosen.hi < 8100
    findings = validate_dataset(ds, workers=1)
    kinds = {f.kind for f in findings}
    assert "class_out_of_range" in kinds and "pixel_format" in kinds and "mixed_bit_depth" not in kinds
    by_name = {r.path.name: r for r in ds}
    for m in THERMAL_MISTAKES:
        assert by_name[m.image].split == m.split
        if m.kind == "class_out_of_range":
            assert by_name[m.image].instances[m.line - 1].class_id == 5

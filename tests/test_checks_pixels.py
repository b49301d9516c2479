"""Validation says what pixel formats a dataset has and warns when bit depths mix."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import tifffile
from test_validate_data import make_yolo

from workbench.core.findings import Severity
from workbench.formats.registry import open_dataset
from workbench.qa import validate_dataset


def write_png16(path, seed: int = 0) -> None:
    img = np.random.default_rng(seed).integers(7000, 8021, (48, 64)).astype(np.uint16)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    path.write_bytes(buf.tobytes())


def thermal_yolo(tmp_path, n16: int, n8: int, tiff: bool = False):
    stems = {f"t{i}": "0 0.5 0.5 0.2 0.2\n" for i in range(n16 + n8)}
    yaml = make_yolo(tmp_path, stems)
    images = tmp_path / "images" / "train"
    for i in range(n16):
        (images / f"t{i}.jpg").unlink()
        if tiff:
            tifffile.imwrite(images / f"t{i}.tif", np.full((48, 64), 7000 + i, np.uint16))
        else:
            write_png16(images / f"t{i}.png", i)
    return yaml


@pytest.mark.parametrize("workers", [1, 2])
def test_mixed_bit_depth_warns_naming_the_odd_images(tmp_path, workers):
    yaml = thermal_yolo(tmp_path, 4, 2)
    findings = validate_dataset(open_dataset(yaml), workers=workers)
    mixed = [f for f in findings if f.kind == "mixed_bit_depth"]
    assert len(mixed) == 1
    f = mixed[0]
    assert f.severity is Severity.WARNING
    assert f.message.startswith("4 images are 16-bit greyscale, 2 images are 8-bit RGB")
    assert "images/train/t4.jpg" in f.message and "images/train/t5.jpg" in f.message
    assert f.image == "images/train/t4.jpg" and f.label_file == "data.yaml"


def test_one_depth_is_reported_once_as_info(tmp_path):
    yaml = thermal_yolo(tmp_path, 3, 0, tiff=True)
    findings = validate_dataset(open_dataset(yaml), workers=1)
    info = [f for f in findings if f.kind == "pixel_format"]
    assert len(info) == 1 and info[0].severity is Severity.INFO
    assert "3 images are 16-bit greyscale" in info[0].message
    assert not [f for f in findings if f.kind == "mixed_bit_depth"]


def test_ordinary_8_bit_colour_dataset_gets_no_pixel_line(tmp_path):
    yaml = make_yolo(tmp_path, {"a": "0 0.5 0.5 0.2 0.2\n", "b": "0 0.5 0.5 0.2 0.2\n"})
    kinds = {f.kind for f in validate_dataset(open_dataset(yaml), workers=1)}
    assert not kinds & {"pixel_format", "mixed_bit_depth"}


def test_cached_validation_keeps_the_depth(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yaml = thermal_yolo(tmp_path / "d", 2, 1)
    first = validate_dataset(open_dataset(yaml), workers=1, cache=True)
    second = validate_dataset(open_dataset(yaml), workers=1, cache=True)
    assert [f.message for f in first if f.kind == "mixed_bit_depth"] == [
        f.message for f in second if f.kind == "mixed_bit_depth"
    ]
    assert any(f.kind == "mixed_bit_depth" for f in second)


def test_validate_cli_json_has_the_warning(tmp_path, capsys):
    from workbench.cli.main import main

    yaml = thermal_yolo(tmp_path, 2, 1)
    main(["validate", str(yaml), "--json"])
    out = json.loads(capsys.readouterr().out)
    assert "mixed_bit_depth" in out["summary"]["by_kind"]

"""FLIR ADAS-style layouts: COCO JSON with non-contiguous category ids beside 16-bit TIFFs
(thermal_16_bit/) and 8-bit previews (thermal_8_bit/) of the same stems. Either JSON opens;
on the previews the model still reads the 16-bit frames."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import tifffile

from workbench.core.input_range import InputRange, raw_counterpart, resolve
from workbench.formats.registry import open_dataset
from workbench.qa import validate_dataset

W, H = 80, 64
CATEGORIES = [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}, {"id": 17, "name": "dog"}]


@pytest.fixture
def flir(tmp_path):
    root = tmp_path / "FLIR_ADAS" / "train"
    (root / "thermal_8_bit").mkdir(parents=True)
    (root / "thermal_16_bit").mkdir()
    images, anns = [], []
    for i in range(3):
        raw = np.random.default_rng(i).integers(7000, 7400, (H, W)).astype(np.uint16)
        raw[10:30, 20:50] += 500  # a warm object
        tifffile.imwrite(root / "thermal_16_bit" / f"FLIR_{i:05d}.tiff", raw)
        preview = ((raw.astype(np.float32) - 7000) / 4).clip(0, 255).astype(np.uint8)
        (root / "thermal_8_bit" / f"FLIR_{i:05d}.jpeg").write_bytes(cv2.imencode(".jpeg", preview)[1].tobytes())
        images.append({"id": i + 1, "file_name": f"thermal_8_bit/FLIR_{i:05d}.jpeg", "width": W, "height": H})
        anns.append(
            {"id": i + 1, "image_id": i + 1, "category_id": [1, 3, 17][i], "bbox": [20, 10, 30, 20], "area": 600}
        )
    previews = root / "thermal_annotations.json"
    previews.write_text(json.dumps({"images": images, "annotations": anns, "categories": CATEGORIES}))
    for im in images:
        im["file_name"] = im["file_name"].replace("thermal_8_bit", "thermal_16_bit").replace(".jpeg", ".tiff")
    frames = root / "thermal_annotations_16_bit.json"
    frames.write_text(json.dumps({"images": images, "annotations": anns, "categories": CATEGORIES}))
    return previews, frames


def test_either_json_opens_with_contiguous_classes(flir):
    for path, depth in zip(flir, ("8-bit greyscale", "16-bit greyscale"), strict=True):
        ds = open_dataset(path).load_all()
        assert ds.format == "coco" and ds.classes == ["person", "car", "dog"]
        assert [r.instances[0].class_id for r in ds.records] == [0, 1, 2]  # ids 1, 3, 17 inside as 0..2
        findings = validate_dataset(ds, workers=1)
        assert not [f for f in findings if f.severity.value == "error"]
        assert any(f.kind == "pixel_format" and depth in f.message for f in findings)


def test_previews_train_on_their_16_bit_frames(flir):
    from workbench.train.data import DetectionDataset

    previews, frames = (open_dataset(p).load_all() for p in flir)
    rec = previews.records[0]
    assert raw_counterpart(rec.path) == frames.records[0].path
    assert raw_counterpart(frames.records[0].path) is None
    chosen = resolve("auto", [r.path for r in previews.records])
    assert chosen.mode == "fixed" and chosen == resolve("auto", [r.path for r in frames.records])
    a = DetectionDataset(previews.records, None, 1, train=False, input_range=chosen)[0][0]
    b = DetectionDataset(frames.records, None, 1, train=False, input_range=chosen)[0][0]
    assert np.array_equal(a.numpy(), b.numpy())  # the 16-bit frame, not the JPEG preview
    as_read = DetectionDataset(previews.records, None, 1, train=False, input_range=InputRange())[0][0]
    assert not np.array_equal(as_read.numpy(), a.numpy())  # "none": the preview as it is


def test_a_frame_of_another_size_is_not_a_counterpart(flir):
    previews, _ = flir
    other = previews.parent / "thermal_16_bit" / "FLIR_00000.tiff"
    tifffile.imwrite(other, np.zeros((H // 2, W // 2), np.uint16))
    assert raw_counterpart(previews.parent / "thermal_8_bit" / "FLIR_00000.jpeg") is None

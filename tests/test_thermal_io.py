"""High-bit-depth and single-channel images: the raw reader keeps the file's own pixels, the
header says the depth, and the 8-bit reader shows them with contrast, not five grey levels."""

from __future__ import annotations

import os

import cv2
import numpy as np
import pytest
import tifffile

from workbench.core.display_window import apply_window, percentile_window, to_display
from workbench.core.image_io import ImageReadError, ImageTooLargeError, read_image, read_raw_image
from workbench.core.imageheader import ImageDepth, read_image_header

H, W = 48, 64


def thermal(seed: int = 0) -> np.ndarray:
    """Raw counts 7000..8020: what OpenCV's 8-bit decode turns into five grey levels."""
    return np.random.default_rng(seed).integers(7000, 8021, (H, W)).astype(np.uint16)


def write_png(path, img: np.ndarray) -> None:
    ok, buf = cv2.imencode(".png", img)
    assert ok
    path.write_bytes(buf.tobytes())


@pytest.fixture
def files(tmp_path):
    a = thermal()
    out = {}
    out["png16"] = tmp_path / "g16.png"
    write_png(out["png16"], a)
    out["tif16"] = tmp_path / "g16.tif"
    tifffile.imwrite(out["tif16"], a)
    out["float"] = tmp_path / "deg.tiff"
    tifffile.imwrite(out["float"], a.astype(np.float32) / 100 - 50)  # degrees
    out["rgb16png"] = tmp_path / "c16.png"
    write_png(out["rgb16png"], np.dstack([a, a // 2, a // 3]))
    out["rgb16tif"] = tmp_path / "c16.tif"
    tifffile.imwrite(out["rgb16tif"], np.dstack([a // 3, a // 2, a]), photometric="rgb")  # RGB order on disk
    out["planar"] = tmp_path / "planar.tif"
    tifffile.imwrite(out["planar"], np.stack([a // 3, a // 2, a]), planarconfig="separate", photometric="rgb")
    out["grey8"] = tmp_path / "g8.png"
    write_png(out["grey8"], (a // 40).astype(np.uint8))
    out["grey8tif"] = tmp_path / "g8.tif"
    tifffile.imwrite(out["grey8tif"], (a // 40).astype(np.uint8))
    return out


@pytest.mark.parametrize(
    "key, dtype, channels, words",
    [
        ("png16", "uint16", 1, "16-bit greyscale"),
        ("tif16", "uint16", 1, "16-bit greyscale"),
        ("float", "float32", 1, "32-bit float greyscale"),
        ("rgb16png", "uint16", 3, "16-bit RGB"),
        ("rgb16tif", "uint16", 3, "16-bit RGB"),
        ("planar", "uint16", 3, "16-bit RGB"),
        ("grey8", "uint8", 1, "8-bit greyscale"),
        ("grey8tif", "uint8", 1, "8-bit greyscale"),
    ],
)
def test_header_and_raw_reader_keep_the_depth(files, key, dtype, channels, words):
    header = read_image_header(files[key])
    assert header.problem is None
    assert (header.width, header.height) == (W, H)
    assert header.depth == ImageDepth(dtype, channels)
    assert header.depth.describe() == words
    raw = read_raw_image(files[key])
    assert str(raw.dtype) == dtype
    assert raw.shape == ((H, W) if channels == 1 else (H, W, channels))
    bgr = read_image(files[key])
    assert bgr.shape == (H, W, 3) and bgr.dtype == np.uint8


def test_raw_values_survive_and_colour_is_bgr_whatever_the_format(files):
    a = thermal()
    assert np.array_equal(read_raw_image(files["png16"]), a)
    assert np.array_equal(read_raw_image(files["tif16"]), a)
    np.testing.assert_allclose(read_raw_image(files["float"]), a.astype(np.float32) / 100 - 50)
    bgr = np.dstack([a, a // 2, a // 3])
    for key in ("rgb16png", "rgb16tif", "planar"):  # OpenCV's channel order, TIFF read by tifffile too
        assert np.array_equal(read_raw_image(files[key]), bgr), key


@pytest.mark.parametrize("key", ["png16", "tif16", "float"])
def test_read_image_shows_a_16_bit_image_with_contrast(files, key):
    """OpenCV's own 8-bit decode keeps the top byte: 7000..8020 -> 27..31. Here: a full window."""
    flat = cv2.imdecode(np.fromfile(files["png16"], np.uint8), cv2.IMREAD_COLOR)
    assert len(np.unique(flat)) <= 5  # the bug this guards against
    img = read_image(files[key])
    assert img.std() > 30 and len(np.unique(img)) > 200
    assert read_image(files[key], reduce=2).shape == (H // 2, W // 2, 3)


def test_8_bit_files_read_exactly_as_opencv_decodes_them(files):
    for key in ("grey8", "grey8tif"):
        expect = cv2.imdecode(np.fromfile(files[key], np.uint8), cv2.IMREAD_COLOR)
        assert np.array_equal(read_image(files[key]), expect)
        assert np.array_equal(read_raw_image(files[key]), expect[:, :, 0])


def test_tiff_orientation_turns_header_and_both_readers_alike(tmp_path):
    a = np.zeros((H, W), np.uint16)
    a[0, :10] = 9000  # top-left marker
    path = tmp_path / "turned.tif"
    tifffile.imwrite(path, a, extratags=[(274, 3, 1, 6, True)])  # orientation 6: turn 90 clockwise
    header = read_image_header(path)
    assert (header.width, header.height) == (H, W)
    raw = read_raw_image(path)
    assert raw.shape == (W, H) and raw[:10, -1].min() == 9000
    assert read_image(path).shape == (W, H, 3)


def test_raw_reader_refuses_what_read_image_refuses(tmp_path):
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageReadError, match="empty"):
        read_raw_image(empty)
    junk = tmp_path / "junk.tif"
    junk.write_bytes(b"II*\x00" + b"\xff" * 40)
    with pytest.raises(ImageReadError, match="junk.tif"):
        read_raw_image(junk)
    huge = tmp_path / "huge.png"
    write_png(huge, np.zeros((4, 4), np.uint16))
    data = bytearray(huge.read_bytes())
    data[16:24] = (2**20 + 1).to_bytes(4, "big") + (4).to_bytes(4, "big")
    huge.write_bytes(bytes(data))
    with pytest.raises(ImageTooLargeError):
        read_raw_image(huge)
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.tif"
        os.mkfifo(fifo)
        with pytest.raises(ImageReadError, match="FIFO"):
            read_raw_image(fifo)


def test_display_window_modes_and_palettes():
    a = thermal()
    lo, hi = percentile_window(a)
    assert 7000 <= lo < 7030 and 7990 < hi <= 8020
    auto = to_display(a)
    assert auto.shape == (H, W, 3) and auto.std() > 30
    manual = to_display(a, (7000, 7100), mode="manual")
    assert (manual[a >= 7100] == 255).all() and (manual[a <= 7000] == 0).all()
    ranged = to_display(a, (0, 65535), mode="range")
    assert len(np.unique(ranged)) <= 6  # the full 16-bit range: nearly flat, as it should be
    iron = to_display(a, palette="inferno")
    assert not np.array_equal(iron[:, :, 0], iron[:, :, 2])  # coloured, not grey
    with pytest.raises(ValueError, match="needs a window"):
        to_display(a, mode="manual")
    with pytest.raises(ValueError, match="palette"):
        to_display(a, palette="rainbow")
    eight = np.arange(H * W, dtype=np.uint8).reshape(H, W)
    assert np.array_equal(to_display(eight)[:, :, 1], eight)  # 8-bit: as it is
    floats = a.astype(np.float32)
    floats[0, 0] = np.nan
    assert apply_window(floats, (7000, 8020))[0, 0] == 0

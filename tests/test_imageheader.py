"""Image sizes come from headers, and broken files are recognised without decoding."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from workbench.core.imageheader import read_image_header


def _write(path: Path, w: int = 37, h: int = 23) -> Path:
    img = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), img)
    return path


@pytest.mark.parametrize("suffix", [".jpg", ".png", ".bmp", ".webp", ".tif"])
def test_size_from_header(tmp_path, suffix):
    header = read_image_header(_write(tmp_path / f"a{suffix}"))
    assert (header.width, header.height) == (37, 23)
    assert header.problem is None


def test_progressive_jpeg_and_exif_sized(tmp_path):
    img = np.zeros((50, 80, 3), np.uint8)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert ok
    p = tmp_path / "p.jpg"
    # An APP1 segment before the frame header, as cameras write EXIF.
    data = buf.tobytes()
    app1 = b"\xff\xe1" + (2 + 1000).to_bytes(2, "big") + b"Exif\x00\x00" + b"\x00" * 994
    p.write_bytes(data[:2] + app1 + data[2:])
    assert (read_image_header(p).width, read_image_header(p).height) == (80, 50)


def test_empty_file(tmp_path):
    p = tmp_path / "e.jpg"
    p.write_bytes(b"")
    assert "empty" in read_image_header(p).problem


def test_truncated_jpeg(tmp_path):
    p = _write(tmp_path / "t.jpg", 200, 100)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    header = read_image_header(p)
    assert "truncated" in header.problem
    assert read_image_header(p, check_end=False).problem is None


def test_garbage_is_a_problem_not_an_exception(tmp_path):
    p = tmp_path / "g.png"
    p.write_bytes(b"this is not an image at all")
    assert read_image_header(p).problem
    q = tmp_path / "h.jpg"
    q.write_bytes(b"\xff\xd8\xff\xe0\x00")
    assert read_image_header(q).problem


def test_missing_file(tmp_path):
    assert "cannot be read" in read_image_header(tmp_path / "nope.jpg").problem

"""Image sizes come from headers, and broken files are recognised without decoding."""

from __future__ import annotations

import os
import struct
import threading
import time
from pathlib import Path
from unittest import mock

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.core import imageheader
from workbench.core.imageheader import ImageHeader, read_image_header


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


def test_directory_is_a_problem_not_an_exception(tmp_path):
    assert "cannot be read" in read_image_header(tmp_path).problem


# --------------------------------------------------------------------------- one read == the streaming parser

_DEEP = os.environ.get("WORKBENCH_FUZZ_EXAMPLES")
EQUIVALENCE = settings(
    max_examples=int(_DEEP or 300),
    derandomize=_DEEP is None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _streaming(path: Path, check_end: bool) -> ImageHeader:
    """The marker-by-marker reader over the file (the fallback, and the reference for the in-memory walk)."""
    with open(path, "rb") as f:
        return imageheader._jpeg(f, check_end)


_marker = st.one_of(
    st.integers(0, 255),
    st.sampled_from([0xC0, 0xC2, 0xC4, 0xC8, 0xD0, 0xD8, 0xD9, 0xDA, 0xDB, 0xE0, 0xE1, 0xFE, 0x01, 0x00, 0xFF]),
)


@st.composite
def exif_payload(draw: st.DrawFn) -> bytes:
    """An APP1 EXIF payload: either byte order, an Orientation tag of any value, maybe cut short."""
    order = draw(st.sampled_from(["<", ">"]))
    entries = draw(st.integers(0, 3))
    body = (b"II" if order == "<" else b"MM") + struct.pack(order + "HIH", 42, 8, entries + 1)
    body += b"".join(struct.pack(order + "HHII", draw(st.integers(0, 0xFFFF)), 2, 4, 0) for _ in range(entries))
    body += struct.pack(order + "HHIH2x", 0x0112, draw(st.sampled_from([3, 3, 4])), 1, draw(st.integers(0, 10)))
    data = b"Exif\x00\x00" + body
    return data[: draw(st.integers(0, len(data)))] if draw(st.booleans()) else data


@st.composite
def jpeg_like(draw: st.DrawFn) -> bytes:
    """SOI, segments (fill bytes, any marker, lengths right, wrong or tiny, EXIF orientations),
    maybe a frame header and EOI, maybe cut."""
    out = bytearray(b"\xff\xd8")
    for _ in range(draw(st.integers(0, 6))):
        out += b"\xff" * draw(st.integers(0, 3)) if draw(st.booleans()) else draw(st.binary(max_size=3))
        exif = draw(st.booleans())
        marker = 0xE1 if exif else draw(_marker)
        payload = draw(exif_payload() if exif else st.binary(max_size=40))
        length = draw(st.one_of(st.just(len(payload) + 2), st.integers(0, 3), st.integers(0, 0xFFFF)))
        out += bytes([0xFF, marker]) + length.to_bytes(2, "big") + payload
    if draw(st.booleans()):
        w, h = draw(st.integers(0, 70000)), draw(st.integers(0, 70000))
        out += b"\xff\xc0\x00\x11\x08" + (h & 0xFFFF).to_bytes(2, "big") + (w & 0xFFFF).to_bytes(2, "big") + b"\x03"
    out += draw(st.binary(max_size=30))
    if draw(st.booleans()):
        out += b"\xff\xd9"
    if draw(st.booleans()):
        out = out[: draw(st.integers(0, len(out)))]
    return bytes(out)


@EQUIVALENCE
@given(jpeg_like(), st.sampled_from([2, 5, 16, 33, 64, imageheader.HEAD_BYTES]), st.booleans())
def test_one_read_header_is_the_streaming_parse(tmp_path, data: bytes, head_bytes: int, check_end: bool):
    """Whatever the bytes and wherever the first read ends, the result is the streaming parser's."""
    path = tmp_path / "x.jpg"
    path.write_bytes(data)
    with mock.patch.object(imageheader, "HEAD_BYTES", head_bytes):
        got = read_image_header(path, check_end)
    if data[:2] == b"\xff\xd8":
        assert got == _streaming(path, check_end)
    else:
        assert got.problem  # cut before the SOI: empty, or not an image


@pytest.mark.parametrize("head_bytes", [64, 1000, imageheader.HEAD_BYTES])
@pytest.mark.parametrize("exif", [0, 3000, 70000])
def test_large_jpeg_with_exif_read_in_one_go_or_two(tmp_path, head_bytes, exif):
    """A frame header past the first read falls back to the streaming parser; the end marker is still checked."""
    img = np.random.default_rng(1).integers(0, 255, (300, 400, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    data = buf.tobytes()
    for _ in range(exif // 60000 + 1):  # APP1 segments hold at most 64 KiB each
        size = min(exif, 60000)
        data = data[:2] + b"\xff\xe1" + (size + 2).to_bytes(2, "big") + b"\x00" * size + data[2:]
    p = tmp_path / "big.jpg"
    p.write_bytes(data)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[:-100])
    with mock.patch.object(imageheader, "HEAD_BYTES", head_bytes):
        assert read_image_header(p) == ImageHeader(400, 300, "jpeg") == _streaming(p, True)
        assert "truncated" in read_image_header(cut).problem
        assert read_image_header(cut) == _streaming(cut, True)


def _small_jpeg() -> bytes:
    ok, buf = cv2.imencode(".jpg", np.full((48, 64, 3), 90, np.uint8))
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize("head_bytes", [3, 40, 200, imageheader.HEAD_BYTES])
def test_every_cut_of_a_real_jpeg_reads_as_the_streaming_parse(tmp_path, head_bytes):
    """Cut after each byte of the header segments and near the end: the same answer both ways."""
    data = _small_jpeg()
    cuts = list(range(0, 700)) + list(range(len(data) - 8, len(data) + 1))
    path = tmp_path / "x.jpg"
    with mock.patch.object(imageheader, "HEAD_BYTES", head_bytes):
        for cut in cuts:
            path.write_bytes(data[:cut])
            if cut < 2:
                assert read_image_header(path).problem
                continue
            for check_end in (True, False):
                assert read_image_header(path, check_end) == _streaming(path, check_end), cut


SOF = b"\xff\xc0\x00\x11\x08\x00\x30\x00\x40\x03"  # 64x48


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xd9" + SOF,  # end of image before the frame header
        b"\xff\xd9\x00\x02" + SOF,
        b"\xff\xda\x00\x02" + SOF,  # start of scan before it
        b"\xff\xd0\xff\x01\xff\xd8" + SOF,  # markers without a length are skipped
        b"\x00\x12\xff\xff\xff" + SOF,  # fill bytes and stray bytes before a marker
        b"\xff\xe0\x00\x00" + SOF,  # a length of 0 steps back
        b"\xff\xe0\x00\x01" + SOF,
        b"\xff\xe0\xff\xff" + SOF,  # a length past the end
        b"\xff\xe0\x00\x04ab" + SOF,
        b"\xff\xc4\x00\x02" + SOF,  # DHT is not a frame header
        b"\xff\xc0\x00\x11\x08\x00\x30",  # frame header cut short
        SOF[:-4],
    ],
)
@pytest.mark.parametrize("head_bytes", [4, 9, imageheader.HEAD_BYTES])
def test_marker_walk_edge_cases(tmp_path, body, head_bytes):
    for tail in (b"", b"\xff\xd9"):
        path = tmp_path / "x.jpg"
        path.write_bytes(b"\xff\xd8" + body + b"\x00" * 8 + tail)
        with mock.patch.object(imageheader, "HEAD_BYTES", head_bytes):
            assert read_image_header(path) == _streaming(path, True)


def test_short_reads_are_not_taken_for_the_end_of_the_file():
    """A file system may return less than asked (a pipe here): only an empty read means the end."""
    read_fd, write_fd = os.pipe()

    def writer() -> None:
        for chunk in (b"\xff\xd8", b"\xff", b"\xe0\x00\x10" + b"x" * 14, b"\xff\xd9"):
            os.write(write_fd, chunk)
            time.sleep(0.01)
        os.close(write_fd)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        with mock.patch.object(imageheader, "HEAD_BYTES", 64):
            data, complete = imageheader._read_head(read_fd)
    finally:
        thread.join()
        os.close(read_fd)
    assert data == b"\xff\xd8\xff\xe0\x00\x10" + b"x" * 14 + b"\xff\xd9" and complete

"""Image size and integrity from the file header, without decoding pixels.

Opening a 100k-image dataset and validating 20k pairs must not decode images: the
size comes from the JPEG SOF / PNG IHDR / BMP / GIF / WebP header, and truncation is
caught by the JPEG end-of-image marker. Formats we cannot parse fall back to OpenCV.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".dng", ".mpo", ".pfm"}
)

_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


@dataclass(frozen=True)
class ImageHeader:
    """What the header says. ``problem`` is None for a sound file."""

    width: int | None
    height: int | None
    format: str | None
    problem: str | None = None


def is_image_file(path: str | os.PathLike[str]) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


# One read of this many bytes holds the header of nearly every image (a JPEG's frame
# header sits after its EXIF/ICC segments, usually well inside 64 KiB) and all of a
# small image, whose end-of-image marker then costs nothing more. A JPEG whose frame
# header lies further in is read again with the streaming parser.
HEAD_BYTES = 64 * 1024
# os.open flags for reading bytes as they are (Windows would otherwise translate line ends).
READ_BINARY = os.O_RDONLY | getattr(os, "O_BINARY", 0)


def read_image_header(path: str | os.PathLike[str], check_end: bool = True) -> ImageHeader:
    """Size and format of an image; with ``check_end``, also whether a JPEG is truncated.

    This runs once per image when a dataset of 100k images is validated, so it costs an
    ``open`` and one read of up to ``HEAD_BYTES`` (for a smaller file, a second, empty
    read shows that the whole file is at hand, end marker included); only a larger JPEG
    costs a seek to its last two bytes.
    """
    try:
        fd = os.open(path, READ_BINARY)
        try:
            buf, complete = _read_head(fd)
            if not buf:
                return ImageHeader(None, None, None, "the file is empty (0 bytes)")
            head = buf[:32]
            if head[:2] == b"\xff\xd8":
                size = _jpeg_frame_size(buf, complete)
                if isinstance(size, _NeedMore):
                    with open(path, "rb") as f:
                        return _jpeg(f, check_end)
                return _jpeg_checked(size, buf, complete, fd, check_end)
            if head[:8] == b"\x89PNG\r\n\x1a\n":
                if len(head) < 24 or head[12:16] != b"IHDR":
                    return ImageHeader(None, None, "png", "the PNG header is cut short")
                w, h = struct.unpack(">II", head[16:24])
                return _sized(w, h, "png")
            if head[:2] == b"BM" and len(head) >= 26:
                w, h = struct.unpack("<ii", head[18:26])
                return _sized(w, abs(h), "bmp")
            if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
                w, h = struct.unpack("<HH", head[6:10])
                return _sized(w, h, "gif")
            if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
                return _webp(buf[:64])
        finally:
            os.close(fd)
    except OSError as e:
        return ImageHeader(None, None, None, f"cannot be read: {e.strerror or e}")
    return _decode_fallback(path)


def _read_head(fd: int) -> tuple[bytes, bool]:
    """The first ``HEAD_BYTES`` of the file, and whether that is the whole file.

    A short read is only taken for the end of the file once a further read returns
    nothing, so a file system that returns less than asked cannot fake a truncation.
    """
    buf = os.read(fd, HEAD_BYTES)
    while len(buf) < HEAD_BYTES:
        more = os.read(fd, HEAD_BYTES - len(buf))
        if not more:
            return buf, True
        buf += more
    return buf, False


class _NeedMore:
    """The walk over the JPEG markers ran off the end of the bytes at hand, not of the file."""


_NEED_MORE = _NeedMore()


def _jpeg_frame_size(buf: bytes, complete: bool) -> tuple[int, int] | None | _NeedMore:
    """``(w, h)`` from the JPEG frame header in ``buf``; None when the file has none (corrupt).

    The same walk over the markers as the streaming ``_jpeg`` (which stays the reference
    and the fallback), on bytes in memory. When ``buf`` is only the start of the file
    (``complete`` False) and the walk runs off its end, the answer is ``_NEED_MORE``.
    """
    n = len(buf)
    end = None if complete else _NEED_MORE
    pos = 2
    while True:
        pos = buf.find(b"\xff", pos)  # skip fill to the next marker
        if pos < 0:
            return end
        while pos < n and buf[pos] == 0xFF:
            pos += 1
        if pos >= n:
            return end
        marker = buf[pos]
        pos += 1
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue  # markers without a length
        if marker == 0xD9:
            return None
        if pos + 2 > n:
            return end
        (length,) = struct.unpack_from(">H", buf, pos)
        pos += 2
        if marker in _SOF_MARKERS:
            if pos + 5 > n:
                return end
            h, w = struct.unpack_from(">HH", buf, pos + 1)
            return w, h
        if marker == 0xDA:  # start of scan before any SOF: not a valid JPEG
            return None
        pos += length - 2


def _jpeg_checked(size: tuple[int, int] | None, buf: bytes, complete: bool, fd: int,
                  check_end: bool) -> ImageHeader:
    """The JPEG's header from its frame size, with the end-of-image check (as ``_jpeg`` does it)."""
    if size is None:
        return ImageHeader(None, None, "jpeg", "the JPEG header has no frame size (corrupt file)")
    if check_end:
        if complete:
            total, tail = len(buf), buf[-2:]
        else:
            total = os.lseek(fd, -2, os.SEEK_END) + 2
            tail = os.read(fd, 2)
        if total < 4:
            return ImageHeader(None, None, "jpeg", "the JPEG file is cut short")
        if tail != b"\xff\xd9":
            return ImageHeader(size[0], size[1], "jpeg",
                               "the JPEG is truncated (no end-of-image marker): re-export or re-download it")
    return _sized(size[0], size[1], "jpeg")


def _sized(w: int, h: int, fmt: str) -> ImageHeader:
    if w <= 0 or h <= 0:
        return ImageHeader(None, None, fmt, f"the header gives an invalid size {w}x{h}")
    return ImageHeader(int(w), int(h), fmt)


def _jpeg(f: BinaryIO, check_end: bool) -> ImageHeader:
    """The streaming parser: reads marker by marker, for a JPEG whose frame header is far in."""
    f.seek(2)
    size: tuple[int, int] | None = None
    while True:
        b = f.read(1)
        while b and b != b"\xff":  # skip fill to the next marker
            b = f.read(1)
        while b == b"\xff":
            b = f.read(1)
        if not b:
            break
        marker = b[0]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            continue  # markers without a length
        if marker == 0xD9:
            break
        seg = f.read(2)
        if len(seg) < 2:
            break
        (length,) = struct.unpack(">H", seg)
        if marker in _SOF_MARKERS:
            data = f.read(5)
            if len(data) < 5:
                break
            h, w = struct.unpack(">HH", data[1:5])
            size = (w, h)
            break
        if marker == 0xDA:  # start of scan before any SOF: not a valid JPEG
            break
        f.seek(length - 2, os.SEEK_CUR)
    if size is None:
        return ImageHeader(None, None, "jpeg", "the JPEG header has no frame size (corrupt file)")
    if check_end:
        f.seek(0, os.SEEK_END)
        if f.tell() < 4:
            return ImageHeader(None, None, "jpeg", "the JPEG file is cut short")
        f.seek(-2, os.SEEK_END)
        if f.read(2) != b"\xff\xd9":
            return ImageHeader(size[0], size[1], "jpeg",
                               "the JPEG is truncated (no end-of-image marker): re-export or re-download it")
    return _sized(size[0], size[1], "jpeg")


def _webp(head: bytes) -> ImageHeader:
    chunk = head[12:16]
    if chunk == b"VP8 " and len(head) >= 30:
        w, h = struct.unpack("<HH", head[26:30])
        return _sized(w & 0x3FFF, h & 0x3FFF, "webp")
    if chunk == b"VP8L" and len(head) >= 25:
        b = head[21:25]
        w = 1 + (((b[1] & 0x3F) << 8) | b[0])
        h = 1 + (((b[3] & 0xF) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return _sized(w, h, "webp")
    if chunk == b"VP8X" and len(head) >= 30:
        w = 1 + int.from_bytes(head[24:27], "little")
        h = 1 + int.from_bytes(head[27:30], "little")
        return _sized(w, h, "webp")
    return ImageHeader(None, None, "webp", "unrecognised WebP header")


def _decode_fallback(path: str | os.PathLike[str]) -> ImageHeader:
    """TIFF and friends: let OpenCV read it (this one does decode)."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        return ImageHeader(None, None, None, "not a readable image (unknown or corrupt format)")
    return _sized(img.shape[1], img.shape[0], Path(path).suffix.lower().lstrip("."))

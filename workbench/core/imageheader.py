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


def read_image_header(path: str | os.PathLike[str], check_end: bool = True) -> ImageHeader:
    """Size and format of an image; with ``check_end``, also whether a JPEG is truncated."""
    try:
        with open(path, "rb") as f:
            head = f.read(32)
            if not head:
                return ImageHeader(None, None, None, "the file is empty (0 bytes)")
            if head[:2] == b"\xff\xd8":
                return _jpeg(f, check_end)
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
                return _webp(head + f.read(32))
    except OSError as e:
        return ImageHeader(None, None, None, f"cannot be read: {e.strerror or e}")
    return _decode_fallback(path)


def _sized(w: int, h: int, fmt: str) -> ImageHeader:
    if w <= 0 or h <= 0:
        return ImageHeader(None, None, fmt, f"the header gives an invalid size {w}x{h}")
    return ImageHeader(int(w), int(h), fmt)


def _jpeg(f, check_end: bool) -> ImageHeader:  # noqa: ANN001 - a binary file object
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

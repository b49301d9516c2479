"""Image size and integrity from the file header, without decoding pixels.

Opening a 100k-image dataset and validating 20k pairs must not decode images: the
size comes from the JPEG SOF / PNG IHDR / BMP / GIF / WebP header, and truncation is
caught by the JPEG end-of-image marker. A TIFF's tags are read by tifffile (its directory
may sit at the end of the file). Formats we cannot parse fall back to decoding. The header
also says the pixel format where it is cheap (``ImageHeader.depth``: PNG bit depth and
colour type, JPEG components, TIFF BitsPerSample / SamplesPerPixel / SampleFormat), which
is how a 16-bit thermal frame is told from an 8-bit photo before anything decodes it.

The size is the size as displayed: an EXIF orientation 5-8 (a phone held upright) swaps
width and height, and ``workbench.core.image_io.read_image`` turns the pixels the same way
(it tells OpenCV to ignore orientation and applies this module's), so normalized labels,
the canvas and training tensors all agree. EXIF is read where OpenCV's own decoder (5.x)
honours it: a JPEG's APP1 segment, a PNG's ``eXIf`` chunk (before or after the image
data; plain TIFF, as the PNG extension defines it), a WebP's ``EXIF`` chunk when its
``VP8X`` header flags one. A declared
size beyond what OpenCV decodes is reported here (``image_too_large``) before anything
tries to decode it.
"""

from __future__ import annotations

import io
import os
import stat
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".dng", ".mpo", ".pfm"})

_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}

# OpenCV refuses to decode more pixels than this (CV_IO_MAX_IMAGE_PIXELS, default 2**30)
# or a side longer than 2**20 (CV_IO_MAX_IMAGE_WIDTH / _HEIGHT); a header that declares
# more is refused before decoding, with one message, in validation, GUI, training, predict.
MAX_IMAGE_PIXELS = 2**30
MAX_IMAGE_SIDE = 2**20
TOO_LARGE_KIND = "image_too_large"

# EXIF orientations that turn the picture by 90 degrees: the displayed width is the
# stored height.
_TRANSPOSED = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class ImageHeader:
    """What the header says. ``problem`` is None for a sound file.

    ``width`` and ``height`` are the size as displayed (after EXIF ``orientation``, 1..8).
    ``problem_kind`` names the finding a problem becomes (None: ``corrupt_image``).
    """

    width: int | None
    height: int | None
    format: str | None
    problem: str | None = None
    orientation: int = 1
    problem_kind: str | None = None
    # What the decoded pixels will be, where the header says it cheaply (PNG IHDR, JPEG SOF,
    # TIFF tags): "uint8", "uint16", "float32"...; channels 1 (greyscale), 2, 3 or 4. Left
    # out of ==: two headers agree when size, format, orientation and problem do.
    dtype: str | None = field(default=None, compare=False)
    channels: int | None = field(default=None, compare=False)

    @property
    def depth(self) -> ImageDepth | None:
        """The pixel format as one value, or None when the header does not tell."""
        return ImageDepth(self.dtype, self.channels) if self.dtype is not None else None


@dataclass(frozen=True)
class ImageDepth:
    """What an image's pixels are: the numpy dtype name and the channel count (None: unknown).

    Thermal cameras write 16-bit greyscale (or float degrees) where ordinary photos are
    8-bit colour; every reader that maps pixels to 8 bits for the screen or a model asks
    this first, and validation warns when a dataset mixes them.
    """

    dtype: str
    channels: int | None = None

    @property
    def bits(self) -> int:
        return {"uint8": 8, "int8": 8, "uint16": 16, "int16": 16, "float16": 16, "uint32": 32}.get(
            self.dtype, 64 if self.dtype.endswith("64") else 32
        )

    @property
    def high(self) -> bool:
        """More than 8 bits (or floats): shown and trained through a window, never cast to 8 bits."""
        return self.dtype != "uint8"

    def describe(self) -> str:
        """ "16-bit greyscale", "8-bit RGB", "32-bit float greyscale": the words findings use."""
        kind = "float " if self.dtype.startswith("float") else ""
        what = {1: "greyscale", 2: "greyscale+alpha", 3: "RGB", 4: "RGBA"}.get(self.channels or 0)
        if what is None:
            what = f"{self.channels}-channel" if self.channels else "(channels unknown)"
        return f"{self.bits}-bit {kind}{what}"


def depth_of_array(img: Any) -> ImageDepth:
    """The ``ImageDepth`` of decoded pixels (a numpy array ``(h, w)`` or ``(h, w, c)``)."""
    return ImageDepth(str(img.dtype), 1 if img.ndim == 2 else int(img.shape[2]))


def too_large_problem(width: int, height: int) -> str | None:
    """Why an image of this size cannot be decoded, or None when it can.

    The one wording for the validation finding and for ``ImageTooLargeError``.
    """
    if width * height <= MAX_IMAGE_PIXELS and max(width, height) <= MAX_IMAGE_SIDE:
        return None
    return (
        f"the image is {width}x{height} pixels, more than OpenCV decodes "
        f"({MAX_IMAGE_PIXELS:,} pixels, {MAX_IMAGE_SIDE:,} on a side): "
        "downscale it or cut it into tiles, or exclude it"
    )


def not_regular_kind(mode: int) -> str | None:
    """What a non-regular file is ("a FIFO (named pipe)"), or None for a regular file.

    A FIFO or a device would block its reader forever; every reader refuses them by this.
    """
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else "not a regular file"


def not_regular_problem(mode: int) -> str | None:
    """Why a path is not an image file, or None."""
    what = not_regular_kind(mode)
    return None if what is None else f"cannot be read: it is {what}, not an image file"


# One read of this many bytes holds the header of nearly every image (a JPEG's frame
# header sits after its EXIF/ICC segments, usually well inside 64 KiB) and all of a
# small image, whose end-of-image marker then costs nothing more. A JPEG whose frame
# header lies further in is read again with the streaming parser.
HEAD_BYTES = 64 * 1024
# os.open flags for reading bytes as they are (Windows would otherwise translate line ends).
READ_BINARY = os.O_RDONLY | getattr(os, "O_BINARY", 0)
# For image files: a FIFO swapped in between the stat and the open must not block the open.
READ_IMAGE = READ_BINARY | getattr(os, "O_NONBLOCK", 0)


def read_image_header(path: str | os.PathLike[str], check_end: bool = True) -> ImageHeader:
    """Size and format of an image; with ``check_end``, also whether a JPEG is truncated.

    This runs once per image when a dataset of 100k images is validated, so it costs an
    ``open`` and one read of up to ``HEAD_BYTES`` (for a smaller file, a second, empty
    read shows that the whole file is at hand, end marker included); only a larger JPEG
    costs a seek to its last two bytes. A ``stat`` first refuses a FIFO, a device or a
    directory, which an ``open`` or a read could otherwise block on forever.
    """
    try:
        problem = not_regular_problem(os.stat(path).st_mode)
        if problem:
            return ImageHeader(None, None, None, problem)
        fd = os.open(path, READ_IMAGE)  # O_NONBLOCK: a FIFO swapped in since the stat reads empty
        try:
            buf, complete = _read_head(fd)
            if not buf:
                return ImageHeader(None, None, None, "the file is empty (0 bytes)")
            header = _parse(buf, complete, fd, path, check_end)
        finally:
            os.close(fd)
    except OSError as e:
        return ImageHeader(None, None, None, f"cannot be read: {e.strerror or e}")
    return header if header is not None else _decode_fallback(path)


def header_from_bytes(data: bytes) -> ImageHeader | None:
    """The header of a whole image file already in memory; None for a format this module
    does not parse (or a TIFF tifffile cannot parse: left to the decoder). No end-of-image check."""
    if not data:
        return ImageHeader(None, None, None, "the file is empty (0 bytes)")
    return _parse(data, True, None, None, False)


def _parse(
    buf: bytes, complete: bool, fd: int | None, path: str | os.PathLike[str] | None, check_end: bool
) -> ImageHeader | None:
    """The header from the first bytes of the file (all of it when ``complete``); None when
    the format is not one parsed here. ``fd`` and ``path`` serve a JPEG whose header lies
    beyond ``buf`` (only when not ``complete``)."""
    head = buf[:32]
    if head[:2] == b"\xff\xd8":
        size = _jpeg_frame_size(buf, complete)
        if isinstance(size, _NeedMore):
            assert path is not None
            with open(path, "rb") as f:
                return _jpeg(f, check_end)
        return _jpeg_checked(size, buf, complete, fd, check_end)
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        if len(head) < 24 or head[12:16] != b"IHDR":
            return ImageHeader(None, None, "png", "the PNG header is cut short")
        w, h = struct.unpack(">II", head[16:24])
        dtype, channels = _png_depth(head[24:26])
        return _sized(w, h, "png", _png_orientation(_FileBytes(buf, complete, fd)), dtype, channels)
    if head[:2] == b"BM" and len(head) >= 26:
        w, h = struct.unpack("<ii", head[18:26])
        bpp = struct.unpack("<H", head[28:30])[0] if len(head) >= 30 else 0
        return _sized(w, abs(h), "bmp", 1, "uint8", {24: 3, 32: 4}.get(bpp))
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        w, h = struct.unpack("<HH", head[6:10])
        return _sized(w, h, "gif", 1, "uint8", 3)
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp(_FileBytes(buf, complete, fd))
    if head[:4] in _TIFF_MAGIC:
        return _tiff(buf, complete, fd)
    return None


# Little- and big-endian TIFF and BigTIFF.
_TIFF_MAGIC = frozenset({b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"})


def _png_depth(ihdr: bytes) -> tuple[str | None, int | None]:
    """dtype and channels of the decoded pixels from IHDR's bit depth and colour type.

    Bit depths under 8 decode to 8 bits; a palette decodes to colour.
    """
    if len(ihdr) < 2:
        return None, None
    bit_depth, colour = ihdr[0], ihdr[1]
    return ("uint16" if bit_depth == 16 else "uint8"), {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}.get(colour)


def _tiff(buf: bytes, complete: bool, fd: int | None) -> ImageHeader | None:
    """Size, orientation, dtype and channels of a TIFF's first page, from its tags alone.

    tifffile reads only the IFD (the tag directory; it may sit at the end of the file, so
    it reads from the open file when ``buf`` is only the head). None when tifffile cannot
    parse it: the decode fallback then decides.
    """
    try:
        import tifffile
    except ImportError:  # pragma: no cover - a dependency; without it OpenCV decides
        return None
    try:
        if complete or fd is None:
            source: Any = io.BytesIO(buf)
        else:
            source = open(fd, "rb", closefd=False)
        with source, tifffile.TiffFile(source) as tif:
            page = tif.pages[0]
            w, h = int(page.imagewidth), int(page.imagelength)
            tag = page.tags.get(274)
            orientation = int(tag.value) if tag is not None and 1 <= int(tag.value) <= 8 else 1
            channels = int(page.samplesperpixel)
            dtype = str(page.dtype) if page.dtype is not None else None
    except Exception:  # noqa: BLE001 - a malformed TIFF is the fallback's to report, whatever tifffile raises
        return None
    if dtype == "bool":  # 1-bit bilevel: OpenCV and the raw reader give 8 bits
        dtype = "uint8"
    return _sized(w, h, "tiff", orientation, dtype, channels)


# At most this much of an EXIF block is read: IFD0, which holds the orientation, comes first.
MAX_EXIF_BYTES = 64 * 1024
# At most this many PNG / WebP chunk headers are walked looking for EXIF (a real file has
# one IDAT per 8-64 KiB); a file of millions of empty chunks reads as orientation 1. The
# decoder applies this module's orientation, so the size and the pixels agree either way.
MAX_CHUNKS = 1 << 16


class _FileBytes:
    """The file's bytes at any offset: from the head already read, else read from ``fd``.

    PNG and WebP keep their EXIF in a chunk that may come after the image data, far
    beyond the head; only the chunk headers on the way there are read.
    """

    def __init__(self, buf: bytes, complete: bool, fd: int | None) -> None:
        self.buf, self.complete, self.fd = buf, complete, fd

    def read(self, offset: int, n: int) -> bytes:
        if offset + n <= len(self.buf) or self.complete or self.fd is None:
            return self.buf[offset : offset + n]
        if hasattr(os, "pread"):
            return os.pread(self.fd, n, offset)
        os.lseek(self.fd, offset, os.SEEK_SET)  # Windows has no pread
        return os.read(self.fd, n)


def _png_orientation(data: _FileBytes) -> int:
    """The orientation in a PNG's first ``eXIf`` chunk (plain TIFF bytes), else 1.

    A walk over the chunk headers up to ``IEND``: libpng, under OpenCV, honours the chunk
    before or after the image data, and refuses one that starts with ``Exif\\0\\0``.
    """

    def header(head: bytes, pos: int) -> tuple[bytes, int, int]:
        length, kind = struct.unpack(">I4s", head)
        return kind, length, pos + 12 + length  # length, type, data, CRC

    return _chunk_orientation(data, 8, header, b"eXIf", b"IEND")


def _webp_orientation(data: _FileBytes) -> int:
    """The orientation in a WebP's ``EXIF`` chunk, else 1; only when ``VP8X`` flags EXIF (as
    libwebp's demuxer, under OpenCV, requires). Chunks are padded to an even size."""
    flags = data.read(20, 1)
    if data.read(12, 4) != b"VP8X" or not flags or not flags[0] & 0x08:
        return 1

    def header(head: bytes, pos: int) -> tuple[bytes, int, int]:
        kind, length = struct.unpack("<4sI", head)
        return kind, length, pos + 8 + length + (length & 1)

    return _chunk_orientation(data, 12, header, b"EXIF", None)


def _chunk_orientation(
    data: _FileBytes,
    pos: int,
    header: Callable[[bytes, int], tuple[bytes, int, int]],
    exif: bytes,
    end: bytes | None,
) -> int:
    """Walk 8-byte chunk headers from ``pos`` (``header``: kind, data length, next chunk's
    offset) to the ``exif`` chunk and read its orientation; 1 at ``end``, at the end of the
    file or after ``MAX_CHUNKS`` chunks (a file made of empty chunks must not spin)."""
    for _ in range(MAX_CHUNKS):
        head = data.read(pos, 8)
        if len(head) < 8:
            return 1
        kind, length, following = header(head, pos)
        if kind == exif:
            return _tiff_orientation(data.read(pos + 8, min(length, MAX_EXIF_BYTES)))
        if kind == end:
            return 1
        pos = following
    return 1


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


def _jpeg_frame_size(buf: bytes, complete: bool) -> tuple[int, int, int, int] | None | _NeedMore:
    """``(w, h, orientation, components)`` from the JPEG frame header and EXIF in ``buf`` (stored size,
    not yet turned); None when the file has no frame header (corrupt).

    The same walk over the markers as the streaming ``_jpeg`` (which stays the reference
    and the fallback), on bytes in memory. When ``buf`` is only the start of the file
    (``complete`` False) and the walk runs off its end, or an EXIF segment reaches past
    it, the answer is ``_NEED_MORE``.
    """
    n = len(buf)
    end = None if complete else _NEED_MORE
    orientation: int | None = None
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
            if pos + 6 > n:
                return end
            h, w = struct.unpack_from(">HH", buf, pos + 1)
            return w, h, orientation or 1, buf[pos + 5]
        if marker == 0xDA:  # start of scan before any SOF: not a valid JPEG
            return None
        if marker == 0xE1 and orientation is None and length >= 8:
            if pos + length - 2 > n and not complete:
                return _NEED_MORE
            orientation = _exif_orientation(buf[pos : pos + length - 2])
        pos += length - 2


def _exif_orientation(seg: bytes) -> int | None:
    """The Orientation tag (0x0112) of an APP1 segment's payload; None when it is not EXIF.

    EXIF is a small TIFF file: byte order ``II`` or ``MM``, the offset of IFD0, then
    12-byte entries (tag, type, count, value). Anything malformed reads as no orientation
    (1): a bad tag must not make an image unusable, and OpenCV is told to ignore its own
    reading, so this one is the only one that counts.
    """
    if seg[:6] != b"Exif\x00\x00":
        return None
    return _tiff_orientation(seg[6:])


def _tiff_orientation(tiff: bytes) -> int:
    """The Orientation tag of IFD0 of a TIFF block (EXIF's layout); 1 when absent or malformed."""
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return 1
    (ifd,) = struct.unpack_from(order + "I", tiff, 4)
    if ifd + 2 > len(tiff):
        return 1
    (count,) = struct.unpack_from(order + "H", tiff, ifd)
    for i in range(count):
        at = ifd + 2 + 12 * i
        if at + 12 > len(tiff):
            break
        tag, kind = struct.unpack_from(order + "HH", tiff, at)
        if tag == 0x0112:
            if kind != 3:  # SHORT
                return 1
            (value,) = struct.unpack_from(order + "H", tiff, at + 8)
            return value if 1 <= value <= 8 else 1
    return 1


def _jpeg_checked(
    size: tuple[int, int, int, int] | None, buf: bytes, complete: bool, fd: int | None, check_end: bool
) -> ImageHeader:
    """The JPEG's header from its frame size, with the end-of-image check (as ``_jpeg`` does it)."""
    if size is None:
        return ImageHeader(None, None, "jpeg", "the JPEG header has no frame size (corrupt file)")
    if check_end:
        if complete:
            total, tail = len(buf), buf[-2:]
        else:
            assert fd is not None
            total = os.lseek(fd, -2, os.SEEK_END) + 2
            tail = os.read(fd, 2)
        if total < 4:
            return ImageHeader(None, None, "jpeg", "the JPEG file is cut short")
        if tail != b"\xff\xd9":
            return _truncated(*size)
    return _sized(size[0], size[1], "jpeg", size[2], "uint8", _jpeg_channels(size[3]))


def _jpeg_channels(components: int) -> int:
    """Channels of a decoded JPEG: 1 for greyscale, else colour (CMYK too decodes to 3)."""
    return 1 if components == 1 else 3


def _truncated(w: int, h: int, orientation: int, components: int) -> ImageHeader:
    if orientation in _TRANSPOSED:
        w, h = h, w
    return ImageHeader(
        w,
        h,
        "jpeg",
        "the JPEG is truncated (no end-of-image marker): re-export or re-download it",
        orientation,
        dtype="uint8",
        channels=_jpeg_channels(components),
    )


def _sized(
    w: int, h: int, fmt: str, orientation: int = 1, dtype: str | None = None, channels: int | None = None
) -> ImageHeader:
    """The header of a stored ``w`` x ``h`` image, as displayed after ``orientation``."""
    if w <= 0 or h <= 0:
        return ImageHeader(None, None, fmt, f"the header gives an invalid size {w}x{h}")
    if orientation in _TRANSPOSED:
        w, h = h, w
    problem = too_large_problem(w, h)
    if problem:
        return ImageHeader(int(w), int(h), fmt, problem, orientation, TOO_LARGE_KIND, dtype, channels)
    return ImageHeader(int(w), int(h), fmt, None, orientation, None, dtype, channels)


def _jpeg(f: BinaryIO, check_end: bool) -> ImageHeader:
    """The streaming parser: reads marker by marker, for a JPEG whose frame header is far in."""
    f.seek(2)
    size: tuple[int, int, int] | None = None
    orientation: int | None = None
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
            data = f.read(6)
            if len(data) < 6:
                break
            h, w = struct.unpack(">HH", data[1:5])
            size = (w, h, data[5])
            break
        if marker == 0xDA:  # start of scan before any SOF: not a valid JPEG
            break
        if marker == 0xE1 and orientation is None and length >= 8:
            orientation = _exif_orientation(f.read(length - 2))
            continue
        f.seek(length - 2, os.SEEK_CUR)
    if size is None:
        return ImageHeader(None, None, "jpeg", "the JPEG header has no frame size (corrupt file)")
    if check_end:
        f.seek(0, os.SEEK_END)
        if f.tell() < 4:
            return ImageHeader(None, None, "jpeg", "the JPEG file is cut short")
        f.seek(-2, os.SEEK_END)
        if f.read(2) != b"\xff\xd9":
            return _truncated(size[0], size[1], orientation or 1, size[2])
    return _sized(size[0], size[1], "jpeg", orientation or 1, "uint8", _jpeg_channels(size[2]))


def _webp(data: _FileBytes) -> ImageHeader:
    head = data.read(0, 30)
    chunk = head[12:16]
    if chunk == b"VP8X" and len(head) >= 30:
        w = 1 + int.from_bytes(head[24:27], "little")
        h = 1 + int.from_bytes(head[27:30], "little")
        return _sized(w, h, "webp", _webp_orientation(data))
    if chunk == b"VP8 " and len(head) >= 30:
        w, h = struct.unpack("<HH", head[26:30])
        return _sized(w & 0x3FFF, h & 0x3FFF, "webp")
    if chunk == b"VP8L" and len(head) >= 25:
        b = head[21:25]
        w = 1 + (((b[1] & 0x3F) << 8) | b[0])
        h = 1 + (((b[3] & 0xF) << 10) | (b[2] << 2) | ((b[1] & 0xC0) >> 6))
        return _sized(w, h, "webp")
    return ImageHeader(None, None, "webp", "unrecognised WebP header")


def _decode_fallback(path: str | os.PathLike[str]) -> ImageHeader:
    """A format not parsed here: let the raw reader decode it (this one does decode),
    so the size is the decoded array's by construction."""
    from workbench.core.image_io import ImageReadError, ImageTooLargeError, read_raw_image

    fmt = Path(path).suffix.lower().lstrip(".") or None
    try:
        img = read_raw_image(path)
    except ImageTooLargeError as e:
        return ImageHeader(None, None, fmt, e.reason, problem_kind=TOO_LARGE_KIND)
    except ImageReadError:
        return ImageHeader(None, None, None, "not a readable image (unknown or corrupt format)")
    depth = depth_of_array(img)
    return _sized(img.shape[1], img.shape[0], fmt or "", 1, depth.dtype, depth.channels)


def turned_hint(header: ImageHeader, declared: tuple[int | None, int | None]) -> str:
    """For a size mismatch that is the EXIF turn: the boxes may have been drawn unturned.

    A tool that ignores EXIF writes the stored size (640x480) of a photo shown turned
    (480x640) and draws its boxes on the stored pixels; taking the displayed size alone
    then leaves every box in the wrong place, so the message says so.
    """
    if header.orientation in (5, 6, 7, 8) and declared == (header.height, header.width):
        return (
            f" (the file's EXIF orientation {header.orientation} turns it: if the boxes were drawn on the "
            "unturned picture, they need turning too)"
        )
    return ""

"""The one way images are read and written: bytes in, bytes out, OpenCV only in memory.

No path string reaches OpenCV: its own file reading (``imread``) fails on a file name that is not
valid in the locale's encoding (and on Windows on any non-ASCII name), and it opens a FIFO
or a device as readily as a file, blocking forever. Here the file is checked to be a
regular file before it is opened, read as bytes, and decoded with ``cv2.imdecode``;
writing is ``cv2.imencode`` plus an atomic write.

Orientation is decided by ``imageheader`` alone. OpenCV applies a JPEG's EXIF orientation
for ``IMREAD_COLOR``, ``IMREAD_GRAYSCALE`` and the ``IMREAD_REDUCED_*`` flags but not for
``IMREAD_UNCHANGED`` (checked with OpenCV 5.1), so the header and the pixels would
disagree depending on the flag. Every decode here passes ``IMREAD_IGNORE_ORIENTATION``
and turns the pixels by the orientation the header reader parsed, so the decoded array
always has the header's size. (TIFF is the exception OpenCV makes itself: its decoder
applies the TIFF orientation whatever the flag; the header of a TIFF is taken from the
decoded array, so the two agree there too.)

The pixel limit is checked on the declared size before decoding, with the same message
validation shows; a decode that OpenCV refuses or fails becomes ``ImageReadError``.

Two readers share all of that. ``read_image`` gives 8-bit BGR, what the screen and an
ordinary model take; ``read_raw_image`` gives the file's own pixels, 16-bit greyscale,
16-bit RGB or float32 as stored (``cv2.IMREAD_UNCHANGED`` and, for TIFF, tifffile, which
reads float and planar TIFFs that OpenCV refuses or flattens). A high-bit-depth file read
by ``read_image`` goes through the raw reader and a per-image 1st..99th percentile window
(``core.display_window``): OpenCV's own 8-bit conversion keeps the top 8 bits, so raw
values 7000..8020 became five grey levels. Training and prediction map raw pixels with the
checkpoint's ``core.input_range.InputRange`` instead, the same mapping for every image.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

import cv2
import numpy as np

from workbench.core.atomic import atomic_write_bytes
from workbench.core.imageheader import (
    READ_IMAGE,
    TOO_LARGE_KIND,
    ImageHeader,
    header_from_bytes,
    not_regular_problem,
    too_large_problem,
)

# A file that will not decode is reported here, naming it and saying what to do; OpenCV's own
# log lines for it ("TIFF_Error ... Failed to read directory at offset 4294967295") would
# reach the user's terminal as unexplained errors beside that message. Only fatal ones are
# kept, unless the user asks for more with OPENCV_LOG_LEVEL.
if "OPENCV_LOG_LEVEL" not in os.environ:
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_FATAL)

# libjpeg decodes at 1/2, 1/4, 1/8 of the size directly (DCT scaling): far faster than a
# full decode plus resize. Other formats decode full size and are resized here.
_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}
REDUCTIONS = (1, 2, 4, 8)


class ImageReadError(ValueError):
    """An image that cannot be read or decoded. The message names the file and says what to do."""

    def __init__(self, path: str | os.PathLike[str], reason: str | None = None) -> None:
        if reason is None:
            # Rebuilt from its message alone: torch re-raises a DataLoader worker's exception
            # as ``type(e)(message)``, and a two-argument constructor would turn it into a
            # RuntimeError that the training engine no longer recognises as bad input.
            # That message is the worker's whole traceback; its last line is ours.
            text = os.fsdecode(path)
            last = text.rstrip().rsplit("\n", 1)[-1]
            prefix = f"{type(self).__module__}.{type(self).__qualname__}: "
            self.path, self.reason = None, last[len(prefix) :] if last.startswith(prefix) else text
            super().__init__(self.reason)
            return
        self.path = path
        self.reason = reason
        super().__init__(f"{os.fsdecode(path)}: {reason}")

    def __reduce__(self) -> tuple[type, tuple]:
        return (type(self), (self.path, self.reason) if self.path is not None else (self.reason,))


class ImageTooLargeError(ImageReadError):
    """The image declares more pixels than OpenCV decodes (``imageheader.MAX_IMAGE_PIXELS``)."""


_UNDECODABLE = (
    "cannot decode this image (corrupt or not an image): fix or remove it; `workbench validate` lists all such files"
)


def read_image_bytes(path: str | os.PathLike[str]) -> bytes:
    """The whole file, refusing anything that is not a regular file (a FIFO would block)."""
    try:
        problem = not_regular_problem(os.stat(path).st_mode)
        if problem:
            raise ImageReadError(path, problem)
        fd = os.open(path, READ_IMAGE)
        with open(fd, "rb") as f:
            problem = not_regular_problem(os.fstat(f.fileno()).st_mode)
            if problem:
                raise ImageReadError(path, problem)
            return f.read()
    except OSError as e:
        raise ImageReadError(path, f"cannot be read: {e.strerror or e}") from e


def decode_image(data: bytes, path: str | os.PathLike[str], reduce: int = 1, at_least: int | None = None) -> np.ndarray:
    """BGR uint8 ``(h, w, 3)`` pixels of an image file's bytes, turned as displayed.

    ``reduce`` (1, 2, 4, 8) decodes at that fraction of the size; ``at_least`` instead picks
    the coarsest reduction whose longer side still has ``at_least`` pixels (thumbnails).
    ``path`` only names the file in errors.
    """
    header = _checked_header(data, path)
    if header is not None and header.depth is not None and header.depth.high:
        return reduce_pixels(_raw_to_bgr(decode_raw_image(data, path)), reduce, at_least)
    if at_least is not None and header is not None and header.width and header.height:
        longest = max(header.width, header.height)
        reduce = max([r for r in REDUCTIONS if longest / r >= at_least] or [1])
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, not {reduce}")
    jpeg = header is not None and header.format == "jpeg"
    flags = (_REDUCED[reduce] if jpeg and reduce > 1 else cv2.IMREAD_COLOR) | cv2.IMREAD_IGNORE_ORIENTATION
    try:
        img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags)
    except cv2.error as e:
        if "CV_IO_MAX_IMAGE" in str(e):
            raise ImageTooLargeError(
                path, "the image is larger than OpenCV decodes: downscale it or cut it into tiles, or exclude it"
            ) from e
        raise ImageReadError(path, _UNDECODABLE) from e
    if img is None:
        if header is not None and header.format == "tiff":  # e.g. float samples: OpenCV's RGBA path refuses
            return reduce_pixels(_raw_to_bgr(decode_raw_image(data, path)), reduce, None)
        raise ImageReadError(path, _UNDECODABLE)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if header is not None and header.format != "tiff":  # OpenCV turns a TIFF itself
        img = apply_orientation(img, header.orientation)
    if header is None or header.format != "jpeg":
        problem = too_large_problem(img.shape[1], img.shape[0])
        if problem:  # a format whose size only the decoder knew
            raise ImageTooLargeError(path, problem)
        img = reduce_pixels(img, reduce, None)
    return img


def _checked_header(data: bytes, path: str | os.PathLike[str]) -> ImageHeader | None:
    """The header of the bytes, refusing an empty file or a declared size OpenCV refuses."""
    header = header_from_bytes(data)
    if header is not None and header.problem_kind == TOO_LARGE_KIND:
        raise ImageTooLargeError(path, header.problem or "")
    if not data:
        raise ImageReadError(path, "the file is empty (0 bytes)")
    return header


def reduce_pixels(img: np.ndarray, reduce: int, at_least: int | None = None) -> np.ndarray:
    """``img`` at 1/``reduce`` of its size (or the coarsest reduction keeping ``at_least`` pixels)."""
    h, w = img.shape[:2]
    if at_least is not None:
        reduce = max([r for r in REDUCTIONS if max(w, h) / r >= at_least] or [1])
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce must be one of {REDUCTIONS}, not {reduce}")
    if reduce == 1:
        return img
    return cv2.resize(img, (max(1, -(-w // reduce)), max(1, -(-h // reduce))), interpolation=cv2.INTER_AREA)


def _raw_to_bgr(raw: np.ndarray) -> np.ndarray:
    """Raw pixels as 8-bit BGR through the automatic per-image window (what ``read_image`` shows)."""
    from workbench.core.display_window import to_display

    return to_display(raw)


def decode_raw_image(data: bytes, path: str | os.PathLike[str]) -> np.ndarray:
    """The pixels of an image file's bytes in the file's own dtype, turned as displayed.

    ``(h, w)`` for one channel, ``(h, w, c)`` otherwise, colour in OpenCV's BGR(A) order
    (TIFFs too, so both readers agree). 8-bit files give the same pixels as ``decode_image``
    before its conversion to 3 channels. ``path`` only names the file in errors.
    """
    header = _checked_header(data, path)
    img: np.ndarray | None = None
    if header is not None and header.format == "tiff":
        img = _tifffile_pixels(data)
        if img is not None:
            img = apply_orientation(img, header.orientation)
    if img is None:
        try:
            img = cv2.imdecode(
                np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED | cv2.IMREAD_IGNORE_ORIENTATION
            )
        except cv2.error as e:
            if "CV_IO_MAX_IMAGE" in str(e):
                raise ImageTooLargeError(
                    path, "the image is larger than OpenCV decodes: downscale it or cut it into tiles, or exclude it"
                ) from e
            raise ImageReadError(path, _UNDECODABLE) from e
        if img is None:
            raise ImageReadError(path, _UNDECODABLE)
        if header is not None and header.format != "tiff":  # OpenCV turns a TIFF itself
            img = apply_orientation(img, header.orientation)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim not in (2, 3) or img.size == 0:
        raise ImageReadError(path, f"unexpected pixel layout {img.shape}: save it as a plain greyscale or RGB image")
    problem = too_large_problem(img.shape[1], img.shape[0])
    if problem:
        raise ImageTooLargeError(path, problem)
    return np.ascontiguousarray(img)


def _tifffile_pixels(data: bytes) -> np.ndarray | None:
    """The first page of a TIFF as ``(h, w)`` or ``(h, w, c)`` BGR(A) by tifffile; None when
    tifffile cannot decode it (a compression it lacks a codec for): OpenCV then tries."""
    try:
        import tifffile

        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            page = tif.pages[0]
            img = page.asarray()
            axes = page.axes
    except Exception:  # noqa: BLE001 - whatever tifffile raises, OpenCV gets its turn and names the problem
        return None
    if axes.startswith("S") and img.ndim == 3:  # planar: one plane per sample
        img = np.moveaxis(img, 0, -1)
    if img.ndim > 3:  # a depth or time axis of length 1
        img = np.squeeze(img)
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    if img.ndim == 3 and img.shape[2] in (3, 4):
        img = np.concatenate([img[:, :, 2::-1], img[:, :, 3:]], axis=2)  # RGB(A) -> BGR(A), as OpenCV gives
    return img


def read_image(path: str | os.PathLike[str], reduce: int = 1, at_least: int | None = None) -> np.ndarray:
    """BGR uint8 pixels of an image file as displayed (EXIF orientation applied).

    The array's size is what ``read_image_header`` reports (divided by ``reduce``).
    Raises ``ImageReadError`` (``ImageTooLargeError`` for a size OpenCV refuses) with a
    message naming the file; never ``cv2.error``.
    """
    return decode_image(read_image_bytes(path), path, reduce, at_least)


def read_raw_image(path: str | os.PathLike[str]) -> np.ndarray:
    """The file's own pixels (uint8, uint16, float32...), ``(h, w)`` or ``(h, w, c)`` BGR(A),
    turned as displayed, with ``read_image``'s safety (no FIFOs, size limits, our errors).

    Thermal data is read with this: its raw values (often temperature-like) are what the
    status bar shows and what ``core.input_range`` maps for a model.
    """
    return decode_raw_image(read_image_bytes(path), path)


def apply_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels into displayed pixels for EXIF ``orientation`` 1..8.

    The EXIF values say where row 0 / column 0 of the stored image belong: 2 mirror, 3 turn
    180, 4 flip, 5 transpose, 6 turn 90 clockwise, 7 transverse, 8 turn 90 counter-clockwise.
    """
    if orientation == 2:
        img = cv2.flip(img, 1)
    elif orientation == 3:
        img = cv2.rotate(img, cv2.ROTATE_180)
    elif orientation == 4:
        img = cv2.flip(img, 0)
    elif orientation == 5:
        img = cv2.transpose(img)
    elif orientation == 6:
        img = cv2.rotate(img, cv2.ROTATE_90_CLOCKWISE)
    elif orientation == 7:
        img = cv2.rotate(cv2.transpose(img), cv2.ROTATE_180)
    elif orientation == 8:
        img = cv2.rotate(img, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return img


def encode_image(img: np.ndarray, ext: str, params: Sequence[int] = ()) -> bytes:
    """The bytes of ``img`` in the format of ``ext`` (".jpg", ".png", ...)."""
    ext = ext if ext.startswith(".") else f".{ext}"
    try:
        ok, buf = cv2.imencode(ext, img, list(params))
    except cv2.error as e:
        raise ValueError(f"cannot encode an image as {ext}: {e}") from e
    if not ok:
        raise ValueError(f"cannot encode an image as {ext}")
    return buf.tobytes()


def write_image(
    path: str | os.PathLike[str], img: np.ndarray, ext: str | None = None, params: Sequence[int] = ()
) -> None:
    """Write ``img`` atomically (old file or new file, never half of one); ``ext`` defaults to
    the path's suffix."""
    suffix = ext or os.path.splitext(os.fspath(path))[1]
    if not suffix:
        raise ValueError(f"{os.fsdecode(path)}: no file extension to choose the image format by")
    atomic_write_bytes(path, encode_image(img, suffix, params))

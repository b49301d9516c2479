"""Decoded images for the canvas: decoded in a thread pool, kept in an LRU cache, prefetched.

A 12-megapixel JPEG takes ~100 ms to decode, six frames of UI time. The window asks
``get`` for the image it wants to show; a hit returns at once, a miss queues a decode at
high priority and the result arrives later through ``imageReady``. The neighbours of
the current image are queued at low priority, so paging with the keyboard finds them
decoded.

Images much larger than the screen are decoded at 1/2, 1/4 or 1/8 resolution with
libjpeg's DCT scaling (``core.image_io.read_image(reduce=N)``): it is several times faster than a
full decode plus resize and the pixels are what the view would show anyway. The
canvas keeps image coordinates in full-resolution pixels and scales the pixmap; when
the user zooms in beyond the decoded resolution the window asks for scale 1.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, QThread, QThreadPool, Signal
from PySide6.QtGui import QImage

from workbench.core import image_io
from workbench.core.display_window import DisplaySettings
from workbench.core.image_io import ImageReadError, decode_raw_image, read_image_bytes, reduce_pixels
from workbench.core.imageheader import header_from_bytes
from workbench.gui.jobs import Job, run_in_pool

# decode scale -> reduction. Only JPEG decodes reduced natively; other formats decode full
# size and are resized (still off the UI thread).
_REDUCE = {1.0: 1, 0.5: 2, 0.25: 4, 0.125: 8}
SCALES = (1.0, 0.5, 0.25, 0.125)


@dataclass
class DecodedImage:
    """Pixels of one image, possibly at reduced resolution.

    ``rgb`` is (h, w, 3) uint8 RGB; ``qimage`` wraps the same memory (built in the
    worker so the UI thread only uploads it); ``scale`` is decoded size / full size;
    ``error`` says why decoding failed. ``raw`` keeps a high-bit-depth image's own pixels
    (16-bit, float) at the same scale: the status bar reads values from it, and a new
    display window re-renders ``rgb`` from it without decoding again.
    """

    path: str
    rgb: np.ndarray | None
    qimage: QImage | None
    scale: float
    error: str | None = None
    raw: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        own = 0 if self.rgb is None else int(self.rgb.nbytes)
        return own + (0 if self.raw is None else int(self.raw.nbytes))


def decode_scale_for(image_size: tuple[int, int] | None, view_size: tuple[int, int]) -> float:
    """Smallest decode scale whose pixels still cover the view at fit zoom (never upsampled)."""
    if not image_size or not image_size[0] or not image_size[1]:
        return 1.0
    need = max(view_size[0] / image_size[0], view_size[1] / image_size[1])
    chosen = 1.0
    for s in SCALES:
        if s >= need:
            chosen = s
    return chosen


def decode_image(path: str, scale: float = 1.0, display: DisplaySettings | None = None) -> DecodedImage:
    """Decode ``path`` at ``scale`` (one of ``SCALES``) into RGB as displayed (EXIF orientation
    applied, so the pixmap has the size the labels use); errors become ``error``.

    A 16-bit or float image is decoded raw and shown through ``display``'s window and
    palette (default: the automatic per-image window), never through OpenCV's 8-bit cut.
    """
    reduce = _REDUCE.get(scale, 1)
    raw = None
    try:
        data = read_image_bytes(path)
        header = header_from_bytes(data)
        if header is not None and header.depth is not None and header.depth.high:
            raw = reduce_pixels(decode_raw_image(data, path), reduce)
            bgr = (display or DisplaySettings()).render(raw)
        else:
            bgr = image_io.decode_image(data, path, reduce)
    except ImageReadError as e:
        return DecodedImage(path, None, None, scale, str(e))
    return _decoded(path, bgr, scale, raw)


def _decoded(path: str, bgr: np.ndarray, scale: float, raw: np.ndarray | None) -> DecodedImage:
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    qimg = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return DecodedImage(path, rgb, qimg, scale, raw=raw)


def redisplay(decoded: DecodedImage, display: DisplaySettings) -> DecodedImage:
    """``decoded`` shown through another window or palette (same raw pixels, no decode);
    an 8-bit image is returned as it is."""
    if decoded.raw is None:
        return decoded
    return _decoded(decoded.path, display.render(decoded.raw), decoded.scale, decoded.raw)


class ImageCache(QObject):
    """LRU cache of decoded images, filled by a thread pool."""

    imageReady = Signal(str, object)  # path, DecodedImage

    def __init__(self, capacity_mb: int = 768, threads: int | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.capacity = capacity_mb * 1024 * 1024
        self._pool = QThreadPool(self)
        # Leave a core to the UI thread: it uploads and paints what the decoders produce.
        self._pool.setMaxThreadCount(threads or max(1, QThread.idealThreadCount() - 1))
        self._items: OrderedDict[tuple[str, float], DecodedImage] = OrderedDict()
        self._bytes = 0
        self._inflight: dict[tuple[str, float], Job] = {}  # touched on the GUI thread only
        self.display = DisplaySettings()

    def get(self, path: str | Path, scale: float = 1.0) -> DecodedImage | None:
        """The cached image at ``scale`` or finer; None (and a decode is queued) on a miss."""
        key = str(path)
        hit = self.peek(key, scale)
        if hit is not None:
            self._items.move_to_end((key, hit.scale))
            return hit
        self._start(key, scale, priority=10)
        return None

    def peek(self, path: str, scale: float) -> DecodedImage | None:
        best = None
        for s in SCALES:
            if s >= scale:
                item = self._items.get((path, s))
                if item is not None and (best is None or s < best.scale):
                    best = item
        return best

    def prefetch(self, paths: list[str | Path], scale: float = 1.0) -> None:
        """Queue low-priority decodes, nearest neighbour first."""
        for i, p in enumerate(paths):
            key = str(p)
            if self.peek(key, scale) is None:
                self._start(key, scale, priority=-i - 1)

    def clear(self) -> None:
        """Forget every image, and the decodes still queued or running: another dataset was
        opened, and the old one's prefetches must neither take the pool nor fill the cache."""
        self._items.clear()
        self._bytes = 0
        for job in self._inflight.values():
            job.cancel()
        self._inflight.clear()

    def set_display(self, display: DisplaySettings) -> None:
        """Show high-bit-depth images through ``display`` from now on: cached ones are
        re-rendered from their raw pixels (no decode) and announced with ``imageReady``."""
        self.display = display
        for job in self._inflight.values():  # would arrive with the old window
            job.cancel()
        self._inflight.clear()
        for key, item in list(self._items.items()):
            if item.raw is not None:
                self._items[key] = redisplay(item, display)
                self.imageReady.emit(key[0], self._items[key])

    def wait(self, msecs: int = 30000) -> bool:
        return self._pool.waitForDone(msecs)

    def _start(self, path: str, scale: float, priority: int) -> None:
        if (path, scale) not in self._inflight:
            self._inflight[(path, scale)] = run_in_pool(
                decode_image,
                path,
                scale,
                self.display,
                on_done=self._on_done,
                owner=self,
                pool=self._pool,
                priority=priority,
            )

    def _on_done(self, result: DecodedImage) -> None:
        key = (result.path, result.scale)
        self._inflight.pop(key, None)
        if result.error is None:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._items[key] = result
            self._bytes += result.nbytes
            while self._bytes > self.capacity and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.nbytes
        self.imageReady.emit(result.path, result)

"""Thumbnails for the image grid, made off the UI thread and cached on disk.

The grid asks for a thumbnail every time a cell is painted. A miss returns ``None`` at
once and queues the file; workers in a ``QThreadPool`` read the disk cache (keyed by
path, file size, mtime and thumbnail size, so an edited image gets a new thumbnail) or
decode with ``core.image_io`` (libjpeg's reduced-resolution path, EXIF orientation
applied), and post a ``QImage`` back with a
signal. The queue is served newest-first and capped: when the user flings the grid past
50k images, the cells they scrolled past are dropped instead of decoded.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict, deque
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QObject, QThreadPool, Signal
from PySide6.QtGui import QImage, QPixmap

from workbench.core.image_io import ImageReadError, encode_image, read_image
from workbench.gui.jobs import run_in_pool
from workbench.gui.settings import cache_dir

THUMB_SIZE = 128
MAX_QUEUE = 256
MEMORY_ITEMS = 2000


def thumbnail_key(path: Path, size: int) -> str | None:
    """Cache file name for ``path`` at ``size``; None when the file cannot be stat'ed."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    # fsencode: a file name that is not valid UTF-8 hashes by its bytes instead of failing.
    ident = os.fsencode(Path(path).resolve()) + f"|{st.st_size}|{st.st_mtime_ns}|{size}".encode()
    return hashlib.sha1(ident).hexdigest()


def make_thumbnail(path: Path, size: int) -> np.ndarray:
    """BGR thumbnail as displayed whose longer side is ``size``; decodes at reduced resolution
    when it can. Raises ``ImageReadError`` for a file that cannot be decoded."""
    img = read_image(path, at_least=size)
    h, w = img.shape[:2]
    scale = size / max(h, w)
    if scale < 1:
        img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return img


def bgr_to_qimage(img: np.ndarray) -> QImage:
    """A QImage that owns its pixels (safe to send across threads)."""
    rgb = np.ascontiguousarray(img[:, :, ::-1])
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


class ThumbnailLoader(QObject):
    """Thumbnails by path: ``get`` returns a pixmap or None and emits ``thumbnailReady`` later."""

    thumbnailReady = Signal(str)

    def __init__(
        self, size: int = THUMB_SIZE, folder: Path | None = None, threads: int = 2, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.size = size
        self.folder = folder or (cache_dir() / "thumbnails")
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._lock = threading.Lock()
        self._queue: deque[str] = deque()
        self._queued: set[str] = set()
        self._running = 0
        self._memory: OrderedDict[str, QPixmap] = OrderedDict()
        self._failed: set[str] = set()

    def get(self, path: str | Path) -> QPixmap | None:
        key = str(path)
        pix = self._memory.get(key)
        if pix is not None:
            self._memory.move_to_end(key)
            return pix
        if key not in self._failed:
            self._request(key)
        return None

    def pending(self) -> int:
        with self._lock:
            return len(self._queue) + self._running

    def wait(self, msecs: int = 30000) -> bool:
        return self._pool.waitForDone(msecs)

    def clear_queue(self) -> None:
        """Forget queued requests (a new dataset was opened)."""
        with self._lock:
            self._queue.clear()
            self._queued.clear()

    # ------------------------------------------------------------------ internals
    def _request(self, key: str) -> None:
        with self._lock:
            if key in self._queued:
                return
            self._queue.append(key)
            self._queued.add(key)
            while len(self._queue) > MAX_QUEUE:
                self._queued.discard(self._queue.popleft())
            start = self._running < self._pool.maxThreadCount()
            if start:
                self._running += 1
        if start:
            run_in_pool(self._drain, on_yield=self._on_done, owner=self, pool=self._pool)

    def _drain(self) -> Iterator[tuple[str, QImage]]:
        """Pool thread: serve the shared queue until it is empty, posting each thumbnail (a null
        image: the file cannot be read). Workers drain one queue rather than one job per
        file, so the newest request is always served next and dropped requests cost nothing."""
        while True:
            with self._lock:
                if not self._queue:
                    self._running -= 1
                    return
                key = self._queue.pop()  # newest first: what the user looks at now
            image = self._load(Path(key))
            with self._lock:
                self._queued.discard(key)
            yield key, image if image is not None else QImage()

    def _load(self, path: Path) -> QImage | None:
        name = thumbnail_key(path, self.size)
        if name is None:
            return None
        cached = self.folder / name[:2] / f"{name}.jpg"
        if cached.exists():
            img = QImage(str(cached))
            if not img.isNull():
                return img
        try:
            thumb = make_thumbnail(path, self.size)
        except ImageReadError:
            return None  # the cell stays blank; validation names the file and the problem
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            # A cache entry needs no fsync (a lost one is made again), only a rename so that
            # no reader sees half of one.
            data = encode_image(thumb, ".jpg", [cv2.IMWRITE_JPEG_QUALITY, 85])
            tmp = cached.with_suffix(f".{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, cached)
        except (OSError, ValueError):
            pass  # a read-only cache folder only costs speed
        return bgr_to_qimage(thumb)

    def _on_done(self, item: tuple[str, QImage]) -> None:
        key, image = item
        if image.isNull():
            self._failed.add(key)
            return
        self._memory[key] = QPixmap.fromImage(image)
        while len(self._memory) > MEMORY_ITEMS:
            self._memory.popitem(last=False)
        self.thumbnailReady.emit(key)

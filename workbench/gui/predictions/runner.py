"""Running a checkpoint on images in the background, with a cache of what it already said.

The model runs once per (checkpoint file and its mtime, image) at a low confidence, so
that the viewer's score and NMS sliders only filter cached predictions. A retrained
``best.pt`` has a new mtime and is run again. One pool thread does the work: the
predictor (seconds to load) is kept between jobs and never used from two threads.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from workbench.core.prediction import Prediction

BATCH = 4
CACHE_IMAGES = 20000


class PredictorLike(Protocol):
    classes: list[str]

    def predict_paths(
        self,
        paths: Any,
        batch_size: int = ...,
        conf: float | None = ...,
        progress: Callable[[int, int], Any] | None = ...,
    ) -> dict[Path, list[Prediction]]: ...


PredictorFactory = Callable[[Path], PredictorLike]


def default_factory(weights: Path) -> PredictorLike:
    from workbench.train.predictor import Predictor

    return Predictor(weights)


def weights_key(weights: str | Path) -> tuple[str, int]:
    """Identity of a checkpoint's content: its path and modification time."""
    p = Path(weights)
    return str(p.resolve()), p.stat().st_mtime_ns


class PredictionCache:
    """Raw (low-confidence) predictions by (weights key, image path); oldest dropped beyond ``limit``."""

    def __init__(self, limit: int = CACHE_IMAGES) -> None:
        self.limit = limit
        self._items: OrderedDict[tuple[tuple[str, int], str], list[Prediction]] = OrderedDict()

    def get(self, key: tuple[str, int], image: str | Path) -> list[Prediction] | None:
        return self._items.get((key, str(image)))

    def put(self, key: tuple[str, int], image: str | Path, preds: list[Prediction]) -> None:
        self._items[(key, str(image))] = preds
        self._items.move_to_end((key, str(image)))
        while len(self._items) > self.limit:
            self._items.popitem(last=False)

    def missing(self, key: tuple[str, int], images: list[Path]) -> list[Path]:
        return [p for p in images if (key, str(p)) not in self._items]

    def __len__(self) -> int:
        return len(self._items)


class _Poster(QObject):
    batch = Signal(object, object)  # weights key, {path: [Prediction]}
    progress = Signal(int, int)
    done = Signal(object, str)  # {path: reason} of images that failed, error message ("" when fine)
    loaded = Signal(object)  # the predictor (its classes and keypoint schema)


class _Job(QRunnable):
    def __init__(self, runner: PredictionRunner, weights: Path, key: tuple[str, int], paths: list[Path]) -> None:
        super().__init__()
        self._runner, self._weights, self._key, self._paths = runner, weights, key, paths
        self.cancelled = False

    def run(self) -> None:
        poster = self._runner.poster
        failed: dict[Path, str] = {}
        try:
            predictor = self._runner.predictor_for(self._weights, self._key)
            poster.loaded.emit(predictor)
            for start in range(0, len(self._paths), BATCH):
                if self.cancelled:
                    break
                chunk = self._paths[start : start + BATCH]
                found = predictor.predict_paths(chunk, batch_size=BATCH)
                failed.update(getattr(predictor, "failed", {}) or {})
                poster.batch.emit(self._key, found)
                poster.progress.emit(min(start + BATCH, len(self._paths)), len(self._paths))
        except Exception as e:  # noqa: BLE001 - a bad checkpoint must become a message, not a dead thread
            poster.done.emit(failed, f"{self._weights}: {type(e).__name__}: {e}")
            return
        poster.done.emit(failed, "")


class PredictionRunner(QObject):
    """``run(weights, paths)`` predicts what the cache lacks; results arrive through the signals."""

    predicted = Signal(object)  # {path: [Prediction]} of a finished batch (already in the cache)
    progress = Signal(int, int)
    finished = Signal(object, str)  # failed {path: reason}, error message
    predictorLoaded = Signal(object)

    def __init__(self, factory: PredictorFactory | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.factory = factory or default_factory
        self.cache = PredictionCache()
        self.poster = _Poster(self)
        self.poster.batch.connect(self._on_batch)
        self.poster.progress.connect(self.progress)
        self.poster.done.connect(self._on_done)
        self.poster.loaded.connect(self.predictorLoaded)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._job: _Job | None = None
        self._predictor: tuple[tuple[str, int], PredictorLike] | None = None

    def busy(self) -> bool:
        return self._job is not None

    def run(self, weights: str | Path, paths: list[Path]) -> int:
        """Start predicting the images the cache lacks; returns how many (0: all cached, nothing runs)."""
        if self._job is not None:
            return -1
        key = weights_key(weights)
        todo = self.cache.missing(key, [Path(p) for p in paths])
        if not todo:
            return 0
        self._job = _Job(self, Path(weights), key, todo)
        self._job.setAutoDelete(False)
        self._pool.start(self._job)
        return len(todo)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancelled = True

    def wait(self, msecs: int = 30000) -> bool:
        return self._pool.waitForDone(msecs)

    def predictor_for(self, weights: Path, key: tuple[str, int]) -> PredictorLike:
        """The loaded predictor of ``key`` (pool thread only)."""
        if self._predictor is None or self._predictor[0] != key:
            self._predictor = None  # free the old model before loading the next
            self._predictor = (key, self.factory(weights))
        return self._predictor[1]

    def _on_batch(self, key: tuple[str, int], found: dict[Path, list[Prediction]]) -> None:
        for path, preds in found.items():
            self.cache.put(key, path, preds)
        self.predicted.emit(found)

    def _on_done(self, failed: dict[Path, str], error: str) -> None:
        self._job = None
        self.finished.emit(failed, error)

"""Running a checkpoint on images in the background, with a cache of what it already said.

The model runs once per (checkpoint file and its mtime, image) at a low confidence, so
that the viewer's score and NMS sliders only filter cached predictions. A retrained
``best.pt`` has a new mtime and is run again. One pool thread does the work: the
predictor (seconds to load) is kept between jobs and never used from two threads.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, QThreadPool, Signal

from workbench.core.prediction import Prediction
from workbench.gui.jobs import error_message, run_in_pool

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


@dataclass
class _Batch:
    """One batch's news from the pool thread."""

    key: tuple[str, int]  # weights key
    found: dict[Path, list[Prediction]]
    failed: dict[Path, str]  # images the predictor could not read so far
    done: int
    total: int


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
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._busy = False
        self._stop = False  # read by the pool thread between batches
        self._failed: dict[Path, str] = {}
        self._predictor: tuple[tuple[str, int], PredictorLike] | None = None

    def busy(self) -> bool:
        return self._busy

    def run(self, weights: str | Path, paths: list[Path]) -> int:
        """Start predicting the images the cache lacks; returns how many (0: all cached, nothing runs)."""
        if self._busy:
            return -1
        key = weights_key(weights)
        todo = self.cache.missing(key, [Path(p) for p in paths])
        if not todo:
            return 0
        self._busy, self._stop, self._failed = True, False, {}
        run_in_pool(
            self._predict,
            Path(weights),
            key,
            todo,
            on_yield=self._on_step,
            on_done=lambda _none: self._on_done(""),
            on_error=self._on_done,
            describe=lambda e: f"{weights}: {error_message(e)}",
            owner=self,
            pool=self._pool,
        )
        return len(todo)

    def cancel(self) -> None:
        """Stop after the batch being predicted; ``finished`` still follows, with what was done."""
        self._stop = True

    def wait(self, msecs: int = 30000) -> bool:
        return self._pool.waitForDone(msecs)

    def _predict(self, weights: Path, key: tuple[str, int], paths: list[Path]) -> Iterator[PredictorLike | _Batch]:
        """Pool thread: the predictor once loaded, then each batch's predictions."""
        predictor = self.predictor_for(weights, key)
        yield predictor
        failed: dict[Path, str] = {}
        for start in range(0, len(paths), BATCH):
            if self._stop:
                return
            found = predictor.predict_paths(paths[start : start + BATCH], batch_size=BATCH)
            failed.update(getattr(predictor, "failed", {}) or {})
            yield _Batch(key, found, dict(failed), min(start + BATCH, len(paths)), len(paths))

    def predictor_for(self, weights: Path, key: tuple[str, int]) -> PredictorLike:
        """The loaded predictor of ``key`` (pool thread only)."""
        if self._predictor is None or self._predictor[0] != key:
            self._predictor = None  # free the old model before loading the next
            self._predictor = (key, self.factory(weights))
        return self._predictor[1]

    def _on_step(self, step: PredictorLike | _Batch) -> None:
        if not isinstance(step, _Batch):
            self.predictorLoaded.emit(step)
            return
        for path, preds in step.found.items():
            self.cache.put(step.key, path, preds)
        self._failed = step.failed
        self.predicted.emit(step.found)
        self.progress.emit(step.done, step.total)

    def _on_done(self, error: str) -> None:
        self._busy = False
        self.finished.emit(self._failed, error)

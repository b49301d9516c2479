"""Running a checkpoint on images in the background, with a cache of what it already said.

The model runs once per (checkpoint file and its mtime, image) at a low confidence, so
that the viewer's score and NMS sliders only filter cached predictions. A retrained
``best.pt`` has a new mtime and is run again. One pool thread does the work: the
predictor (seconds to load) is kept between jobs and never used from two threads.

The cache holds what the model said, in its own class ids. Everyone reads it through
``predictions()``, which speaks the open dataset's ids (``core.class_map``: matched by
name, or as the user mapped them) and returns nothing for a model whose classes or
keypoints do not fit the dataset: such a model is stopped as soon as it is loaded, and
``refusal()`` says why. A new dataset stops a running job and re-checks every model.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QObject, QThreadPool, Signal

from workbench.core.annotation import Dataset
from workbench.core.class_map import ClassMapping, ClassMatchError, match_classes
from workbench.core.keypoints import KeypointSchema
from workbench.core.prediction import Prediction
from workbench.gui.jobs import error_message, run_in_pool
from workbench.qa.qc_reliability import Provenance

BATCH = 4
CACHE_IMAGES = 20000
GUI_HINT = "press Map classes… to say which dataset class each checkpoint class is (or ignore it)"


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
    """The PyTorch predictor for a checkpoint, the onnxruntime one for an exported .onnx model."""
    from workbench.runtime.onnx_predictor import OnnxPredictor, is_onnx_path

    if is_onnx_path(weights):
        return OnnxPredictor(weights)
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


@dataclass
class _Loaded:
    """The pool thread has the model: the UI thread checks its classes before any batch is used."""

    key: tuple[str, int]
    weights: Path
    predictor: PredictorLike


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
        # What each loaded checkpoint predicts: (file, classes, keypoint schema), by weights key.
        self.models: dict[tuple[str, int], tuple[Path, list[str], KeypointSchema | None]] = {}
        # What each loaded checkpoint learned from (its training images, training's val mAP50).
        self.provenances: dict[tuple[str, int], Provenance] = {}
        self._ds: Dataset | None = None
        self._data_path: str | None = None
        self._class_maps: dict[tuple[object, ...], dict[str, str]] = {}  # the user's, per checkpoint and classes
        self._checked: dict[tuple[str, int], ClassMapping | str] = {}  # mapping or refusal, for this dataset
        self._refused = ""  # the running job's model was refused: its finishing error

    def busy(self) -> bool:
        return self._busy

    # ------------------------------------------------------------------ classes
    def set_dataset(self, ds: Dataset | None, path: str | None = None) -> None:
        """The dataset predictions are for: a running job (the previous dataset's) stops, every model is re-checked."""
        if self._busy:
            self.cancel()
        self._ds, self._data_path = ds, path
        self._checked.clear()

    def _map_key(self, key: tuple[str, int]) -> tuple[object, ...]:
        ds = self._ds
        kp = tuple(ds.keypoints.names) if ds is not None and ds.keypoints is not None else None
        return (key, tuple(ds.classes) if ds is not None else (), kp)

    def class_map(self, key: tuple[str, int]) -> dict[str, str] | None:
        """The user's class map for this checkpoint on datasets of these classes, if one was given."""
        return self._class_maps.get(self._map_key(key))

    def set_class_map(self, key: tuple[str, int], class_map: dict[str, str] | None) -> str:
        """Use ``class_map`` (checkpoint name -> dataset name or ``ignore``) for this checkpoint; "" or why not."""
        if class_map is None:
            self._class_maps.pop(self._map_key(key), None)
        else:
            self._class_maps[self._map_key(key)] = dict(class_map)
        self._checked.pop(key, None)
        return self.refusal(key)

    def _check(self, key: tuple[str, int]) -> ClassMapping | str | None:
        """The loaded checkpoint's mapping onto the dataset, or the refusal; None while it is not loaded."""
        if key not in self.models or self._ds is None:
            return None
        if key not in self._checked:
            weights, classes, keypoints = self.models[key]
            self._checked[key] = self._matcher(key)(weights, classes, keypoints)
        return self._checked[key]

    def _matcher(self, key: tuple[str, int]) -> Callable[[Path, list[str], KeypointSchema | None], ClassMapping | str]:
        """The class check against the open dataset as it is now, as a function the pool thread can
        call the moment a model is loaded (so a refused model never predicts a single batch)."""
        ds = self._ds
        classes = list(ds.classes) if ds is not None else []
        schema = ds.keypoints if ds is not None else None
        class_map = self.class_map(key)
        data = self._data_path or "the dataset"

        def check(weights: Path, model_classes: list[str], keypoints: KeypointSchema | None) -> ClassMapping | str:
            try:
                return match_classes(
                    model_classes,
                    classes,
                    class_map,
                    model_keypoints=keypoints,
                    dataset_keypoints=schema,
                    checkpoint=str(weights),
                    dataset=data,
                    hint=GUI_HINT,
                    option="class map",
                )
            except ClassMatchError as e:
                return str(e)

        return check

    def mapping(self, key: tuple[str, int]) -> ClassMapping | None:
        """How this checkpoint's ids become the dataset's; None when refused or not loaded yet."""
        checked = self._check(key)
        return checked if isinstance(checked, ClassMapping) else None

    def refusal(self, key: tuple[str, int]) -> str:
        """Why this checkpoint may not touch the dataset's labels ("" when it may, or is not loaded yet)."""
        checked = self._check(key)
        return checked if isinstance(checked, str) else ""

    def provenance(self, key: tuple[str, int], weights: str | Path) -> Provenance:
        """What the checkpoint learned from: as it records it once loaded, else read from its run folder."""
        return self.provenances.get(key) or guess_provenance(Path(weights))

    def model_classes(self, key: tuple[str, int]) -> list[str] | None:
        return list(self.models[key][1]) if key in self.models else None

    def predictions(self, key: tuple[str, int], image: str | Path) -> list[Prediction] | None:
        """The cached predictions of ``image`` in the dataset's class ids; None when not predicted or refused."""
        mapping = self.mapping(key)
        raw = self.cache.get(key, image) if mapping is not None else None
        return None if raw is None or mapping is None else mapping.apply(raw)

    # ------------------------------------------------------------------ running
    def run(self, weights: str | Path, paths: list[Path]) -> int:
        """Start predicting the images the cache lacks; returns how many (0: all cached, nothing runs;
        -1: busy, or the checkpoint is refused for this dataset: see ``refusal``)."""
        if self._busy:
            return -1
        key = weights_key(weights)
        if self.refusal(key):
            return -1
        todo = self.cache.missing(key, [Path(p) for p in paths])
        if not todo:
            return 0
        self._busy, self._stop, self._failed, self._refused = True, False, {}, ""
        run_in_pool(
            self._predict,
            Path(weights),
            key,
            todo,
            self._matcher(key) if self._ds is not None else None,
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

    def _predict(
        self,
        weights: Path,
        key: tuple[str, int],
        paths: list[Path],
        check: Callable[[Path, list[str], KeypointSchema | None], ClassMapping | str] | None,
    ) -> Iterator[_Loaded | _Batch]:
        """Pool thread: the predictor once loaded, then each batch's predictions; not one batch
        when ``check`` refuses the model's classes for the dataset."""
        predictor = self.predictor_for(weights, key)
        yield _Loaded(key, weights, predictor)
        kp = getattr(predictor, "keypoints", None)
        if check is not None and isinstance(
            check(weights, list(predictor.classes), kp if isinstance(kp, KeypointSchema) else None), str
        ):
            return
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

    def _on_step(self, step: _Loaded | _Batch) -> None:
        if isinstance(step, _Loaded):
            kp = getattr(step.predictor, "keypoints", None)
            classes = list(step.predictor.classes)
            self.models[step.key] = (step.weights, classes, kp if isinstance(kp, KeypointSchema) else None)
            prov = getattr(step.predictor, "provenance", None)
            self.provenances[step.key] = prov if isinstance(prov, Provenance) else guess_provenance(step.weights)
            self._checked.pop(step.key, None)
            self._refused = self.refusal(step.key)
            if self._refused:
                self._stop = True  # not one more batch for a model that cannot read this dataset
            self.predictorLoaded.emit(step.predictor)
            return
        for path, preds in step.found.items():
            self.cache.put(step.key, path, preds)
        self._failed = step.failed
        self.predicted.emit(step.found)
        self.progress.emit(step.done, step.total)

    def _on_done(self, error: str) -> None:
        self._busy = False
        self.finished.emit(self._failed, error or self._refused)


def guess_provenance(weights: Path) -> Provenance:
    """Before a checkpoint is loaded: its run folder's config.yaml says which split it trained on
    (the training images themselves are in the checkpoint, read when it loads); enough to choose
    the images that measure it."""
    from workbench.train.runs import read_config

    try:
        cfg = read_config(weights.parent)
    except (OSError, ValueError):
        cfg = {}
    return Provenance(None, str(cfg.get("train_split") or "train"))

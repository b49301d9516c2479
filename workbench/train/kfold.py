"""The engine side of k-fold label QC: one real fold model per ``qa.qc_kfold`` fold.

``qa.qc_kfold.kfold_predictions`` splits the images and asks for two functions: train a
model on k-1 folds, predict the held-out fold. ``EngineFolds`` provides them with the
real engine: each fold is an ordinary training run (``engine.train``) whose config lists
its images (``TrainConfig.train_images`` / ``val_images``), so it works for every
dataset format and the fold's ``config.yaml`` records exactly what the model learned.
Its predictions come from ``Predictor`` at QC's low confidence.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.prediction import Prediction
from workbench.qa.qc_kfold import (
    kfold_predictions,
    kfold_splits,
    labels_fingerprint,
    load_kfold_predictions,
    reusable_kfold_run,
    save_kfold_predictions,
)
from workbench.train.config import TrainConfig, fold_settings
from workbench.train.engine import train
from workbench.train.events import EndReason
from workbench.train.metrics import KPT_AP, MAP50
from workbench.train.predictor import DEFAULT_CONF, Predictor
from workbench.train.runs import LAST, new_run_dir

LogFn = Callable[[str], None]


class FoldTrainingError(RuntimeError):
    """A fold model did not finish training; ``reason`` is the engine's (error, nan, oom, stopped)."""

    def __init__(self, reason: EndReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class FoldModel:
    """One fold's trained model and the images it learned, so it can be shown never to judge them."""

    fold: int  # 1-based
    run_dir: Path
    trained_on: list[Path]
    held_out: list[Path]
    metrics: dict[str, float] = field(default_factory=dict)  # on the held-out images, after the last epoch
    seconds: float = 0.0

    @property
    def weights(self) -> Path:
        """``last.pt``, not ``best.pt``: best was chosen by the held-out labels, the very labels under judgement."""
        return self.run_dir / LAST


class EngineFolds:
    """``train_fn`` / ``predict_fn`` for ``kfold_predictions``, backed by ``engine.train`` and ``Predictor``.

    Every fold trains like ``base`` (model, epochs, imgsz, weights, ...) on the images it is
    given, validates on the rest of ``pool`` (the held-out fold: an honest per-fold mAP), and
    writes its run folder as ``root/foldN``. ``callbacks`` receive the engine's events of every
    fold; ``log`` one line per fold step.
    """

    def __init__(
        self,
        base: TrainConfig,
        pool: Sequence[ImageRecord],
        root: Path,
        k: int,
        *,
        conf: float = DEFAULT_CONF,
        callbacks: Iterable[Any] = (),
        log: LogFn | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        self.base = base
        self.pool = list(pool)
        self.root = Path(root)
        self.k = k
        self.conf = conf
        self.callbacks = list(callbacks)
        self.log = log or (lambda line: None)
        self.should_stop = should_stop
        self.models: list[FoldModel] = []
        self.failed: dict[Path, str] = {}  # images a fold model could not read, with the reason

    def train(self, records: list[ImageRecord]) -> FoldModel:
        """Train the next fold's model on ``records``; raises ``FoldTrainingError`` unless it finishes."""
        n = len(self.models) + 1
        learned = {r.path for r in records}
        held_out = [r for r in self.pool if r.path not in learned]
        config = dataclasses.replace(
            self.base,
            out=str(self.root),
            name=f"fold{n}",
            resume="",
            train_images=[str(r.path) for r in records],
            val_images=[str(r.path) for r in held_out],
            model_options=dict(self.base.model_options),
            step_epochs=list(self.base.step_epochs),
        )
        self.log(f"fold {n}/{self.k}: training on {len(records)} images, {len(held_out)} held out")
        tick = time.perf_counter()
        result = train(config, self.callbacks, self.should_stop)
        if result.reason != EndReason.FINISHED:
            raise FoldTrainingError(
                result.reason, f"fold {n}/{self.k}: training ended ({result.reason}): {result.message}"
            )
        model = FoldModel(
            n,
            Path(result.run_dir),
            [r.path for r in records],
            [r.path for r in held_out],
            dict(result.metrics),
            time.perf_counter() - tick,
        )
        self.models.append(model)
        return model

    def predict(self, model: FoldModel, records: list[ImageRecord]) -> dict[Path, list[Prediction]]:
        """Predictions of ``model`` on its held-out ``records``; unreadable images go to ``failed``."""
        predictor = Predictor(model.weights, device=self.base.device, conf=self.conf)
        out = predictor.predict_paths([r.path for r in records], batch_size=self.base.batch)
        self.failed.update(predictor.failed)
        scores = ", ".join(f"{k} {model.metrics[k]:.3f}" for k in (MAP50, KPT_AP) if k in model.metrics)
        self.log(
            f"fold {model.fold}/{self.k}: trained in {model.seconds:.0f} s"
            + (f" ({scores} on the held-out images)" if scores else "")
            + f"; predicted the {len(out)} held-out images with {model.weights}"
        )
        return out


@dataclass
class KFoldResult:
    """Out-of-sample predictions for every image, and the fold models that made them."""

    predictions: dict[Path, list[Prediction]]
    folds: list[FoldModel]
    root: Path
    failed: dict[Path, str]
    reused: bool = False  # read from an earlier run made for the same labels, nothing trained


def kfold_engine_predictions(
    ds: Dataset,
    k: int,
    base: TrainConfig,
    *,
    records: Sequence[ImageRecord] | None = None,
    conf: float = DEFAULT_CONF,
    name: str = "qc_kfold",
    callbacks: Iterable[Any] = (),
    log: LogFn | None = None,
    should_stop: Callable[[], bool] | None = None,
    reuse: bool = True,
) -> KFoldResult:
    """Train ``k`` fold models like ``base`` and predict each image with the one that never saw it.

    With ``reuse``, an earlier ``base.out/name*`` run made for the same labels, folds and
    settings answers instead, and nothing is trained (its ``predictions.json``).

    ``base.data`` must be the dataset ``ds`` was opened from (each fold run reopens it). The
    fold run folders go under a fresh ``base.out/name`` folder; the folds are shuffled by
    ``base.seed``. ``records`` limits QC (and training) to those images, e.g. one split.
    """
    pool = list(ds.records if records is None else records)
    if not base.data:
        raise ValueError("k-fold QC needs base.data: the dataset each fold run opens")
    kfold_splits(pool, k, base.seed)  # a bad k fails here, before a run folder is made
    fingerprint = labels_fingerprint(ds, pool)  # of the labels the folds learn, before they train
    settings = fold_settings(base, conf)
    if reuse:
        found = reusable_kfold_run(Path(base.out), name, ds, fingerprint, k, settings)
        kept = load_kfold_predictions(found, ds, fingerprint) if found is not None else None
        if found is not None and kept is not None:
            (log or (lambda line: None))(
                f"reusing the fold predictions in {found}: the labels and settings are those they were made for"
            )
            return KFoldResult(kept, [], found, {}, reused=True)
    root = new_run_dir(base.out, name)
    folds = EngineFolds(base, pool, root, k, conf=conf, callbacks=callbacks, log=log, should_stop=should_stop)
    predictions = kfold_predictions(ds, k, folds.train, folds.predict, records=pool, seed=base.seed)
    save_kfold_predictions(root, ds, predictions, k, fingerprint, settings)  # reused until the labels change
    return KFoldResult(predictions, folds.models, root, folds.failed)

"""Out-of-sample predictions for label QC: k-fold, so the model never judges a label it learned.

A model trained on a mislabeled image tends to reproduce the mistake on that image,
which hides exactly what QC looks for. Training on k-1 folds and predicting the
held-out one gives every image a prediction from a model that never saw its labels.
Training and prediction are passed in as functions, so this stays engine-agnostic
(and torch-free, like the rest of ``qa``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.prediction import Prediction

TrainFn = Callable[[list[ImageRecord]], Any]
PredictFn = Callable[[Any, list[ImageRecord]], dict[Path, list[Prediction]]]
ProgressFn = Callable[[int, int], None]


def kfold_splits(records: Sequence[ImageRecord], k: int, seed: int = 0) -> list[list[ImageRecord]]:
    """``k`` folds of nearly equal size, shuffled reproducibly by ``seed``."""
    if k < 2:
        raise ValueError(f"k-fold needs at least 2 folds, got {k}")
    if k > len(records):
        raise ValueError(f"cannot make {k} folds from {len(records)} images: use k <= {len(records)}")
    order = np.random.default_rng(seed).permutation(len(records))
    return [[records[int(i)] for i in part] for part in np.array_split(order, k)]


def kfold_predictions(
    ds: Dataset,
    k: int,
    train_fn: TrainFn,
    predict_fn: PredictFn,
    *,
    records: Sequence[ImageRecord] | None = None,
    seed: int = 0,
    progress: ProgressFn | None = None,
) -> dict[Path, list[Prediction]]:
    """Predictions for every record, each made by a model trained on the other folds.

    ``train_fn(train_records) -> model`` and ``predict_fn(model, held_out) ->
    {image path: predictions}`` are called once per fold; ``progress(done, k)`` after
    each. The result feeds ``find_label_issues`` directly.
    """
    pool = list(ds.records if records is None else records)
    folds = kfold_splits(pool, k, seed)
    merged: dict[Path, list[Prediction]] = {}
    for n, held_out in enumerate(folds):
        held = {r.path for r in held_out}
        train = [r for r in pool if r.path not in held]
        model = train_fn(train)
        got = predict_fn(model, held_out)
        stray = [p for p in got if Path(p) not in held]
        if stray:
            raise ValueError(
                f"predict_fn returned predictions for {stray[0]}, which is not in the held-out fold "
                f"{n + 1}/{k}: it must predict only the images it is given"
            )
        merged.update({Path(p): v for p, v in got.items()})
        if progress is not None:
            progress(n + 1, k)
    return merged

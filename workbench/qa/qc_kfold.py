"""Out-of-sample predictions for label QC: k-fold, so the model never judges a label it learned.

A model trained on a mislabeled image tends to reproduce the mistake on that image,
which hides exactly what QC looks for. Training on k-1 folds and predicting the
held-out one gives every image a prediction from a model that never saw its labels.
Training and prediction are passed in as functions, so this stays engine-agnostic
(and torch-free, like the rest of ``qa``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.atomic import atomic_write_text
from workbench.core.prediction import Prediction

PREDICTIONS_FILE = "predictions.json"  # in a k-fold run folder: what its fold models said of each image

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


def labels_fingerprint(ds: Dataset, records: Sequence[ImageRecord]) -> str:
    """A hash of the images and labels k-fold models learn from, as they are in memory.

    Fold predictions are reused while it is unchanged: any edit of a box, class or
    keypoint, an image added or removed, a class renamed makes new fold models necessary.
    """
    h = hashlib.sha1()
    h.update(json.dumps(list(ds.classes)).encode("utf-8"))
    for rec in records:
        rec.ensure_loaded()
        h.update((ds.rel(rec.path) or str(rec.path)).encode("utf-8", "surrogateescape") + b"\0")
        for inst in rec.instances:
            h.update(np.int64(inst.class_id).tobytes() + np.round(inst.box, 3).tobytes())
            if inst.keypoints is not None:
                h.update(np.round(inst.keypoints, 3).tobytes())
            h.update(b"c" if inst.iscrowd else b"-")
        h.update(b"\n")
    return h.hexdigest()


def save_kfold_predictions(
    root: Path,
    ds: Dataset,
    predictions: dict[Path, list[Prediction]],
    k: int,
    fingerprint: str,
    settings: dict[str, Any] | None = None,
) -> Path:
    """Write ``root/predictions.json``: the out-of-sample predictions, keyed by image path relative
    to the dataset root, with the labels' fingerprint and the training ``settings`` they were made with."""
    images = {(ds.rel(p) or str(p)): [pred.to_dict() for pred in preds] for p, preds in predictions.items()}
    path = Path(root) / PREDICTIONS_FILE
    record = {"k": k, "fingerprint": fingerprint, "settings": _plain(settings), "classes": ds.classes, "images": images}
    atomic_write_text(path, json.dumps(record))
    return path


def load_kfold_predictions(root: Path, ds: Dataset, fingerprint: str) -> dict[Path, list[Prediction]] | None:
    """The predictions a k-fold run made for these very labels, or None (none, unreadable, or stale)."""
    try:
        data = json.loads((Path(root) / PREDICTIONS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("fingerprint") != fingerprint or data.get("classes") != ds.classes:
        return None
    images = data.get("images")
    if not isinstance(images, dict):
        return None
    try:
        return {ds.root / rel: [Prediction.from_dict(d) for d in preds] for rel, preds in images.items()}
    except (KeyError, TypeError, ValueError):
        return None


def reusable_kfold_run(
    runs: Path, name: str, ds: Dataset, fingerprint: str, k: int, settings: dict[str, Any] | None = None
) -> Path | None:
    """The newest ``runs/name*`` k-fold folder made for these labels with ``k`` folds and these settings."""
    found = []
    for folder in Path(runs).glob(f"{name}*"):
        try:
            data = json.loads((folder / PREDICTIONS_FILE).read_text(encoding="utf-8"))
            stamp = (folder / PREDICTIONS_FILE).stat().st_mtime
        except (OSError, ValueError):
            continue
        if (
            isinstance(data, dict)
            and data.get("fingerprint") == fingerprint
            and data.get("k") == k
            and data.get("settings", {}) == _plain(settings)
            and data.get("classes") == ds.classes
        ):
            found.append((stamp, str(folder)))
    return Path(max(found)[1]) if found else None


def _plain(settings: dict[str, Any] | None) -> Any:
    """``settings`` as JSON gives it back (tuples as lists), so a saved run compares equal."""
    return json.loads(json.dumps(settings or {}, default=str))

"""Run a model over a split and score it with COCO metrics (used by the loop and `workbench eval`)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from workbench.core.annotation import ImageRecord
from workbench.core.input_range import InputRange
from workbench.core.keypoints import KeypointSchema
from workbench.core.prediction import Prediction
from workbench.train.data import DetectionDataset, collate
from workbench.train.metrics import evaluate, fitness_key
from workbench.train.models import ModelSpec, set_score_threshold
from workbench.train.predictor import outputs_to_predictions

EVAL_CONF = 0.001  # COCO AP needs the low-score tail of the precision/recall curve


@torch.inference_mode()
def predict_records(
    model: nn.Module,
    spec: ModelSpec,
    records: list[ImageRecord],
    schema: KeypointSchema | None,
    device: torch.device,
    batch: int = 4,
    workers: int = 0,
    input_range: InputRange | None = None,
) -> list[list[Prediction]]:
    """Predictions for each record, in order; images mapped by the model's ``input_range``."""
    was_training = model.training
    model.eval()
    set_score_threshold(model, EVAL_CONF)
    loader = DataLoader(
        DetectionDataset(records, schema, spec.label_offset, train=False, input_range=input_range),
        batch_size=batch,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=device.type == "cuda",
    )
    out: list[list[Prediction]] = [[] for _ in records]
    for images, targets in loader:
        outputs = model([im.to(device, non_blocking=True) for im in images])
        for t, o in zip(targets, outputs, strict=True):
            out[t["index"]] = outputs_to_predictions(o, spec.label_offset, EVAL_CONF)
    model.train(was_training)
    return out


def evaluate_model(
    model: nn.Module,
    spec: ModelSpec,
    records: list[ImageRecord],
    classes: list[str],
    schema: KeypointSchema | None,
    device: torch.device,
    batch: int = 4,
    workers: int = 0,
    input_range: InputRange | None = None,
) -> dict[str, Any]:
    """``{"metrics": {...}, "per_class": {...}}`` as ``metrics.evaluate`` returns it."""
    preds = predict_records(model, spec, records, schema, device, batch, workers, input_range)
    return evaluate(records, preds, classes, schema)


def fitness(metrics: dict[str, float], keypoints: bool) -> float:
    """What best.pt is chosen by: keypoint OKS AP for keypoint models, else mAP50-95."""
    return float(metrics.get(fitness_key(keypoints), 0.0))

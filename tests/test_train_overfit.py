"""A box model and a keypoint model learn a tiny generated dataset from scratch.

Four images with one bright rectangle each, validated on the same images. An untrained
model scores mAP50 ~0.01 and keypoint AP 0.0; after 60 optimizer steps the box model
reached mAP50 0.15 here (0.63 after 90), after 120 steps the keypoint model reached mAP50
0.065 and keypoint AP 0.018 (AP50 0.065). The slowest tests of the engine (about 45 s and
90 s on two idle CPU cores).
"""

from __future__ import annotations

import pytest
from _train_data import write_rect_dataset

from workbench.train.config import TrainConfig
from workbench.train.engine import train

LIGHT = {"box_batch_size_per_image": 32, "rpn_batch_size_per_image": 64, "rpn_pre_nms_top_n_train": 300,
         "rpn_post_nms_top_n_train": 300, "rpn_pre_nms_top_n_test": 300, "rpn_post_nms_top_n_test": 100}


def _overfit(tmp_path, keypoints: bool, epochs: int, options: dict) -> dict:
    data = write_rect_dataset(tmp_path / "ds", n_train=4, n_val=0, keypoints=keypoints, classes=("box",),
                              max_objects=1, val_is_train=True)
    cfg = TrainConfig(data=str(data), epochs=epochs, imgsz=128, batch=2, weights="none", out=str(tmp_path / "runs"),
                      workers=0, optimizer="adamw", lr=0.001, scheduler="constant", warmup_epochs=1,
                      frozen_bn=True, val_every=epochs, model_options={**LIGHT, **options})
    result = train(cfg)
    assert result.reason == "finished", result.message
    return result.metrics


@pytest.mark.slow
def test_box_model_overfits_a_tiny_dataset(tmp_path):
    metrics = _overfit(tmp_path, keypoints=False, epochs=30, options={})
    assert metrics["mAP50"] > 0.05, metrics


@pytest.mark.slow
def test_keypoint_model_overfits_a_tiny_dataset(tmp_path):
    metrics = _overfit(tmp_path, keypoints=True, epochs=60, options={"keypoint_layers": [64, 64, 64, 64]})
    assert metrics["mAP50"] > 0.03 and metrics["kpt_AP50"] > 0.02 and metrics["kpt_AP"] > 0.005, metrics

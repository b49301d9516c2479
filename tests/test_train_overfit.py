"""A box model and a keypoint model learn a tiny generated dataset from scratch.

Four images with one bright rectangle each, validated on the same images. These tests
must give the same verdict on any machine and under any load, so:

- torch runs with a fixed thread count (2) and deterministic algorithms: the order of
  floating-point reductions, and so the whole trajectory, no longer depends on the cores
  of the machine that runs the tests;
- the RPN keeps every proposal (``rpn_score_thresh`` 0): torchvision's MobileNet default
  of 0.05 drops all proposals of a model this young on some trajectories, which scored
  mAP 0.0 on one machine and 0.15 on another with the same seed;
- the verdicts have wide margins: box mAP50 reached 0.35 (1 thread) and 0.46 (2 threads)
  after 60 steps where the test asks for 0.1; the keypoint test checks that the keypoint
  loss falls from chance (ln(56*56) = 8.05 in the first epoch) to about 5.5 over the last
  ten of 30 epochs (asked: below 0.8x, 6.4), not an OKS AP that a model this small only
  reaches after minutes.
"""

from __future__ import annotations

import statistics

import pytest
import torch
from _train_data import LIGHT as TRAIN_LIGHT
from _train_data import light_config, write_rect_dataset

from workbench.train.engine import train
from workbench.train.events import IterationEvent

# Every proposal counts while a tiny model learns: no score floor.
LIGHT = {**TRAIN_LIGHT, "rpn_score_thresh": 0.0}


@pytest.fixture
def reproducible_torch():
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True, warn_only=True)
    yield
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)


class _Losses:
    """Every iteration's losses, by epoch."""

    def __init__(self) -> None:
        self.by_epoch: dict[int, list[dict[str, float]]] = {}

    def on_iteration(self, event: IterationEvent) -> None:
        self.by_epoch.setdefault(event.epoch, []).append(event.losses)

    def mean(self, key: str, epochs: range) -> float:
        return statistics.fmean(it[key] for e in epochs for it in self.by_epoch[e])


def _overfit(tmp_path, keypoints: bool, epochs: int, options: dict, losses: _Losses | None = None) -> dict:
    data = write_rect_dataset(
        tmp_path / "ds", n_train=4, n_val=0, keypoints=keypoints, classes=("box",), max_objects=1, val_is_train=True
    )
    cfg = light_config(
        data,
        tmp_path / "runs",
        epochs=epochs,
        imgsz=128,
        scheduler="constant",
        warmup_epochs=1,
        val_every=epochs,
        model_options={**LIGHT, **options},
    )
    result = train(cfg, callbacks=[losses] if losses else None)
    assert result.reason == "finished", result.message
    return result.metrics


@pytest.mark.slow
def test_box_model_overfits_a_tiny_dataset(tmp_path, reproducible_torch):
    metrics = _overfit(tmp_path, keypoints=False, epochs=30, options={})
    assert metrics["mAP50"] > 0.1, metrics


@pytest.mark.slow
def test_keypoint_model_learns_the_landmarks(tmp_path, reproducible_torch):
    losses = _Losses()
    epochs = 30
    metrics = _overfit(
        tmp_path, keypoints=True, epochs=epochs, options={"keypoint_layers": [64, 64, 64, 64]}, losses=losses
    )
    first, last = losses.mean("loss_keypoint", range(0, 1)), losses.mean("loss_keypoint", range(epochs - 10, epochs))
    print(f"keypoint loss {first:.3f} -> {last:.3f}; {metrics}")
    assert last < 0.8 * first, (first, last)
    assert {"kpt_AP", "kpt_AP50"} <= set(metrics), metrics  # the keypoint evaluation ran

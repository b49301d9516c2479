"""Fast unit tests of the training engine's pieces (no training loop)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from workbench.core.annotation import ImageRecord, Instance
from workbench.core.keypoints import KeypointSchema
from workbench.core.prediction import Prediction
from workbench.train.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from workbench.train.config import TrainConfig
from workbench.train.data import DetectionDataset, HorizontalFlip, flip_keypoints
from workbench.train.events import EndEvent, EpochEvent, IterationEvent, LogEvent, emit, event_from_dict
from workbench.train.metrics import evaluate
from workbench.train.runs import list_runs, read_results, write_results
from workbench.train.schedule import lr_factor, make_scheduler


def _record(tmp_path: Path, instances: list[Instance], w: int = 60, h: int = 40, name: str = "a.png") -> ImageRecord:
    path = tmp_path / name
    cv2.imwrite(str(path), np.zeros((h, w, 3), np.uint8))
    return ImageRecord(path=path, width=w, height=h, instances=instances)


def test_flip_swaps_left_and_right_keypoints_and_keeps_missing_missing():
    kps = torch.tensor([[[10.0, 5.0, 2.0], [20.0, 6.0, 1.0], [0.0, 0.0, 0.0]]])
    out = flip_keypoints(kps, 60, [1, 0, 2])
    # index 0 (left) now holds the mirrored right point, and vice versa
    assert out[0, 0].tolist() == [40.0, 6.0, 1.0]
    assert out[0, 1].tolist() == [50.0, 5.0, 2.0]
    assert out[0, 2].tolist() == [0.0, 0.0, 0.0]


def test_dataset_flip_moves_boxes_and_keypoints_consistently(tmp_path):
    kp = np.array([[5, 5, 2], [30, 5, 2], [0, 0, 0]], float)
    rec = _record(tmp_path, [Instance(0, [5, 5, 30, 30], kp)])
    ds = DetectionDataset([rec], KeypointSchema(["l", "r", "c"], [1, 0, 2]), label_offset=1, train=True)
    ds.flip = HorizontalFlip([1, 0, 2], p=1.0)
    image, target = ds[0]
    assert image.shape == (3, 40, 60) and image.dtype == torch.float32
    assert target["boxes"].tolist() == [[30.0, 5.0, 55.0, 30.0]]
    assert target["labels"].tolist() == [1]
    # the flipped box still contains both corner points, left is left again
    assert target["keypoints"][0, :, :2].tolist() == [[30.0, 5.0], [55.0, 5.0], [0.0, 0.0]]
    assert target["keypoints"][0, :, 2].tolist() == [2.0, 2.0, 0.0]


def test_dataset_drops_boxes_without_area(tmp_path):
    rec = _record(
        tmp_path, [Instance(0, [5, 5, 30, 30]), Instance(1, [10, 10, 10.5, 30]), Instance(1, [70, 5, 90, 30])]
    )  # thin, and outside the image
    image, target = DetectionDataset([rec], None, label_offset=0, train=False)[0]
    assert target["boxes"].tolist() == [[5.0, 5.0, 30.0, 30.0]]
    assert target["labels"].tolist() == [0]


def test_dataset_leaves_out_class_ids_the_model_has_no_output_for(tmp_path):
    # `train --skip-validation` on a dataset with "class 5, nc=3" must not crash in cross_entropy
    rec = _record(tmp_path, [Instance(5, [5, 5, 30, 30]), Instance(-1, [5, 5, 20, 20]), Instance(2, [30, 5, 55, 30])])
    _, target = DetectionDataset([rec], None, label_offset=1, train=False, num_classes=3)[0]
    assert target["labels"].tolist() == [3]
    assert target["boxes"].tolist() == [[30.0, 5.0, 55.0, 30.0]]


def test_events_round_trip_through_json():
    events = [
        IterationEvent(1, 2, 10, {"loss": 1.5, "loss_box_reg": 0.5}, 0.01, 12.5),
        EpochEvent(1, 5, {"mAP50": 0.5}, 0.4, True),
        EndEvent("nan", "loss is nan", "/r", None),
        LogEvent("hello", "warning", ["a", "b"]),
    ]
    for ev in events:
        d = json.loads(json.dumps(ev.to_dict()))
        assert d["type"] in ("iteration", "epoch", "end", "log")
        assert event_from_dict(d) == ev
    with pytest.raises(ValueError):
        event_from_dict({"type": "bogus"})


def test_emit_reaches_methods_on_event_and_plain_functions():
    got: list[str] = []

    class Typed:
        def on_epoch(self, ev):
            got.append("typed-epoch")

    class All:
        def on_event(self, ev):
            got.append(f"all-{ev.type}")

    emit([Typed(), All(), lambda ev: got.append(f"fn-{ev.type}")], EpochEvent(0, 1, {}))
    emit([Typed()], LogEvent("x"))  # no handler: ignored
    assert got == ["typed-epoch", "all-epoch", "fn-epoch"]


def test_config_round_trip_ignores_unknown_keys():
    cfg = TrainConfig(data="d.yaml", epochs=3, step_epochs=[2])
    assert TrainConfig.from_dict({**cfg.to_dict(), "from_the_future": 1}) == cfg


def test_warmup_then_cosine_reaches_the_final_fraction():
    factors = [lr_factor(s, 100, 10, "cosine", 0.01) for s in range(100)]
    assert factors[0] == pytest.approx(0.001)
    assert factors[:10] == sorted(factors[:10])
    assert factors[10:] == sorted(factors[10:], reverse=True)
    assert factors[-1] == pytest.approx(0.01)
    step = [lr_factor(s, 100, 0, "step", steps_per_epoch=10, step_epochs=[5, 8]) for s in (49, 50, 80)]
    assert step == pytest.approx([1.0, 0.1, 0.01])


def test_scheduler_state_is_plain_and_restores_the_sequence():
    def lrs(resume_at: int | None) -> list[float]:
        p = torch.nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=0.1)
        sched = make_scheduler(
            opt, epochs=4, steps_per_epoch=3, warmup_epochs=1, kind="cosine", final=0.01, step_epochs=[]
        )
        out = []
        for step in range(12):
            if step == resume_at:
                state, opt_state = sched.state_dict(), opt.state_dict()
                opt = torch.optim.SGD([p], lr=0.1)
                sched = make_scheduler(
                    opt, epochs=4, steps_per_epoch=3, warmup_epochs=1, kind="cosine", final=0.01, step_epochs=[]
                )
                # as the engine resumes: the current lr lives in the optimizer's state
                opt.load_state_dict(opt_state)
                sched.load_state_dict(state)
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return out

    assert lrs(None) == lrs(5)


def test_checkpoints_load_with_weights_only_and_refuse_pickled_objects(tmp_path):
    good = tmp_path / "good.pt"
    save_checkpoint(
        good,
        {
            "format": "workbench-checkpoint",
            "model_name": "fasterrcnn_mobilenet_v3_large_fpn",
            "model": {"w": torch.ones(2)},
            "classes": ["a"],
        },
    )
    assert read_checkpoint(good)["classes"] == ["a"]
    assert not list(tmp_path.glob(".*tmp"))  # the temp file was renamed, not left behind
    evil = tmp_path / "evil.pt"
    torch.save({"format": "workbench-checkpoint", "obj": Path("x")}, evil)
    with pytest.raises(CheckpointError, match="refused to load"):
        read_checkpoint(evil)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        read_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match="not a readable"):
        read_checkpoint(tmp_path / "junk.pt")


def test_results_csv_round_trip_and_run_listing(tmp_path):
    run = tmp_path / "train"
    run.mkdir()
    write_results(run, [{"epoch": 1, "train/loss": 1.25}, {"epoch": 2, "train/loss": 0.5, "val/mAP50": 0.1}])
    assert read_results(run) == [
        {"epoch": 1, "train/loss": 1.25, "val/mAP50": None},
        {"epoch": 2, "train/loss": 0.5, "val/mAP50": 0.1},
    ]
    (tmp_path / "not_a_run").mkdir()
    assert list_runs(tmp_path) == [run]
    assert read_results(tmp_path / "nothing") == []


def _pycocotools_direct(tmp_path: Path, gt: dict, dets: list, iou_type: str, sigmas=None) -> np.ndarray:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "dt.json").write_text(json.dumps(dets))
    coco = COCO(str(tmp_path / "gt.json"))
    ev = COCOeval(coco, coco.loadRes(str(tmp_path / "dt.json")), iou_type)
    if sigmas is not None:
        ev.params.kpt_oks_sigmas = np.array(sigmas)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return ev.stats


def test_metrics_equal_pycocotools_run_directly(tmp_path):
    rng = np.random.default_rng(3)
    schema = KeypointSchema(["l", "r", "c"], [1, 0, 2], sigmas=[0.03, 0.03, 0.05])
    records, preds, gt_anns, dets = [], [], [], []
    for i in range(5):
        instances, p = [], []
        for _ in range(3):
            x, y, w, h = rng.uniform(5, 60), rng.uniform(5, 40), rng.uniform(10, 40), rng.uniform(10, 30)
            kp = np.array([[x, y, 2], [x + w, y, 2], [x + w / 2, y + h / 2, 1]])
            c = int(rng.integers(0, 2))
            instances.append(Instance(c, [x, y, x + w, y + h], kp))
            gt_anns.append(
                {
                    "id": len(gt_anns) + 1,
                    "image_id": i + 1,
                    "category_id": c + 1,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                    "keypoints": kp.reshape(-1).tolist(),
                    "num_keypoints": 3,
                }
            )
            for _ in range(2):  # a near miss and a poor one per object
                j = rng.normal(0, 1 + 6 * rng.random(), size=4)
                pk = kp.copy()
                pk[:, :2] += rng.normal(0, 2, size=(3, 2))
                pk[:, 2] = rng.random(3)
                score = float(rng.random())
                cls = c if rng.random() < 0.8 else 1 - c
                p.append(Prediction(cls, [x + j[0], y + j[1], x + w + j[2], y + h + j[3]], score, pk))
                dets.append(
                    {
                        "image_id": i + 1,
                        "category_id": cls + 1,
                        "bbox": [x + j[0], y + j[1], w + j[2] - j[0], h + j[3] - j[1]],
                        "score": score,
                        "keypoints": np.column_stack([pk[:, :2], np.ones(3)]).reshape(-1).tolist(),
                    }
                )
        records.append(_record(tmp_path, instances, 120, 90, f"im{i}.png"))
        preds.append(p)
    ours = evaluate(records, preds, ["a", "b"], schema)
    gt = {
        "images": [{"id": i + 1, "width": 120, "height": 90} for i in range(5)],
        "annotations": gt_anns,
        "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}],
    }
    bbox = _pycocotools_direct(tmp_path, gt, dets, "bbox")
    kpt = _pycocotools_direct(tmp_path, gt, dets, "keypoints", schema.sigmas)
    m = ours["metrics"]
    assert [m["mAP50-95"], m["mAP50"], m["mAP75"]] == pytest.approx(bbox[:3].tolist(), abs=1e-12)
    assert [m["kpt_AP"], m["kpt_AP50"], m["kpt_AP75"]] == pytest.approx(kpt[:3].tolist(), abs=1e-12)
    assert 0 < m["mAP50"] < 1 and 0 < m["kpt_AP"] < 1  # a non-trivial case
    per_class = list(ours["per_class"].values())
    assert sum(per_class) / 2 == pytest.approx(m["mAP50-95"], abs=1e-12)


def test_metrics_without_predictions_are_zero_and_without_ground_truth_minus_one(tmp_path):
    rec = _record(tmp_path, [Instance(0, [5, 5, 30, 30])])
    assert evaluate([rec], [[]], ["a"])["metrics"]["mAP50"] == 0.0
    empty = _record(tmp_path, [], name="b.png")
    assert evaluate([empty], [[Prediction(0, [1, 1, 5, 5], 0.9)]], ["a"])["metrics"]["mAP50"] == -1.0
    assert not math.isnan(evaluate([rec], [[Prediction(0, [5, 5, 30, 30], 0.9)]], ["a"])["metrics"]["mAP50"])


def test_runs_go_beside_the_dataset_never_inside_it(tmp_path, monkeypatch):
    import os

    from workbench.train.runs import dataset_folder, default_runs_folder, legacy_runs_folder, list_runs

    ds = tmp_path / "thermal"
    (ds / "annotations").mkdir(parents=True)
    (ds / "data.yaml").write_text("names: [a]\n")
    assert default_runs_folder(ds / "data.yaml") == tmp_path.resolve() / "thermal-runs"
    assert default_runs_folder(ds) == tmp_path.resolve() / "thermal-runs"
    assert dataset_folder(ds / "annotations" / "instances_train.json") == ds  # COCO json under annotations/
    assert legacy_runs_folder(ds / "data.yaml") == ds / "runs"
    # Beside a dataset on a share the user cannot write: the user's data folder.
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == tmp_path.resolve() else real_access(p, mode))
    assert default_runs_folder(ds / "data.yaml") == tmp_path / "xdg" / "workbench" / "runs" / "thermal"
    monkeypatch.setattr(os, "access", real_access)
    # Runs an earlier version wrote inside the dataset are still listed, beside the new ones.
    for folder in (ds / "runs" / "train", tmp_path / "thermal-runs" / "train"):
        folder.mkdir(parents=True)
        (folder / "results.csv").write_text("epoch\n1\n")
    found = list_runs(default_runs_folder(ds), legacy_runs_folder(ds))
    assert sorted(found) == sorted([ds / "runs" / "train", tmp_path.resolve() / "thermal-runs" / "train"])

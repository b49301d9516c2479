"""`workbench train / eval / predict` end to end on a tiny generated dataset."""

from __future__ import annotations

import json

import cv2
import pytest
import torch
from _train_data import write_rect_dataset

from workbench.cli.main import main
from workbench.train.run_log import read_iterations


@pytest.mark.slow
def test_train_eval_predict_end_to_end(tmp_path, capsys):
    data = write_rect_dataset(tmp_path / "ds", n_train=2, n_val=2, keypoints=True)
    runs = tmp_path / "runs"
    rc = main(
        [
            "train",
            str(data),
            "--epochs",
            "1",
            "--imgsz",
            "64",
            "--batch",
            "2",
            "--weights",
            "none",
            "--out",
            str(runs),
            "--workers",
            "0",
            "--device",
            "cpu",
            "--optimizer",
            "adamw",
        ]
    )
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "keypointrcnn_mobilenet_v3_large_fpn on cpu" in out.out and "epoch 1/1" in out.out
    weights = runs / "train" / "best.pt"
    # a CLI run keeps its curve too: one line per iteration (2 images, batch 2: one iteration)
    assert [(e.epoch, e.iteration) for e in read_iterations(runs / "train")] == [(0, 0)]
    assert torch.load(weights, weights_only=True)["keypoints"]["flip_idx"] == [1, 0, 2]

    assert main(["eval", str(weights), str(data), "--split", "val", "--json", "--device", "cpu"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 2 and {"mAP50", "mAP50-95", "kpt_AP"} <= set(report["metrics"])
    assert set(report["per_class"]) == {"box", "bar"}

    out_dir = tmp_path / "pred"
    source = data.parent / "images" / "val"
    assert (
        main(
            [
                "predict",
                str(weights),
                str(source),
                "--out",
                str(out_dir),
                "--conf",
                "0.0",
                "--save-images",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    results = json.loads((out_dir / "predictions.json").read_text())
    assert {r["file_name"] for r in results} <= {"val0.png", "val1.png"}
    if results:
        r = results[0]
        assert len(r["bbox"]) == 4 and len(r["keypoints"]) == 9 and r["category_name"] in ("box", "bar")
    overlays = sorted(p.name for p in out_dir.glob("*.jpg"))
    assert overlays == ["val0.jpg", "val1.jpg"]
    assert cv2.imread(str(out_dir / "val0.jpg")).shape == (96, 96, 3)


def test_train_refuses_a_dataset_with_errors(tmp_path, capsys):
    data = write_rect_dataset(tmp_path / "ds", n_train=2, n_val=1)
    (data.parent / "labels" / "train" / "train0.txt").write_text("7 0.5 0.5 0.2 0.2\n")  # class id out of range
    rc = main(["train", str(data), "--epochs", "1", "--weights", "none", "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "error" in err and "train0.txt" in err
    assert not (tmp_path / "runs").exists()


def test_eval_and_predict_report_unusable_weights(tmp_path, capsys):
    data = write_rect_dataset(tmp_path / "ds", n_train=1, n_val=1)
    bogus = tmp_path / "bogus.pt"
    bogus.write_bytes(b"nope")
    assert main(["eval", str(bogus), str(data)]) == 2
    assert "bogus.pt" in capsys.readouterr().err
    assert main(["predict", str(bogus), str(data), "--out", str(tmp_path / "o")]) == 2

"""Checkpoint list entries: run folder, file, date and val mAP50 from results.csv, without loading the weights."""

from __future__ import annotations

import os
import time

from workbench.train.runs import checkpoint_label, checkpoint_metric, write_results


def _run(root, name, rows, files=("best.pt", "last.pt"), when=1_800_000_000):
    run = root / name
    run.mkdir(parents=True)
    for f in files:
        (run / f).write_bytes(b"not a real checkpoint: the label must not need to load it")
        os.utime(run / f, (when, when))
    if rows:
        write_results(run, rows)
    return run


def test_best_is_the_epoch_of_best_fitness_and_last_the_last_validated(tmp_path):
    rows = [
        {"epoch": 1, "val/mAP50-95": 0.2, "val/mAP50": 0.5},
        {"epoch": 2, "val/mAP50-95": 0.4, "val/mAP50": 0.7},  # best fitness (mAP50-95)
        {"epoch": 3, "val/mAP50-95": 0.3, "val/mAP50": 0.9},
        {"epoch": 4, "train/loss": 1.0},  # not validated
    ]
    run = _run(tmp_path / "runs", "train", rows)
    assert checkpoint_metric(run / "best.pt") == ("mAP50", 0.7)
    assert checkpoint_metric(run / "last.pt") == ("mAP50", 0.9)


def test_keypoint_runs_choose_best_by_keypoint_ap(tmp_path):
    rows = [
        {"epoch": 1, "val/mAP50-95": 0.5, "val/mAP50": 0.8, "val/kpt_AP": 0.1},
        {"epoch": 2, "val/mAP50-95": 0.4, "val/mAP50": 0.6, "val/kpt_AP": 0.3},
    ]
    run = _run(tmp_path / "runs", "pose", rows)
    assert checkpoint_metric(run / "best.pt") == ("mAP50", 0.6)


def test_two_runs_are_told_apart_and_a_lone_file_gets_its_date(tmp_path):
    a = _run(tmp_path / "runs", "train", [{"epoch": 1, "val/mAP50-95": 0.1, "val/mAP50": 0.25}])
    b = _run(tmp_path / "runs", "train2", [{"epoch": 1, "val/mAP50-95": 0.5, "val/mAP50": 0.8}], when=1_800_003_600)
    text_a, tip_a = checkpoint_label(a / "best.pt")
    text_b, tip_b = checkpoint_label(b / "best.pt")
    date_b = time.strftime("%Y-%m-%d %H:%M", time.localtime(1_800_003_600))
    assert text_b == f"runs/train2 · best.pt · {date_b} · mAP50 0.80"
    assert text_a.startswith("runs/train · best.pt · ") and text_a.endswith("mAP50 0.25")
    assert tip_b == str((b / "best.pt").resolve()) and tip_a != tip_b

    lone = tmp_path / "downloads" / "model.pt"
    lone.parent.mkdir()
    lone.write_bytes(b"x")
    text, _ = checkpoint_label(lone)
    assert text.startswith(f"{tmp_path.name}/downloads · model.pt · ") and "mAP" not in text
    (a / "results.csv").write_bytes(b"\xff\xfe garbage")
    assert "mAP" not in checkpoint_label(a / "best.pt")[0]  # an unreadable CSV: date only, no error

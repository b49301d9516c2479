"""Unusable input on the command line: one clear line on stderr and exit 2, never a traceback or a silent default.

One tiny run (1 epoch, imgsz 64, 2 images, from scratch) is trained once per module; the hostile
checkpoints are edited copies of its best.pt.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from _train_data import write_rect_dataset

from workbench.cli.main import main
from workbench.train.config import ConfigError, TrainConfig

TINY = ["--epochs", "1", "--imgsz", "64", "--batch", "2", "--weights", "none", "--workers", "0", "--device", "cpu"]


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A finished run trained from ``work/`` with relative paths, as a user types them."""
    root = tmp_path_factory.mktemp("trained")
    work = root / "work"
    work.mkdir()
    data = write_rect_dataset(work / "ds", n_train=2, n_val=1, size=64)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        assert main(["train", "ds/data.yaml", "--out", "runs", *TINY]) == 0
    return {"root": root, "data": data, "run": work / "runs" / "train", "best": work / "runs" / "train" / "best.pt"}


# ----------------------------------------------------------------------------- 1. flags


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["train", "D", "--imgsz", "0"], "--imgsz"),
        (["train", "D", "--epochs", "0"], "--epochs"),
        (["train", "D", "--epochs", "-1"], "--epochs"),
        (["train", "D", "--lr", "nan"], "--lr"),
        (["train", "D", "--lr", "-1"], "--lr"),
        (["train", "D", "--lr", "inf"], "--lr"),
        (["train", "D", "--accumulate", "0"], "--accumulate"),
        (["train", "D", "--warmup-epochs", "-1"], "--warmup-epochs"),
        (["train", "D", "--clip-grad", "-0.5"], "--clip-grad"),
        (["train", "D", "--batch", "0"], "--batch"),
        (["train", "D", "--workers", "-1"], "--workers"),
        (["train", "D", "--epochs", "two"], "--epochs"),
        (["predict", "W", "S", "--out", "O", "--conf", "2"], "--conf"),
        (["predict", "W", "S", "--out", "O", "--batch", "0"], "--batch"),
        (["eval", "W", "D", "--batch", "-3"], "--batch"),
        (["qc", "W", "D", "--conf", "-0.1"], "--conf"),
        (["qc", "W", "D", "--top", "-1"], "--top"),
        (["qc", "D", "--kfold", "2", "--imgsz", "0"], "--imgsz"),
    ],
)
def test_argparse_refuses_nonsense_numbers_naming_the_flag(argv, flag, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    assert f"argument {flag}:" in capsys.readouterr().err


def test_train_config_check_refuses_what_the_flags_refuse():
    """The GUI and k-fold QC build a TrainConfig without argparse: the same rule holds there."""
    for bad in (
        {"epochs": 0},
        {"imgsz": 0},
        {"lr": math.nan},
        {"lr": -1.0},
        {"accumulate": 0},
        {"warmup_epochs": -1.0},
        {"clip_grad": -1.0},
        {"batch": 0},
        {"workers": -1},
    ):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            TrainConfig(data="x", **bad).check()
    TrainConfig(data="x").check()  # the defaults are fine, lr 0 = the optimizer's default


def test_engine_refuses_a_bad_config_before_any_work(tmp_path):
    from workbench.train.engine import train

    data = write_rect_dataset(tmp_path / "ds", n_train=1, n_val=1, size=64)
    result = train(TrainConfig(data=str(data), lr=math.nan, weights="none", out=str(tmp_path / "runs"), device="cpu"))
    assert result.reason == "error" and "lr" in result.message
    assert not (tmp_path / "runs").exists()


# ----------------------------------------------------------------------------- 2. resume


def test_run_config_stores_absolute_paths(trained):
    config = yaml.safe_load((trained["run"] / "config.yaml").read_text())
    assert Path(config["data"]).is_absolute() and Path(config["data"]) == trained["data"]
    assert torch.load(trained["best"], weights_only=True)["config"]["data"] == config["data"]


def test_resume_from_another_working_directory(trained, monkeypatch, capsys):
    elsewhere = trained["root"] / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    monkeypatch.chdir(elsewhere)
    rc = main(["train", "../work/ds", "--resume", "../work/runs/train", "--device", "cpu", "--workers", "0"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "already finished its 1 epochs" in out.out


def test_resume_refuses_another_dataset_naming_both(trained, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(trained["data"].parent, other)
    rc = main(["train", str(other / "data.yaml"), "--resume", str(trained["run"]), "--device", "cpu"])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2
    assert str(other / "data.yaml") in line and str(trained["data"]) in line and "cannot resume" in line


def test_resume_refuses_a_checkpoint_without_training_state(trained, tmp_path, capsys):
    ckpt = torch.load(trained["best"], weights_only=True)
    ckpt["optimizer"] = None
    run = tmp_path / "run"
    run.mkdir()
    torch.save(ckpt, run / "last.pt")
    rc = main(["train", str(trained["data"]), "--resume", str(run), "--device", "cpu"])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and "optimizer" in line and "last.pt" in line


# ----------------------------------------------------------------------------- 3. nothing to learn


def test_train_refuses_a_dataset_without_labels(tmp_path, capsys):
    data = write_rect_dataset(tmp_path / "ds", n_train=2, n_val=1, size=64)
    for label in (data.parent / "labels").rglob("*.txt"):
        label.write_text("")
    rc = main(["train", str(data), "--out", str(tmp_path / "runs"), *TINY])
    err = capsys.readouterr().err
    assert rc == 2 and str(data) in err and "[no_labels]" in err  # validation refuses first
    rc = main(["train", str(data), "--skip-validation", "--out", str(tmp_path / "runs"), *TINY])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and str(data) in line and "no labeled instances" in line  # then the engine
    assert not (tmp_path / "runs").exists()


def test_engine_raises_the_same_refusal_for_the_gui(tmp_path):
    from workbench.train.engine import train

    data = write_rect_dataset(tmp_path / "ds", n_train=2, n_val=1, size=64)
    shutil.rmtree(data.parent / "labels")
    result = train(TrainConfig(data=str(data), weights="none", out=str(tmp_path / "runs"), device="cpu"))
    assert result.reason == "error" and "no labeled instances" in result.message and "\n" not in result.message


def test_bad_flip_idx_with_skip_validation_is_one_line(tmp_path, capsys):
    data = write_rect_dataset(tmp_path / "ds", n_train=2, n_val=1, size=64, keypoints=True)
    data.write_text(data.read_text().replace("flip_idx: [1, 0, 2]", "flip_idx: [5, 0, 2]"))
    rc = main(["train", str(data), "--skip-validation", "--out", str(tmp_path / "runs"), *TINY])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and "flip_idx [5, 0, 2]" in line and "--no-augment" in line


# ----------------------------------------------------------------------------- 4. checkpoints


def _edited(trained: dict[str, Path], tmp_path: Path, name: str, edit) -> Path:
    ckpt = torch.load(trained["best"], weights_only=True)
    edit(ckpt)
    path = tmp_path / name
    torch.save(ckpt, path)
    return path


CHECKPOINTS = {
    "unknown_model.pt": (lambda c: c.update(model_name="resnet_banana"), "unknown model 'resnet_banana'"),
    "no_classes.pt": (lambda c: c.pop("classes"), "no class list"),
    "no_weights.pt": (lambda c: c.pop("model"), "no model weights"),
    "head_mismatch.pt": (lambda c: c.update(classes=["a", "b", "c"]), "do not fit"),
    "list.pt": (None, "not a Workbench checkpoint"),
    "text.pt": (None, "not a readable PyTorch file"),
}


@pytest.mark.parametrize("name", sorted(CHECKPOINTS))
@pytest.mark.parametrize("command", ["eval", "predict", "qc"])
def test_unusable_checkpoints_are_one_line(trained, tmp_path, capsys, name, command):
    edit, expected = CHECKPOINTS[name]
    if name == "list.pt":
        torch.save([1, 2, 3], tmp_path / name)
        path = tmp_path / name
    elif name == "text.pt":
        path = tmp_path / name
        path.write_text("hello")
    else:
        path = _edited(trained, tmp_path, name, edit)
    data = str(trained["data"])
    argv = {
        "eval": ["eval", str(path), data],
        "qc": ["qc", str(path), data],
        "predict": ["predict", str(path), data, "--out", str(tmp_path / "out")],
    }[command]
    rc = main([*argv, "--device", "cpu"])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and name in line and expected in line


def test_predict_out_onto_a_file(trained, tmp_path, capsys):
    target = tmp_path / "predictions.txt"
    target.write_text("keep me")
    rc = main(["predict", str(trained["best"]), str(trained["data"]), "--out", str(target), "--device", "cpu"])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and str(target) in line and "not a folder" in line
    assert target.read_text() == "keep me"


def test_eval_on_a_corrupt_image(trained, tmp_path, capsys):
    ds = tmp_path / "ds"
    shutil.copytree(trained["data"].parent, ds)
    data = ds / "data.yaml"
    data.write_text(data.read_text().replace(f"path: {trained['data'].parent}", f"path: {ds}"))
    (ds / "images" / "val" / "val0.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    rc = main(["eval", str(trained["best"]), str(data), "--device", "cpu"])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and "val0.png" in line


def test_eval_accepts_a_run_folder(trained, capsys):
    assert main(["eval", str(trained["run"]), str(trained["data"]), "--device", "cpu", "--json"]) == 0
    assert '"images": 1' in capsys.readouterr().out

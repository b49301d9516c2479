"""Thermal benchmark: does a detector trained on 16-bit frames do at least as well as on a
correctly windowed 8-bit copy of them, and how much does OpenCV's 8-bit cut lose?

Three copies of the thermal sample (``workbench sample --thermal``), the same labels:

- ``raw16``: the 16-bit frames, trained with ``--input-range auto`` (a fixed range computed
  once over the training images and stored in the checkpoint);
- ``windowed8``: 8-bit PNGs written through that same range (what a careful user exports);
- ``cut8``: 8-bit PNGs as OpenCV's ordinary decode gives them (the top byte: five grey levels).

The same detector is trained from scratch on each with the same seed and settings; the
JSON gives each one's validation mAP50-95 and mAP50 and ``ok``: raw16 >= windowed8 - 0.02
(the two feed the model the same numbers, so only nondeterminism separates them).

    python benchmarks/thermal.py [--epochs 15] [--imgsz 320] [--device auto] [--json]

The last printed line is one JSON object. Training three models takes tens of minutes on
a CPU, minutes on a GPU.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from workbench.core.image_io import read_raw_image, write_image  # noqa: E402
from workbench.core.input_range import resolve  # noqa: E402
from workbench.sample_data import write_thermal_sample  # noqa: E402

TOLERANCE = 0.02


def prepare(out: Path) -> dict[str, Path]:
    """The three datasets under ``out``; returns their data.yaml by name."""
    raw_yaml = write_thermal_sample(out / "raw16")
    train_images = sorted((raw_yaml.parent / "images" / "train").iterdir())
    chosen = resolve("auto", train_images)
    assert chosen.mode == "fixed"
    copies = {"raw16": raw_yaml}
    for name, to_8bit in (
        ("windowed8", chosen.apply),
        ("cut8", lambda raw: cv2.imdecode(cv2.imencode(".png", raw)[1], cv2.IMREAD_COLOR)),
    ):
        root = out / name
        shutil.copytree(raw_yaml.parent / "labels", root / "labels", dirs_exist_ok=True)
        shutil.copy2(raw_yaml, root / "data.yaml")
        for image in sorted((raw_yaml.parent / "images").rglob("*")):
            if image.is_file():
                target = root / image.relative_to(raw_yaml.parent).with_suffix(".png")
                target.parent.mkdir(parents=True, exist_ok=True)
                write_image(target, np.ascontiguousarray(to_8bit(read_raw_image(image))), ".png")
        copies[name] = root / "data.yaml"
    return copies


def train_one(data: Path, runs: Path, name: str, args: argparse.Namespace) -> dict[str, float]:
    from workbench.train.config import TrainConfig
    from workbench.train.engine import train

    cfg = TrainConfig(
        data=str(data),
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        device=args.device,
        weights="none",
        out=str(runs),
        name=name,
        workers=0,
        seed=0,
        input_range="auto",
    )
    result = train(cfg, [], default_callbacks=False)
    if result.reason.value != "finished":
        print(f"{name}: {result.reason.value}: {result.message}", file=sys.stderr)
    return {k: float(v) for k, v in result.metrics.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--imgsz", type=int, default=320)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true", help="print only the JSON line")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        copies = prepare(Path(tmp))
        results = {name: train_one(data, Path(tmp) / "runs", name, args) for name, data in copies.items()}
    summary = {
        name: {k: round(v, 4) for k, v in m.items() if k in ("mAP50-95", "mAP50")} for name, m in results.items()
    }
    key = "mAP50-95"
    ok = results["raw16"].get(key, 0.0) >= results["windowed8"].get(key, 0.0) - TOLERANCE
    out = {"benchmark": "thermal", "epochs": args.epochs, "imgsz": args.imgsz, **summary, "ok": ok}
    if not args.json:
        for name, m in summary.items():
            print(f"{name:10s} {m}")
    print(json.dumps(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Inference speed of ``workbench.train.predictor.Predictor``: images/s and ms/image.

Trains nothing: a freshly initialized model is saved as a Workbench checkpoint and loaded
the way `workbench predict` loads one. Medians over repeats; the last line is one JSON object.

    python benchmarks/predict.py [--json] [--model NAME] [--imgsz 640] [--images 8] [--batch 4]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.train.checkpoint import make_checkpoint, save_checkpoint  # noqa: E402
from workbench.train.models import build_model, get_spec  # noqa: E402
from workbench.train.predictor import Predictor  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--model", default="fasterrcnn_mobilenet_v3_large_fpn")
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    spec = get_spec(args.model)
    k = 5 if spec.keypoints else None
    torch.manual_seed(0)
    model = build_model(args.model, 3, k, args.imgsz)
    tmp = Path(tempfile.mkdtemp(prefix="wb_pred_"))
    schema = {"names": [f"kp{i}" for i in range(k)], "flip_idx": list(range(k))} if k else None
    save_checkpoint(
        tmp / "model.pt",
        make_checkpoint(
            model_state=model.state_dict(),
            model_name=args.model,
            classes=["a", "b", "c"],
            keypoints=schema,
            imgsz=args.imgsz,
            frozen_bn=False,
            model_options={},
            epoch=0,
            best_fitness=None,
            config={},
        ),
    )
    predictor = Predictor(tmp / "model.pt", args.device, conf=0.05)
    rng = np.random.default_rng(0)
    h = args.imgsz * 3 // 4
    images = [rng.integers(0, 255, (h, args.imgsz, 3), dtype=np.uint8) for _ in range(args.images)]
    predictor.predict_batch(images[: args.batch])  # warm-up
    times = []
    for r in range(args.repeats):
        if predictor.device.type == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        for s in range(0, len(images), args.batch):
            predictor.predict_batch(images[s : s + args.batch])
        if predictor.device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
        if not args.json:
            print(f"repeat {r + 1}: {len(images) / times[-1]:.2f} img/s")
    med = statistics.median(times)
    print(
        json.dumps(
            {
                "benchmark": "predict",
                "model": args.model,
                "device": str(predictor.device),
                "image_size": [args.imgsz, h],
                "images": len(images),
                "batch": args.batch,
                "repeats": args.repeats,
                "images_per_s": round(len(images) / med, 3),
                "ms_per_image": round(1000 * med / len(images), 2),
                "torch": torch.__version__,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

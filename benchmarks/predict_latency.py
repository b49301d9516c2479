"""Per-image predict latency: the PyTorch checkpoint against its ONNX export run by onnxruntime.

A freshly initialized model (its weights shaken a little so that scores are not all tied
and the export's verification means something) is saved as a Workbench checkpoint,
exported with `workbench export`'s code path (verified), and both are run one image at a
time through the same ``predict(image)`` API that `workbench predict` uses, preprocessing
and postprocessing included. Median over ``--runs`` after ``--warmup``; the last line is
one JSON object. An export whose check fails on the untrained model's tied scores is
measured anyway, with ``"verified": false`` and the first disagreement in the JSON line.

    python benchmarks/predict_latency.py [--model NAME] [--imgsz 640] [--runs 20] [--dynamic] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.runtime.onnx_predictor import OnnxPredictor  # noqa: E402
from workbench.train.checkpoint import make_checkpoint, save_checkpoint  # noqa: E402
from workbench.train.models import build_model, get_spec  # noqa: E402
from workbench.train.onnx_export import ExportVerificationError, export_onnx  # noqa: E402
from workbench.train.predictor import Predictor  # noqa: E402


def _median_ms(fn, images, warmup: int, runs: int, sync=None) -> float:
    for i in range(warmup):
        fn(images[i % len(images)])
    times = []
    for i in range(runs):
        t = time.perf_counter()
        fn(images[i % len(images)])
        if sync is not None:
            sync()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="fasterrcnn_mobilenet_v3_large_fpn")
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--dynamic", action="store_true", help="export with a dynamic input size")
    ap.add_argument("--device", default="cpu", help="cpu, or cuda (onnxruntime-gpu needed for the ONNX side)")
    args = ap.parse_args()
    spec = get_spec(args.model)
    schema = {"names": [f"kp{i}" for i in range(5)], "flip_idx": list(range(5))} if spec.keypoints else None
    torch.manual_seed(0)
    model = build_model(args.model, 3, 5 if spec.keypoints else None, args.imgsz)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g) * 0.02)
    tmp = Path(tempfile.mkdtemp(prefix="wb_latency_"))
    ckpt = save_checkpoint(
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
    t = time.perf_counter()
    verified, why = True, ""
    try:
        report = export_onnx(ckpt, tmp / "model.onnx", dynamic=args.dynamic)
    except ExportVerificationError as e:
        # An untrained model's tied scores let NMS keep either of two boxes: the graph is the same,
        # the comparison is arbitrary. Latency does not depend on it; the JSON line says so.
        verified, why = False, str(e).splitlines()[1].strip()
        report = export_onnx(ckpt, tmp / "model.onnx", dynamic=args.dynamic, verify=False)
    export_s = time.perf_counter() - t
    conf = 0.05
    torch_pred = Predictor(ckpt, args.device, conf=conf)
    onnx_pred = OnnxPredictor(report.path, args.device, conf=conf)
    rng = np.random.default_rng(0)
    h = args.imgsz * 3 // 4
    images = [rng.integers(0, 255, (h, args.imgsz, 3), dtype=np.uint8) for _ in range(4)]
    sync = torch.cuda.synchronize if torch_pred.device.type == "cuda" else None
    torch_ms = _median_ms(torch_pred.predict, images, args.warmup, args.runs, sync)
    onnx_ms = _median_ms(onnx_pred.predict, images, args.warmup, args.runs)
    print(f"PyTorch {torch_ms:.1f} ms/image, onnxruntime {onnx_ms:.1f} ms/image", file=sys.stderr)
    import onnxruntime

    print(
        json.dumps(
            {
                "benchmark": "predict_latency",
                "model": args.model,
                "device": str(torch_pred.device),
                "onnx_providers": onnx_pred.session.get_providers(),
                "image_size": [args.imgsz, h],
                "input": "dynamic" if args.dynamic else f"fixed {args.imgsz}x{args.imgsz} letterbox",
                "runs": args.runs,
                "warmup": args.warmup,
                "torch_ms_per_image": round(torch_ms, 2),
                "onnxruntime_ms_per_image": round(onnx_ms, 2),
                "speedup": round(torch_ms / onnx_ms, 3),
                "export_s": round(export_s, 1),
                "verified": verified,
                "verified_detections": report.detections,
                **({"not_verified_because": why} if why else {}),
                "torch_threads": torch.get_num_threads(),
                "cpus": os.cpu_count(),
                "torch": torch.__version__,
                "onnxruntime": onnxruntime.__version__,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

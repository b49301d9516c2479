"""Training throughput: the engine vs a bare torchvision loop, same model, batch, size and data.

Both run in this process on the same generated dataset: the bare loop is the torchvision
references' step (forward, sum of losses, backward, SGD step) over the same DataLoader;
the engine is ``workbench.train.engine.train`` with validation pushed past the measured
epochs. Medians over repeats; the last line is one JSON object (``--json`` prints only it).

    python benchmarks/train_throughput.py [--json] [--imgsz 256] [--batch 4] [--iters 8] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _train_data import write_rect_dataset  # noqa: E402

from workbench.formats.registry import open_dataset  # noqa: E402
from workbench.train.config import TrainConfig  # noqa: E402
from workbench.train.data import DetectionDataset, collate  # noqa: E402
from workbench.train.device import resolve_device  # noqa: E402
from workbench.train.engine import train  # noqa: E402
from workbench.train.models import build_model, get_spec  # noqa: E402


def bare_loop(data: Path, model_name: str, imgsz: int, batch: int, iters: int, device: torch.device) -> float:
    """images/s of the plain torchvision training step, excluding the first (warm-up) iteration."""
    ds = open_dataset(data)
    spec = get_spec(model_name)
    torch.manual_seed(0)
    model = build_model(model_name, ds.nc, None, imgsz).to(device).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    loader = torch.utils.data.DataLoader(
        DetectionDataset(ds.split("train"), None, spec.label_offset, True),
        batch_size=batch,
        shuffle=True,
        collate_fn=collate,
        num_workers=0,
    )
    seen, start = 0, None
    for i, (images, targets) in enumerate(loader):
        if i > iters:
            break
        if i == 1:
            start, seen = time.perf_counter(), 0
        images = [im.to(device) for im in images]
        targets = [{k: v.to(device) for k, v in t.items() if isinstance(v, torch.Tensor)} for t in targets]
        losses = sum(model(images, targets).values())
        opt.zero_grad()
        losses.backward()
        opt.step()
        float(losses.detach())  # the references read the loss every step too
        seen += len(images)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def engine_loop(data: Path, model_name: str, imgsz: int, batch: int, iters: int, device: str, out: Path) -> float:
    rates: list[tuple[int, float]] = []

    def on_iteration(ev) -> None:
        rates.append((ev.iteration, ev.images_per_s))

    cfg = TrainConfig(
        data=str(data),
        model=model_name,
        epochs=2,
        imgsz=imgsz,
        batch=batch,
        device=device,
        weights="none",
        out=str(out),
        workers=0,
        max_iterations_per_epoch=iters + 1,
        val_every=10**6,
        clip_grad=0.0,
        frozen_bn=False,
    )
    # Only epoch 1 counts: epoch 2 exists so that no validation runs inside the measurement.
    cb = type("Cb", (), {"on_iteration": staticmethod(on_iteration)})()
    result = train(cfg, [cb], should_stop=lambda: len(rates) > iters)
    assert result.reason in ("stopped", "finished"), result.message
    measured = [r for it, r in rates[: iters + 1] if it >= 1]
    # per-iteration rates -> overall rate: images / total time
    return len(measured) * batch / sum(batch / r for r in measured)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--model", default="fasterrcnn_mobilenet_v3_large_fpn")
    ap.add_argument("--imgsz", type=int, default=256)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--iters", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    device = resolve_device(args.device)
    tmp = Path(tempfile.mkdtemp(prefix="wb_bench_"))
    n = args.batch * (args.iters + 2)
    data = write_rect_dataset(tmp / "ds", n_train=n, n_val=1, size=args.imgsz)
    bare, eng = [], []
    for r in range(args.repeats):  # interleaved, so drift in machine load hits both alike
        bare.append(bare_loop(data, args.model, args.imgsz, args.batch, args.iters, device))
        eng.append(engine_loop(data, args.model, args.imgsz, args.batch, args.iters, str(device), tmp / f"runs{r}"))
        if not args.json:
            print(f"repeat {r + 1}: bare {bare[-1]:.2f} img/s, engine {eng[-1]:.2f} img/s")
    result = {
        "benchmark": "train_throughput",
        "model": args.model,
        "device": str(device),
        "imgsz": args.imgsz,
        "batch": args.batch,
        "iterations": args.iters,
        "repeats": args.repeats,
        "bare_images_per_s": round(statistics.median(bare), 3),
        "engine_images_per_s": round(statistics.median(eng), 3),
        "ratio": round(statistics.median(eng) / statistics.median(bare), 3),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

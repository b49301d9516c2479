"""How long `workbench validate` takes on N image/label pairs, next to Ultralytics' label check.

Generates N small real JPEGs (a few distinct ones written by OpenCV, hard-linked or
copied under N names) with YOLO label files of a few lines each, then times:

- ours: ``open_dataset`` + ``validate_dataset(check_images=True)``, no cache (what
  ``workbench validate`` waits for; ``open_s`` says how much of it is the listing);
- baseline: what Ultralytics' label cache does per pair (``verify_image_label`` in
  ultralytics/data/utils.py: PIL ``Image.open`` + ``verify`` + EXIF size + JPEG
  end-of-image check + label parse with numpy and its checks) in a ``ThreadPool`` of
  ``min(8, cpu_count)`` threads after listing the images with ``glob`` as Ultralytics
  does, re-implemented here so the comparison needs no Ultralytics install;
- cached: ours again with ``cache=True`` after a run that filled the cache (a repeated
  run on an unchanged dataset: only file sizes and mtimes are read).

The variants take turns, ``--repeats`` rounds of each (so a busy neighbour slows
both sides alike), and medians are reported. Usage: ``python benchmarks/validate.py
[--n 20000] [--repeats 5] [--json]``. The last line printed is always one JSON object
with the figures: ``speedup`` is the cold ratio baseline/ours, ``cached_speedup`` the
warm one.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from multiprocessing.pool import ThreadPool
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workbench.formats.registry import open_dataset  # noqa: E402
from workbench.qa import validate_dataset  # noqa: E402
from workbench.qa.parallel import available_cpus, worker_count  # noqa: E402

DISTINCT_IMAGES = 32
NUM_CLASSES = 3
IMG_FORMATS = {"bmp", "dng", "jpeg", "jpg", "mpo", "png", "tif", "tiff", "webp", "pfm"}
# Ultralytics: min(8, os.cpu_count()); the CPUs we may use, so that a run under taskset
# compares like with like.
NUM_THREADS = min(8, available_cpus())


# --------------------------------------------------------------------------- data


def generate(root: Path, n: int, seed: int = 0) -> Path:
    """``root/images/train/*.jpg`` + ``root/labels/train/*.txt`` + ``root/data.yaml``."""
    rng = np.random.default_rng(seed)
    images = root / "images" / "train"
    labels = root / "labels" / "train"
    images.mkdir(parents=True)
    labels.mkdir(parents=True)
    bases = []
    for k in range(DISTINCT_IMAGES):
        img = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
        cv2.rectangle(img, (5 + k, 5), (40, 30 + k % 10), (255, 0, 0), -1)
        path = root / f"base{k}.jpg"
        cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 60 + k])
        bases.append(path)
    for i in range(n):
        dst = images / f"{i:06d}.jpg"
        try:
            os.link(bases[i % DISTINCT_IMAGES], dst)
        except OSError:
            shutil.copyfile(bases[i % DISTINCT_IMAGES], dst)
        lines = []
        for _ in range(int(rng.integers(1, 5))):
            w, h = rng.uniform(0.05, 0.4, 2)
            cx, cy = rng.uniform(w / 2, 1 - w / 2), rng.uniform(h / 2, 1 - h / 2)
            lines.append(f"{int(rng.integers(0, NUM_CLASSES))} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
        (labels / f"{i:06d}.txt").write_text("".join(lines))
    for path in bases:
        path.unlink()
    yaml = root / "data.yaml"
    yaml.write_text("path:\ntrain: images/train\nval: images/train\nnames: [a, b, c]\n")
    return yaml


# --------------------------------------------------------------------------- baseline


def exif_size(img: Image.Image) -> tuple[int, int]:
    s = img.size
    if img.format == "JPEG":
        try:
            if exif := img.getexif():
                if exif.get(274, None) in {6, 8}:
                    s = s[1], s[0]
        except Exception:
            pass
    return s


def verify_image_label(args: tuple[str, str, int]) -> tuple:
    """Ultralytics' per-pair check (detection labels), minus the repair of corrupt JPEGs."""
    im_file, lb_file, num_cls = args
    nm, nf, ne, nc, msg = 0, 0, 0, 0, ""
    try:
        im = Image.open(im_file)
        im.verify()
        shape = exif_size(im)
        shape = (shape[1], shape[0])
        assert (shape[0] > 9) & (shape[1] > 9), f"image size {shape} <10 pixels"
        assert im.format.lower() in IMG_FORMATS, f"invalid image format {im.format}"
        if im.format.lower() in {"jpg", "jpeg"}:
            with open(im_file, "rb") as f:
                f.seek(-2, 2)
                if f.read() != b"\xff\xd9":
                    msg = f"{im_file}: corrupt JPEG"
        if os.path.isfile(lb_file):
            nf = 1
            with open(lb_file, encoding="utf-8") as f:
                lb = [x.split() for x in f.read().strip().splitlines() if len(x)]
                lb = np.array(lb, dtype=np.float32)
            if nl := len(lb):
                assert lb.shape[1] == 5, f"labels require 5 columns, {lb.shape[1]} columns detected"
                points = lb[:, 1:]
                assert points.max() <= 1, f"non-normalized or out of bounds coordinates {points[points > 1]}"
                assert lb.min() >= 0, f"negative label values {lb[lb < 0]}"
                max_cls = lb[:, 0].max()
                assert max_cls < num_cls, f"Label class {int(max_cls)} exceeds dataset class count {num_cls}"
                _, i = np.unique(lb, axis=0, return_index=True)
                if len(i) < nl:
                    lb = lb[i]
                    msg = f"{im_file}: {nl - len(i)} duplicate labels removed"
            else:
                ne = 1
                lb = np.zeros((0, 5), dtype=np.float32)
        else:
            nm = 1
            lb = np.zeros((0, 5), dtype=np.float32)
        return im_file, lb[:, :5], shape, nm, nf, ne, nc, msg
    except Exception as e:
        return None, None, None, nm, nf, ne, 1, f"{im_file}: ignoring corrupt image/label: {e}"


def img2label_paths(img_paths: list[str]) -> list[str]:
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return [sb.join(x.rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt" for x in img_paths]


def run_baseline(root: Path) -> int:
    files = sorted(glob.glob(str(root / "images" / "train" / "**" / "*.*"), recursive=True))
    files = [x for x in files if x.rpartition(".")[-1].lower() in IMG_FORMATS]
    labels = img2label_paths(files)
    bad = 0
    with ThreadPool(NUM_THREADS) as pool:
        jobs = ((f, lb, NUM_CLASSES) for f, lb in zip(files, labels, strict=True))
        for result in pool.imap(verify_image_label, jobs):
            bad += result[6]
    return len(files) - bad


# --------------------------------------------------------------------------- ours


def run_ours(yaml: Path, cache: bool = False) -> int:
    ds = open_dataset(yaml)
    findings = validate_dataset(ds, check_images=True, cache=cache)
    errors = sum(f.severity.value == "error" for f in findings)
    if errors:
        raise SystemExit(f"benchmark data should be clean, got {errors} errors: {findings[0]}")
    return len(ds)


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (this process, its threads and its worker processes) of one run.

    CPU time is the steadier figure on a shared machine, where wall time depends on
    who else is running.
    """
    c, t = _cpu_seconds(), time.perf_counter()
    fn()
    return time.perf_counter() - t, _cpu_seconds() - c


def interleaved(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, tuple[list[float], list[float]]]:
    """Each function once per round, ``repeats`` rounds: (wall times, CPU times) per name.

    Taking turns, ours and the baseline see the same background load on a shared
    machine, so the ratio of their medians compares like with like.
    """
    out: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            wall, cpu = timed(fn)
            out[name][0].append(wall)
            out[name][1].append(cpu)
    return out


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="image/label pairs (default 20000)")
    parser.add_argument("--repeats", type=int, default=5, help="rounds, each running every variant once")
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="wb-bench-") as tmp:
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")  # never the user's cache
        yaml = generate(Path(tmp) / "data", args.n)
        run_baseline(yaml.parent)  # warm the page cache for both sides alike
        run_ours(yaml, cache=True)  # fill the cache for the warm runs; the cold runs never read it
        times = interleaved(
            {
                "ours": lambda: run_ours(yaml),
                "baseline": lambda: run_baseline(yaml.parent),
                "cached": lambda: run_ours(yaml, cache=True),
                "open": lambda: open_dataset(yaml),
            },
            args.repeats,
        )

    med = {name: statistics.median(wall) for name, (wall, _) in times.items()}
    med_cpu = {name: statistics.median(cpu) for name, (_, cpu) in times.items()}
    result = {
        "n": args.n,
        "repeats": args.repeats,
        "ours_s": round(med["ours"], 3),
        "baseline_s": round(med["baseline"], 3),
        "speedup": round(med["baseline"] / med["ours"], 2),
        "cached_s": round(med["cached"], 3),
        "cached_speedup": round(med["baseline"] / med["cached"], 2),
        "open_s": round(med["open"], 3),
        "ours_cpu_s": round(med_cpu["ours"], 3),
        "baseline_cpu_s": round(med_cpu["baseline"], 3),
        "cached_cpu_s": round(med_cpu["cached"], 3),
        "cpus": available_cpus(),
        "workers": worker_count(None, args.n),
    }
    if not args.json:
        w = times
        print(
            f"{args.n} image/label pairs, {available_cpus()} CPUs ({result['workers']} worker processes), "
            f"medians of {args.repeats} interleaved rounds:"
        )
        print(f"  ours (open + validate_dataset, cold): {result['ours_s']:.3f} s  {_fmt(w['ours'][0])}")
        print(f"    of which open_dataset (listing):    {result['open_s']:.3f} s  {_fmt(w['open'][0])}")
        print(f"  baseline (glob + Ultralytics check):  {result['baseline_s']:.3f} s  {_fmt(w['baseline'][0])}")
        print(f"  speedup baseline/ours, cold:          {result['speedup']:.2f}x")
        print(f"  ours with a warm cache:               {result['cached_s']:.3f} s  {_fmt(w['cached'][0])}")
        print(f"  speedup baseline/ours, warm cache:    {result['cached_speedup']:.2f}x")
        print(
            f"  CPU seconds, ours / baseline / warm:  {result['ours_cpu_s']:.3f} / {result['baseline_cpu_s']:.3f}"
            f" / {result['cached_cpu_s']:.3f}"
        )
    print(json.dumps(result))
    return 0


def _fmt(times: list[float]) -> str:
    return "(" + ", ".join(f"{t:.3f}" for t in times) + ")"


if __name__ == "__main__":
    sys.exit(main())

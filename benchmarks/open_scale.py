"""Opening a very large dataset in the main window: first paint, full list, validation, memory, navigation.

    python benchmarks/open_scale.py [--data DATA] [--n 100000] [--json]

Without ``--data`` it generates N image/label pairs once in the temp folder (tiny PNGs,
hard-linked so 100,000 of them cost one image of disk, each with a YOLO label file of
two boxes). It opens the main window offscreen at 1400x900 and measures, from the call
that opens the dataset:

- ``first_paint_s``: the first image's pixels painted on the canvas (the window usable);
- ``list_ready_s``: the image list holds every image;
- ``validated_s``: background validation finished (findings and counts shown);
- ``rss_mb``: resident memory of the process after validation;
- ``nav_p95_ms`` / ``nav_median_ms``: "next image" to the new pixels on the canvas,
  stepping while validation still runs (what a user does right after opening).

Issue 11's goals at 100,000 pairs: first paint 1.5 s, list 3 s, RSS under 400 MB and
next-image p95 under 30 ms while validation runs. The last line printed is JSON.
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

import cv2
import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("WORKBENCH_TEST", "1")  # private settings and caches
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GOALS = {"first_paint_s": 1.5, "list_ready_s": 3.0, "rss_mb": 400.0, "nav_p95_ms": 30.0}
NAV_STEPS = 60
LINKS_PER_FILE = 50_000


def make_dataset(folder: Path, n: int) -> Path:
    """``n`` YOLO pairs under ``folder`` (reused when already complete)."""
    images, labels = folder / "images" / "train", folder / "labels" / "train"
    data = folder / "data.yaml"
    marker = folder / f".complete-{n}"
    if marker.exists():
        return data
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(".png", img)
    assert ok
    for i in range(n):
        path = images / f"frame_{i:06d}.png"
        if path.exists():
            continue
        first = images / f"frame_{i - i % LINKS_PER_FILE:06d}.png"  # some 65,000 links per file at most
        if path == first:
            path.write_bytes(buf.tobytes())
        else:
            os.link(first, path)
        (labels / f"frame_{i:06d}.txt").write_text(f"{i % 3} 0.5 0.5 0.25 0.25\n{(i + 1) % 3} 0.3 0.3 0.1 0.1\n")
    data.write_text("path: .\ntrain: images/train\nval: images/train\nnames: [a, b, c]\n")
    marker.write_text("")
    return data


def rss_mb() -> float:
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def wait(app, done, timeout: float) -> float | None:  # noqa: ANN001 - the QApplication
    """Pump the event loop until ``done()``; seconds waited, or None on timeout."""
    start = time.perf_counter()
    while not done():
        if time.perf_counter() - start > timeout:
            return None
        app.processEvents()
        time.sleep(0.0005)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="an existing dataset to open instead of generated pairs")
    ap.add_argument("--n", type=int, default=100_000, help="pairs to generate (default 100000)")
    ap.add_argument("--json", action="store_true", help="only the JSON line")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for each stage")
    args = ap.parse_args(argv)

    if args.data:
        data = Path(args.data)
    else:
        t = time.perf_counter()
        data = make_dataset(Path(tempfile.gettempdir()) / f"workbench-open-scale-{args.n}", args.n)
        if not args.json:
            print(f"dataset: {data} ({args.n} pairs, ready in {time.perf_counter() - t:.1f} s)")

    from PySide6.QtWidgets import QApplication

    from workbench.gui.main_window import MainWindow
    from workbench.gui.settings import Settings

    app = QApplication.instance() or QApplication([])
    settings = Settings()
    window = MainWindow(settings, query_devices=False)
    window.resize(1400, 900)
    window.show()
    app.processEvents()

    shown: list[str] = []
    window.pixelsShown.connect(shown.append)
    t0 = time.perf_counter()
    window.open_path(str(data))
    first_paint = wait(app, lambda: bool(shown), args.timeout)
    app.processEvents()  # the paint of those pixels
    first_paint_s = None if first_paint is None else time.perf_counter() - t0
    total = len(window.ds.records) if window.ds is not None else 0

    # Step through images while validation runs: the navigation a user does right after opening.
    nav: list[float] = []
    for step in range(1, min(NAV_STEPS, total)):
        if not window.validation.running:
            break
        target = str(window.ds.records[step].path)
        t = time.perf_counter()
        window.show_record(step)
        if wait(app, lambda target=target: bool(shown) and shown[-1] == target, 10.0) is None:
            break
        nav.append((time.perf_counter() - t) * 1000)
    nav_during_validation = len(nav)

    list_wait = wait(app, lambda: window.image_list.model.rowCount() >= total, args.timeout)
    list_ready_s = None if list_wait is None else time.perf_counter() - t0
    validated = wait(app, lambda: not window.validation.running and window.store is not None, args.timeout)
    validated_s = None if validated is None else time.perf_counter() - t0
    rss = rss_mb()
    window.close()

    def goal(key: str, value: float | None) -> bool | None:
        return None if value is None else value <= GOALS[key]

    nav_p95 = float(np.percentile(nav, 95)) if nav else None
    result = {
        "n": total,
        "first_paint_s": None if first_paint_s is None else round(first_paint_s, 3),
        "list_ready_s": None if list_ready_s is None else round(list_ready_s, 3),
        "validated_s": None if validated_s is None else round(validated_s, 3),
        "rss_mb": round(rss, 1),
        "nav_p95_ms": None if nav_p95 is None else round(nav_p95, 2),
        "nav_median_ms": round(statistics.median(nav), 2) if nav else None,
        "nav_steps_during_validation": nav_during_validation,
        "goals": GOALS,
        "met": {
            "first_paint_s": goal("first_paint_s", first_paint_s),
            "list_ready_s": goal("list_ready_s", list_ready_s),
            "rss_mb": goal("rss_mb", rss),
            "nav_p95_ms": goal("nav_p95_ms", nav_p95),
        },
    }
    if not args.json:
        for key in ("first_paint_s", "list_ready_s", "validated_s", "rss_mb", "nav_p95_ms", "nav_median_ms"):
            mark = "" if key not in GOALS else f"  (goal {GOALS[key]}: {'met' if result['met'][key] else 'NOT met'})"
            print(f"{key:>16}: {result[key]}{mark}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

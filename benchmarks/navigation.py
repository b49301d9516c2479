"""Paging through 12-megapixel JPEGs in the main window: time from "next image" to the painted frame.

    python benchmarks/navigation.py [--json] [--images 30] [--pause-ms 150]

Generates ~30 4000x3000 JPEGs once (noise, gradients and shapes, so they compress like
photos) in the temp folder, opens the main window offscreen at 1400x900 and triggers
the "Next Image" action through them, measuring from the action to the first paint of
the canvas after the new image's pixels reached it. Decoding happens in the image
cache's thread pool with neighbours prefetched; the UI thread only uploads and paints.
A 4000x3000 photo in a ~750x700 canvas is decoded at 1/4 (``IMREAD_REDUCED_COLOR_4``,
libjpeg's DCT scaling: about half the decode time and 1/16 of the pixels to upload);
zooming in past that resolution fetches the full decode. The canvas stretches a reduced
decode over the record's own size, so labels stay in full-resolution pixels.

Two runs: with a pause between steps like a user pressing keys (--pause-ms, default
150 ms; the event loop keeps running during the pause so prefetched images arrive),
and without any pause (holding the key down: decode-bound). Also measured: the bare
``cv2.imread`` time of the same files, and the longest UI-thread stall (a 5 ms timer
measuring the gaps between its ticks) while the grid's thumbnails load.

The last line printed is JSON:
{"p95_ms", "median_ms", "decode_ms", "max_stall_ms", "nopause_p95_ms", ...}.
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
os.environ.setdefault("WORKBENCH_TEST", "1")  # private settings and thumbnail cache
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

W, H = 4000, 3000


def make_dataset(folder: Path, n: int) -> Path:
    """YOLO dataset of n 12-MP JPEGs with a few boxes each (reused when already there)."""
    images, labels = folder / "images", folder / "labels"
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        path = images / f"frame_{i:03d}.jpg"
        if path.exists():
            continue
        small = rng.integers(0, 255, (H // 16, W // 16, 3), dtype=np.uint8)
        img = cv2.resize(small, (W, H), interpolation=cv2.INTER_CUBIC)
        img = cv2.add(img, rng.integers(0, 24, (H, W, 3), dtype=np.uint8))
        lines = []
        for _ in range(5):
            x, y = int(rng.integers(200, W - 800)), int(rng.integers(200, H - 800))
            w, h = int(rng.integers(150, 600)), int(rng.integers(150, 600))
            color = tuple(int(c) for c in rng.integers(0, 255, 3))
            cv2.rectangle(img, (x, y), (x + w, y + h), color, -1)
            cv2.circle(img, (x + w // 2, y + h // 2), min(w, h) // 3, (255 - color[0], 80, 200), -1)
            cx, cy = (x + w / 2) / W, (y + h / 2) / H
            lines.append(f"{int(rng.integers(0, 3))} {cx:.6f} {cy:.6f} {w / W:.6f} {h / H:.6f}")
        cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        (labels / f"frame_{i:03d}.txt").write_text("\n".join(lines) + "\n")
    data = folder / "data.yaml"
    data.write_text("path: .\ntrain: images\nval: images\nnames: [a, b, c]\n")
    return data


def bare_decode_ms(paths: list[Path]) -> tuple[float, float]:
    full, reduced = [], []
    for p in paths:
        t = time.perf_counter()
        cv2.imread(str(p), cv2.IMREAD_COLOR)
        full.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        cv2.imread(str(p), cv2.IMREAD_REDUCED_COLOR_4)
        reduced.append((time.perf_counter() - t) * 1000)
    return statistics.median(full), statistics.median(reduced)


class StallProbe:
    """A 5 ms timer; the longest gap between its ticks is the longest UI-thread stall."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.max_gap_ms = 0.0
        self._last: float | None = None
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.max_gap_ms, self._last = 0.0, None
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return self.max_gap_ms

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.max_gap_ms = max(self.max_gap_ms, (now - self._last) * 1000 - 5)
        self._last = now


def pump(app, seconds: float) -> None:  # noqa: ANN001 - the QApplication
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.0005)


def page_through(app, window, steps: int, pause_s: float, probe: StallProbe) -> tuple[list[float], float]:  # noqa: ANN001
    """Times (ms) from the next-image action to the canvas' first paint showing the new pixels."""
    from PySide6.QtCore import QEvent, QObject

    state = {"target": None, "shown": False, "painted": False}

    class PaintWatch(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt API)
            if event.type() == QEvent.Type.Paint and state["shown"]:
                state["painted"] = True
            return False

    watch = PaintWatch()
    window.canvas.viewport().installEventFilter(watch)

    def on_shown(path: str) -> None:
        if path == state["target"]:
            state["shown"] = True

    window.pixelsShown.connect(on_shown)
    times = []
    probe.start()
    for _ in range(steps):
        if pause_s:
            pump(app, pause_s)
        nxt = window.image_list.neighbour(window.current, 1)
        if nxt is None:
            window.show_record(0)
            pump(app, 0.3)
            nxt = window.image_list.neighbour(window.current, 1)
        state.update(target=str(window.ds.records[nxt].path), shown=False, painted=False)
        t0 = time.perf_counter()
        window.actions["next_image"].trigger()
        while not state["painted"]:
            app.processEvents()
            if not state["painted"]:
                time.sleep(0.0002)
            if time.perf_counter() - t0 > 10:
                raise RuntimeError("the canvas did not paint the next image within 10 s")
        times.append((time.perf_counter() - t0) * 1000)
    stall = probe.stop()
    window.pixelsShown.disconnect(on_shown)
    window.canvas.viewport().removeEventFilter(watch)
    return times, stall


def thumbnail_stall(app, window, probe: StallProbe) -> tuple[float, float]:  # noqa: ANN001
    """Max UI stall (ms) and wall time (s) while the grid's thumbnails are made from scratch."""
    import shutil

    shutil.rmtree(window.thumbnails.folder, ignore_errors=True)
    window.thumbnails._memory.clear()
    probe.start()
    t = time.perf_counter()
    window.image_list.set_grid(True)
    pump(app, 0.05)
    while window.thumbnails.pending():
        pump(app, 0.02)
    pump(app, 0.1)
    return probe.stop(), time.perf_counter() - t


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="only the JSON line")
    parser.add_argument("--images", type=int, default=30)
    parser.add_argument("--pause-ms", type=float, default=150.0)
    parser.add_argument("--dir", default=str(Path(tempfile.gettempdir()) / "workbench-navigation-bench"))
    args = parser.parse_args()

    def say(*a: object) -> None:
        if not args.json:
            print(*a, flush=True)

    t = time.perf_counter()
    data = make_dataset(Path(args.dir), args.images)
    say(f"dataset: {args.images} x {W}x{H} JPEG in {data.parent} ({time.perf_counter() - t:.1f} s)")
    paths = sorted((data.parent / "images").glob("*.jpg"))
    decode_ms, reduced_ms = bare_decode_ms(paths)
    say(f"bare cv2.imread: median {decode_ms:.1f} ms full, {reduced_ms:.1f} ms at 1/4 (IMREAD_REDUCED_COLOR_4)")

    from PySide6.QtCore import QSettings

    from workbench.gui.app import application
    from workbench.gui.main_window import MainWindow
    from workbench.gui.settings import Settings, private_test_dir

    app = application()
    window = MainWindow(Settings(QSettings(str(private_test_dir() / "bench.ini"), QSettings.Format.IniFormat)))
    window.resize(1400, 900)
    window.show()
    window.open_path(data)
    end = time.perf_counter() + 60
    while not window.is_ready() and time.perf_counter() < end:
        pump(app, 0.02)
    pump(app, 0.3)
    probe = StallProbe()
    steps = len(paths) - 1
    paused, stall_nav = page_through(app, window, steps, args.pause_ms / 1000, probe)
    say("  per step (ms):", " ".join(f"{t:.0f}" for t in paused))
    say(
        f"next image -> painted, {args.pause_ms:.0f} ms pause: median {statistics.median(paused):.1f} ms, "
        f"p95 {percentile(paused, 95):.1f} ms, max {max(paused):.1f} ms; max UI stall {stall_nav:.1f} ms"
    )
    window.images.clear()
    window.show_record(0)
    pump(app, 0.5)
    nopause, stall_np = page_through(app, window, steps, 0.0, probe)
    say(
        f"next image -> painted, no pause:  median {statistics.median(nopause):.1f} ms, "
        f"p95 {percentile(nopause, 95):.1f} ms, max {max(nopause):.1f} ms"
    )
    thumb_stall, thumb_s = thumbnail_stall(app, window, probe)
    say(f"thumbnails of {len(paths)} images from scratch: {thumb_s:.2f} s, max UI stall {thumb_stall:.1f} ms")
    window.saver.stack.setClean()
    window.close()
    result = {
        "p95_ms": round(percentile(paused, 95), 2),
        "median_ms": round(statistics.median(paused), 2),
        "decode_ms": round(decode_ms, 2),
        "max_stall_ms": round(thumb_stall, 2),
        "nav_max_stall_ms": round(stall_nav, 2),
        "nopause_p95_ms": round(percentile(nopause, 95), 2),
        "nopause_median_ms": round(statistics.median(nopause), 2),
        "reduced_decode_ms": round(reduced_ms, 2),
        "pause_ms": args.pause_ms,
        "images": len(paths),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Raw pixels to 8-bit BGR for the screen: a window (lo..hi) and a palette.

A thermal camera writes 16-bit counts or float degrees; a screen shows 256 levels. The
window says which raw values span them: automatic (each image's 1st..99th percentile, so
a warm object a few hundred counts above the background shows with contrast), a
dataset-wide range (every image on one scale, so brightness compares across images), or
manual (the user's min/max). Palettes: grey, and inferno, the "iron"-like map thermal
viewers use. Only what is shown changes: files, labels and training never pass through
here (training has ``core.input_range``, stored in the checkpoint).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

Window = tuple[float, float]
Mode = Literal["percentile", "range", "manual"]
PALETTES = ("grey", "inferno")
MODES = ("percentile", "range", "manual")

# The automatic window: these percentiles of the image's values, so a few hot or dead
# pixels do not flatten everything else.
LOW_PERCENTILE, HIGH_PERCENTILE = 1.0, 99.0
# Percentiles are taken over at most this many pixels (a regular subsample): a 640x512
# frame costs the same as a 4k one.
PERCENTILE_SAMPLES = 1 << 18

_COLORMAPS = {"inferno": cv2.COLORMAP_INFERNO}


def percentile_window(raw: np.ndarray, low: float = LOW_PERCENTILE, high: float = HIGH_PERCENTILE) -> Window:
    """The ``low``..``high`` percentile of the finite values of ``raw`` (all channels together)."""
    flat = raw.reshape(-1)
    step = max(1, flat.size // PERCENTILE_SAMPLES)
    sample = flat[::step]
    if sample.dtype.kind == "f":
        sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 0.0, 1.0
    lo, hi = np.percentile(sample, [low, high])
    return float(lo), float(hi)


def apply_window(raw: np.ndarray, window: Window) -> np.ndarray:
    """``raw`` mapped linearly so ``window[0]`` is 0 and ``window[1]`` is 255, clipped, as uint8.

    NaN (a float TIFF's missing reading) shows as 0. A window of zero width shows its value
    as 0 and anything above as 255.
    """
    lo, hi = float(window[0]), float(window[1])
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError(f"the display window {window} must be two finite numbers")
    if hi < lo:
        lo, hi = hi, lo
    scale = 255.0 / max(hi - lo, 1e-12)
    out = (raw.astype(np.float32) - np.float32(lo)) * np.float32(scale)
    np.nan_to_num(out, copy=False, nan=0.0, posinf=255.0, neginf=0.0)
    np.clip(out, 0.0, 255.0, out=out)
    return (out + 0.5).astype(np.uint8)


def window_for(raw: np.ndarray, window: Window | None, mode: Mode) -> Window | None:
    """The window ``to_display`` uses; None for an 8-bit image left as it is."""
    if mode not in MODES:
        raise ValueError(f"display mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "percentile":
        return None if raw.dtype == np.uint8 else percentile_window(raw)
    if window is None:
        raise ValueError(f"display mode {mode!r} needs a window (lo, hi)")
    return window


def to_display(
    raw: np.ndarray, window: Window | None = None, mode: Mode = "percentile", palette: str = "grey"
) -> np.ndarray:
    """8-bit BGR ``(h, w, 3)`` pixels to show ``raw`` (``(h, w)`` or ``(h, w, c)`` BGR(A)).

    ``mode`` "percentile": each image's own 1st..99th percentile window (8-bit images stay
    as they are); "range" (a dataset-wide range) and "manual" take ``window``. ``palette``
    colours a single-channel image; colour images keep their colours.
    """
    if palette not in PALETTES:
        raise ValueError(f"palette must be one of {', '.join(PALETTES)}, not {palette!r}")
    win = window_for(raw, window, mode)
    img = raw if win is None else apply_window(raw, win)
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        if palette != "grey":
            return cv2.applyColorMap(img, _COLORMAPS[palette])
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 2:  # greyscale + alpha: the alpha is not shown
        return cv2.cvtColor(np.ascontiguousarray(img[:, :, 0]), cv2.COLOR_GRAY2BGR)
    return np.ascontiguousarray(img[:, :, :3])  # BGR, or BGRA without its alpha


@dataclass(frozen=True)
class DisplaySettings:
    """How the canvas shows high-bit-depth images: ``mode``, ``window`` (for "range" and
    "manual") and ``palette``. 8-bit images show as they are in the automatic mode."""

    mode: Mode = "percentile"
    window: Window | None = None
    palette: str = "grey"

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"display mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.palette not in PALETTES:
            raise ValueError(f"palette must be one of {', '.join(PALETTES)}, not {self.palette!r}")
        if self.mode != "percentile" and self.window is None:
            raise ValueError(f"display mode {self.mode!r} needs a window (lo, hi)")

    def render(self, raw: np.ndarray) -> np.ndarray:
        """``to_display`` with these settings."""
        return to_display(raw, self.window, self.mode, self.palette)


def pixel_value_text(raw: np.ndarray, x: float, y: float) -> str | None:
    """The raw value under image pixel (``x``, ``y``) as the status bar shows it ("7412",
    "31.25", "R 10 G 20 B 30"); None outside the image. ``raw`` is BGR(A) like every reader gives."""
    h, w = raw.shape[:2]
    col, row = int(np.floor(x)), int(np.floor(y))
    if not (0 <= col < w and 0 <= row < h):
        return None
    v = raw[row, col]

    def num(a: object) -> str:
        f = float(a)  # type: ignore[arg-type]
        if raw.dtype.kind == "f":
            return "nan" if not np.isfinite(f) else f"{f:.4g}" if abs(f) >= 1e4 else f"{f:.2f}"
        return str(int(f))

    if raw.ndim == 2:
        return num(v)
    if raw.shape[2] >= 3:
        names = "BGRA"
        order = [2, 1, 0] + list(range(3, raw.shape[2]))
        return "  ".join(f"{names[i]} {num(v[i])}" for i in order)
    return "  ".join(num(c) for c in v)

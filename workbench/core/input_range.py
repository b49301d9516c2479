"""How a model's input is made from an image file's pixels: the one normalization for
high-bit-depth (thermal) data, chosen once per run and stored in the checkpoint.

Detectors take 8-bit-like RGB scaled to 0..1. A 16-bit thermal frame must be windowed into
that range first; OpenCV's own conversion keeps the top byte, so counts 7000..8020 become
five grey levels and the model learns from those. The choices:

- ``fixed`` [lo, hi]: every image mapped linearly through the same raw range, clipped.
  The recommended default for 16-bit data: a raw value means the same brightness in every
  image (and roughly the same temperature), as the camera intended. ``auto`` computes it
  once from the training images (the 0.5th..99.5th percentile of a sample of their pixels).
- ``percentile``: each image through its own 1st..99th percentile. Robust to cameras whose
  offset drifts between frames, but a frame of cold background is stretched as much as one
  with a warm object in it.
- ``none``: images as ``core.image_io.read_image`` gives them (8-bit files unchanged);
  what a dataset of ordinary 8-bit images gets from ``auto``.

FLIR-style layouts keep 8-bit previews (``thermal_8_bit/x.jpeg``) beside the 16-bit frames
(``thermal_16_bit/x.tiff``, same stem, same size), and annotations may name either. A
dataset opened on the previews shows them; a model with a range (``fixed``/``percentile``)
reads the 16-bit counterpart of each preview instead (``raw_source``), in training and in
prediction alike, and ``auto`` looks at the counterparts to decide.

Whichever: the mapped image is 8-bit BGR with three channels (a single channel replicated,
so ImageNet-pretrained backbones apply), the same array the data pipeline, ``Predictor``,
evaluation, label QC and the detection viewer feed a model, because all of them read it
through ``InputRange.read`` with the checkpoint's ``input_range``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.display_window import apply_window, percentile_window, to_display
from workbench.core.image_io import ImageReadError, read_image, read_raw_image
from workbench.core.imageheader import read_image_header

INPUT_MODES = ("none", "fixed", "percentile")
SETTINGS_HELP = '"auto", "percentile", "none" or [lo, hi] (raw values)'
# ``auto``'s fixed range: these percentiles of the pooled pixels of up to RANGE_IMAGES
# training images (evenly spaced through the list), each subsampled to RANGE_PIXELS.
RANGE_PERCENTILES = (0.5, 99.5)
RANGE_IMAGES = 64
RANGE_PIXELS = 1 << 16
# How many training images' headers ``auto`` reads to decide whether the data is high-bit-depth.
DEPTH_PROBE = 256


class InputRangeError(ValueError):
    """A setting that is not one of the input ranges; the message says what is allowed."""


@dataclass(frozen=True)
class InputRange:
    """The mapping from a file's pixels to a model's 8-bit BGR input; see the module doc."""

    mode: str = "none"
    lo: float | None = None
    hi: float | None = None

    def __post_init__(self) -> None:
        if self.mode not in INPUT_MODES:
            raise InputRangeError(f"input range mode {self.mode!r}: must be one of {', '.join(INPUT_MODES)}")
        if self.mode == "fixed":
            if not _finite(self.lo) or not _finite(self.hi) or float(self.hi) <= float(self.lo):  # type: ignore[arg-type]
                raise InputRangeError(f"input range [{self.lo}, {self.hi}]: must be two finite numbers, lo < hi")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the checkpoint (``torch.load(weights_only=True)`` reads it)."""
        return {"mode": self.mode, "lo": self.lo, "hi": self.hi}

    @classmethod
    def from_dict(cls, d: Any) -> InputRange:
        """The checkpoint's entry; a checkpoint from before input ranges (None) is ``none``."""
        if d is None:
            return cls()
        if not isinstance(d, dict):
            raise InputRangeError(f"input_range {d!r}: not a mapping with mode, lo and hi")
        lo, hi = d.get("lo"), d.get("hi")
        return cls(str(d.get("mode")), None if lo is None else float(lo), None if hi is None else float(hi))

    def describe(self) -> str:
        if self.mode == "fixed":
            return f"raw values {self.lo:g}..{self.hi:g} to 0..1"
        if self.mode == "percentile":
            return "each image's 1st..99th percentile to 0..1"
        return "images as read (8-bit)"

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """8-bit BGR ``(h, w, 3)`` model input from raw pixels ``(h, w)`` / ``(h, w, c)``."""
        if self.mode == "fixed":
            mapped = apply_window(raw, (float(self.lo), float(self.hi)))  # type: ignore[arg-type]
        elif self.mode == "percentile":
            mapped = apply_window(raw, percentile_window(raw))
        else:
            mapped = raw if raw.dtype == np.uint8 else apply_window(raw, percentile_window(raw))
        return to_display(mapped)  # one channel replicated to three, alpha dropped

    def read(self, path: str | os.PathLike[str]) -> np.ndarray:
        """The model input of an image file (of its 16-bit counterpart, for a FLIR-style 8-bit
        preview); ``ImageReadError`` naming the file when it cannot be read."""
        if self.mode == "none":
            return read_image(path)
        return self.apply(read_raw_image(raw_source(path)))


# FLIR's folder names: previews in thermal_8_bit/, radiometric frames in thermal_16_bit/.
PREVIEW_FOLDER_MARK, RAW_FOLDER_MARK = "8_bit", "16_bit"
RAW_SUFFIXES = (".tiff", ".tif", ".png")


def raw_counterpart(path: str | os.PathLike[str]) -> Path | None:
    """The 16-bit frame an 8-bit FLIR-style preview stands for, or None.

    Only the layout FLIR ships: the preview's folder name contains ``8_bit`` and a sibling
    folder with ``16_bit`` in its place holds a file of the same stem (.tiff, .tif, .png)
    whose header says it is high-bit-depth and of the same size (labels were drawn on the
    preview, so a frame of another size is not its counterpart).
    """
    p = Path(path)
    folder = p.parent.name
    if PREVIEW_FOLDER_MARK not in folder or RAW_FOLDER_MARK in folder:
        return None
    raw_dir = p.parent.with_name(folder.replace(PREVIEW_FOLDER_MARK, RAW_FOLDER_MARK))
    for suffix in RAW_SUFFIXES:
        candidate = raw_dir / (p.stem + suffix)
        if not candidate.is_file():
            continue
        raw, preview = read_image_header(candidate, check_end=False), read_image_header(p, check_end=False)
        if raw.depth is not None and raw.depth.high and (raw.width, raw.height) == (preview.width, preview.height):
            return candidate
    return None


def raw_source(path: str | os.PathLike[str]) -> str | os.PathLike[str]:
    """What a model with an input range reads for ``path``: its 16-bit counterpart, else itself."""
    return raw_counterpart(path) or path


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def check_setting(setting: Any) -> None:
    """Refuse a ``TrainConfig.input_range`` that is none of the choices (before any work starts)."""
    if isinstance(setting, str):
        if setting in ("auto", "percentile", "none"):
            return
        parts = setting.replace(",", " ").split()
        if len(parts) == 2:
            try:
                InputRange("fixed", float(parts[0]), float(parts[1]))
                return
            except ValueError:
                pass
        raise InputRangeError(f"input_range = {setting!r}: must be {SETTINGS_HELP}")
    if isinstance(setting, Sequence) and len(setting) == 2 and all(_finite(v) for v in setting):
        InputRange("fixed", float(setting[0]), float(setting[1]))
        return
    raise InputRangeError(f"input_range = {setting!r}: must be {SETTINGS_HELP}")


def resolve(setting: Any, paths: Sequence[str | os.PathLike[str]]) -> InputRange:
    """The ``InputRange`` a run uses, from its setting and its training images.

    ``auto``: a fixed range over the training images when any of them is high-bit-depth
    (by its header), else ``none``. ``[lo, hi]`` or "lo,hi": that fixed range.
    """
    check_setting(setting)
    if setting == "percentile":
        return InputRange("percentile")
    if setting == "none":
        return InputRange()
    if setting != "auto":
        parts = setting.replace(",", " ").split() if isinstance(setting, str) else setting
        return InputRange("fixed", float(parts[0]), float(parts[1]))
    if not any(_is_high(p) for p in _spread(paths, DEPTH_PROBE)):
        return InputRange()
    lo, hi = dataset_range(paths)
    return InputRange("fixed", lo, hi)


def _is_high(path: str | os.PathLike[str]) -> bool:
    depth = read_image_header(raw_source(path), check_end=False).depth
    return depth is not None and depth.high


def _spread(items: Sequence[Any], n: int) -> list[Any]:
    """Up to ``n`` items evenly spaced through ``items`` (first and last included)."""
    if len(items) <= n:
        return list(items)
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def dataset_range(
    paths: Sequence[str | os.PathLike[str]], percentiles: tuple[float, float] = RANGE_PERCENTILES
) -> tuple[float, float]:
    """A raw range covering the images' values: the ``percentiles`` of a pooled pixel sample.

    Unreadable images are skipped (validation reports them); none readable is an
    ``InputRangeError`` naming the first.
    """
    samples: list[np.ndarray] = []
    first_error: ImageReadError | None = None
    for p in _spread(paths, RANGE_IMAGES):
        try:
            raw = read_raw_image(raw_source(p))
        except ImageReadError as e:
            first_error = first_error or e
            continue
        flat = raw.reshape(-1)
        flat = flat[:: max(1, flat.size // RANGE_PIXELS)].astype(np.float64)
        samples.append(flat[np.isfinite(flat)])
    pooled = np.concatenate(samples) if samples else np.empty(0)
    if pooled.size == 0:
        raise InputRangeError(
            f"no readable training image to compute the input range from ({first_error}); "
            "fix the images or give the range as [lo, hi]"
        )
    lo, hi = (float(v) for v in np.percentile(pooled, percentiles))
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi

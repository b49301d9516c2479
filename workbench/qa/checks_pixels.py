"""The dataset's pixel formats: what bit depth and channels its images have, and whether they mix.

A thermal dataset is 16-bit greyscale (or float degrees); training maps all of it through
one input range (``core.input_range``). An 8-bit preview or an RGB photo among the 16-bit
frames is read on a different scale, so the model learns two kinds of image as one. The
header already says each image's format (``ImageHeader.depth``), so this costs no decode.
"""

from __future__ import annotations

from collections import defaultdict

from workbench.core.annotation import Dataset
from workbench.core.findings import Finding, Severity
from workbench.core.imageheader import ImageDepth
from workbench.qa.checks_classes import RecordClasses

EXAMPLES_SHOWN = 3


def check_pixel_formats(ds: Dataset, per_image: list[RecordClasses]) -> list[Finding]:
    """``pixel_format`` (info) saying the formats found, when any image is not 8-bit colour;
    ``mixed_bit_depth`` (warning) when images of different bit depths or sample types mix.

    An ordinary dataset of 8-bit colour photos gets nothing: the line would be noise there.
    Images whose header does not say their format are left out.
    """
    groups: dict[ImageDepth, list[RecordClasses]] = defaultdict(list)
    for r in per_image:
        if r.depth is not None:
            groups[ImageDepth(*r.depth)].append(r)
    if not groups or all(d.dtype == "uint8" and d.channels in (3, 4, None) for d in groups):
        return []
    ranked = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0].describe()))
    cfg = ds.config_file.name if ds.config_file is not None else None
    by_dtype = {d.dtype for d in groups}
    parts = [f"{len(rs)} {'image is' if len(rs) == 1 else 'images are'} {d.describe()}" for d, rs in ranked]
    found = ", ".join(parts)
    if len(by_dtype) == 1:
        d = ranked[0][0]
        note = (
            " (shown through a display window, trained through one input range stored in the checkpoint)"
            if d.high
            else ""
        )
        return [Finding(Severity.INFO, "pixel_format", f"pixel format: {found}{note}", label_file=cfg)]
    main = ranked[0][0]
    odd = [r for d, rs in ranked if d.dtype != main.dtype for r in rs]
    shown = ", ".join(ds.rel(r.rec.path) or str(r.rec.path) for r in odd[:EXAMPLES_SHOWN])
    more = f" and {len(odd) - EXAMPLES_SHOWN} more" if len(odd) > EXAMPLES_SHOWN else ""
    return [
        Finding(
            Severity.WARNING,
            "mixed_bit_depth",
            f"{found}: the images that are not {main.bits}-bit ({shown}{more}) are on a different scale from "
            "the rest, and a model learns them through one input range as if they were the same; convert "
            "them to one depth (use the 16-bit originals of 8-bit previews) or keep them in a dataset of "
            "their own",
            image=ds.rel(odd[0].rec.path),
            label_file=cfg,
        )
    ]

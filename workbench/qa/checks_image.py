"""Checks of an image as a whole: too small to train on, or never labeled.

The checks of its labels live beside it: ``checks_instances`` runs the class, box,
keypoint and duplicate checks of every instance.
"""

from __future__ import annotations

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import ExcludeImage
from workbench.formats.base import record_finding

# Below this side length an image is too small for any detector's stride.
TINY_IMAGE_SIDE = 32


def check_image(ds: Dataset, rec: ImageRecord) -> list[Finding]:
    """Findings about the image itself: too small to train on, or never labeled."""
    out: list[Finding] = []
    if rec.width is not None and rec.height is not None and min(rec.width, rec.height) < TINY_IMAGE_SIDE:
        out.append(
            record_finding(
                ds,
                rec,
                Severity.WARNING,
                "tiny_image",
                f"image is only {rec.width}x{rec.height} pixels (under {TINY_IMAGE_SIDE} px on a side): "
                "detectors downsample by 32, so use a larger image or exclude this one",
                fix=ExcludeImage(),
            )
        )
    if not rec.has_labels and not rec.instances and rec.width is not None:
        out.append(
            record_finding(
                ds,
                rec,
                Severity.INFO,
                "unlabeled_image",
                "image has no label file, so it trains as background (no objects): label it if it shows objects",
            )
        )
    return out

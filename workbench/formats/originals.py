"""Pair edited instances with the annotations they were read from.

COCO annotations and VOC objects carry more than the core model holds (segmentation
polygons, annotation ids, ``pose``/``truncated``, tool-specific fields). When an
edited image is saved, every instance the user did not change should be written
back exactly as it was read, and only the changed or new ones rebuilt. The core
model deliberately has no per-instance metadata, so the pairing is by value: an
instance equal (class, box, keypoints, crowd flag) to an original reuses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from workbench.core.annotation import Instance

Payload = TypeVar("Payload")


def match_originals(
    instances: Sequence[Instance], originals: Sequence[tuple[Instance, Payload]]
) -> list[Payload | None]:
    """For each instance, the payload of an unused equal original, else None.

    Each original is used at most once, so two identical boxes that were both read
    from the file are both written back, and a duplicated one gets a fresh entry.
    """
    used = [False] * len(originals)
    out: list[Payload | None] = []
    for inst in instances:
        found: Payload | None = None
        for j, (orig, payload) in enumerate(originals):
            if not used[j] and orig.iscrowd == inst.iscrowd and orig.same_as(inst):
                used[j] = True
                found = payload
                break
        out.append(found)
    return out

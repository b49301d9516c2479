"""A torch Dataset over the annotation model, with torchvision.transforms.v2 augmentation.

Labels come from ``core.arrays.record_arrays`` (clipped xyxy pixels, zero-area boxes
already dropped), images are decoded by ``core.image_io.read_image`` (EXIF orientation
applied, so the pixels have the size the labels were normalized against). Boxes travel as tv_tensors.BoundingBoxes
through the v2 transforms and SanitizeBoundingBoxes drops any box that lost its area before
the model sees it (the crash torchvision users hit on degenerate boxes).

Keypoints are flipped here rather than as tv_tensors.KeyPoints: v2 flips points as pixel
indices (``x -> W - 1 - x``) but boxes as continuous coordinates (``x -> W - x``), and our
keypoints share the boxes' continuous pixel space. The flip also has to swap left/right
indices by ``flip_idx``, which no generic transform knows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from workbench.core.annotation import ImageRecord
from workbench.core.arrays import record_arrays
from workbench.core.image_io import ImageReadError as ImageReadError  # re-exported: engine, predictor
from workbench.core.image_io import read_image
from workbench.core.input_range import InputRange
from workbench.core.keypoints import KeypointSchema


def read_image_bgr(path: Any) -> np.ndarray:
    """BGR pixels as displayed; ``ImageReadError`` (naming the file) when it cannot be decoded."""
    return read_image(path)


def flip_keypoints(kps: torch.Tensor, width: float, flip_idx: Sequence[int]) -> torch.Tensor:
    """Mirror ``(N, K, 3)`` keypoints across a ``width``-wide image and swap left/right.

    After a mirror the point drawn on the left eye is where the right eye must be, so
    index ``i`` takes the mirrored point of ``flip_idx[i]``. Missing points (v == 0) stay
    missing, at (0, 0).
    """
    out = kps[:, list(flip_idx), :].clone()
    out[..., 0] = width - out[..., 0]
    out[out[..., 2] <= 0] = 0.0
    return out


class HorizontalFlip(torch.nn.Module):
    """RandomHorizontalFlip for image + BoundingBoxes + (N, K, 3) keypoints with flip_idx."""

    def __init__(self, flip_idx: Sequence[int] | None, p: float = 0.5) -> None:
        super().__init__()
        self.flip_idx = list(flip_idx) if flip_idx is not None else None
        self.p = p

    def forward(self, image: tv_tensors.Image, target: dict[str, Any]) -> tuple[tv_tensors.Image, dict[str, Any]]:
        if torch.rand(()) >= self.p:
            return image, target
        target = dict(target)
        image = F.horizontal_flip(image)
        target["boxes"] = F.horizontal_flip(target["boxes"])
        if "keypoints" in target and self.flip_idx is not None:
            target["keypoints"] = flip_keypoints(target["keypoints"], image.shape[-1], self.flip_idx)
        return image, target


def _sanitized_fields(inputs: Any) -> tuple[torch.Tensor, ...]:
    target = inputs[1]
    return tuple(target[k] for k in ("labels", "keypoints", "iscrowd") if k in target)


class DetectionDataset(Dataset):
    """``(image float CHW 0..1, target dict)`` for each record, in torchvision's detection format.

    ``label_offset`` is 1 for models whose label 0 means background. ``index`` in the
    target is the record's position, so predictions map back to records. ``input_range``
    maps a 16-bit or float image to the model's input (``core.input_range``; default: the
    images as ``read_image`` gives them), the same mapping the checkpoint stores.
    """

    def __init__(
        self,
        records: list[ImageRecord],
        schema: KeypointSchema | None,
        label_offset: int,
        train: bool,
        augment: bool = True,
        num_classes: int | None = None,
        input_range: InputRange | None = None,
    ) -> None:
        self.records = records
        self.input_range = input_range or InputRange()
        self.num_classes = num_classes
        self.schema = schema
        self.label_offset = label_offset
        flip = [HorizontalFlip(schema.flip_idx if schema else None)] if (train and augment) else []
        self.flip = flip[0] if flip else None
        self.finish = v2.Compose(
            [
                v2.ToDtype(torch.float32, scale=True),
                v2.SanitizeBoundingBoxes(min_size=1.0, labels_getter=_sanitized_fields),
            ]
        )

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, Any]]:
        rec = self.records[index]
        img = self.input_range.read(rec.path)
        h, w = img.shape[:2]
        if rec.width is None or rec.height is None:
            rec.width, rec.height = w, h
        k = self.schema.num_keypoints if self.schema else None
        arrays = record_arrays(rec, num_keypoints=k, num_classes=self.num_classes)
        image = tv_tensors.Image(torch.from_numpy(np.ascontiguousarray(img[:, :, ::-1])).permute(2, 0, 1))
        target: dict[str, Any] = {
            "boxes": tv_tensors.BoundingBoxes(torch.from_numpy(arrays.boxes), format="XYXY", canvas_size=(h, w)),
            "labels": torch.from_numpy(arrays.classes) + self.label_offset,
        }
        if arrays.keypoints is not None:
            kps = torch.from_numpy(arrays.keypoints)
            kps[kps[..., 2] <= 0] = 0.0
            target["keypoints"] = kps
        if self.flip is not None:
            image, target = self.flip(image, target)
        image, target = self.finish(image, target)
        target["boxes"] = target["boxes"].as_subclass(torch.Tensor)
        target["index"] = index
        return image.as_subclass(torch.Tensor), target


def collate(batch: list[tuple[torch.Tensor, dict[str, Any]]]) -> tuple[list[torch.Tensor], list[dict[str, Any]]]:
    """Detection models take lists: images of different sizes cannot be stacked."""
    images, targets = zip(*batch, strict=True)
    return list(images), list(targets)

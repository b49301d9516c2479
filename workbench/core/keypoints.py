"""The keypoint schema that travels with a dataset and with a checkpoint.

A model trained on five face landmarks is useless without knowing which index is the
left eye: names, the left/right pairs that swap under a horizontal flip, the skeleton
drawn between them and the OKS sigmas used to score them all live here together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A yaml, a COCO category or a guess from column counts may say anything; more keypoints
# than this are typos or hostile, and honouring them would allocate lists of that length
# in every instance and name them in every export.
MAX_KEYPOINTS = 1_000

# COCO person keypoints: the sigmas pycocotools uses for OKS.
COCO_PERSON_NAMES = [
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
]  # fmt: skip
COCO_PERSON_SIGMAS = [
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
    0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
]  # fmt: skip
COCO_PERSON_FLIP = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
COCO_PERSON_SKELETON = [
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6),
    (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4),
    (3, 5), (4, 6),
]  # fmt: skip

# yolov5-face / RetinaFace order: left eye, right eye, nose, left mouth corner, right
# mouth corner.
FACE5_NAMES = ["left_eye", "right_eye", "nose", "left_mouth", "right_mouth"]
FACE5_FLIP = [1, 0, 2, 4, 3]
FACE5_SKELETON = [(0, 1), (0, 2), (1, 2), (2, 3), (2, 4), (3, 4)]
# Facial points are small and precise, like COCO's eyes and nose.
FACE5_SIGMAS = [0.025, 0.025, 0.026, 0.025, 0.025]

# For custom keypoints with no published sigmas, Ultralytics uses 1/K for every point;
# we use a middle-of-the-road COCO value that does not depend on K.
DEFAULT_SIGMA = 0.05


@dataclass
class KeypointSchema:
    """Names, flip pairs, skeleton and OKS sigmas for K keypoints."""

    names: list[str]
    flip_idx: list[int] = field(default_factory=list)
    skeleton: list[tuple[int, int]] = field(default_factory=list)
    sigmas: list[float] = field(default_factory=list)
    # 3 when the YOLO pose files carry a visibility column, 2 when they hold x y only.
    dims: int = 3

    def __post_init__(self) -> None:
        k = len(self.names)
        if not self.flip_idx:
            self.flip_idx = list(range(k))
        if not self.sigmas:
            self.sigmas = [DEFAULT_SIGMA] * k
        self.skeleton = [(int(a), int(b)) for a, b in self.skeleton]

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    def problems(self) -> list[str]:
        """Inconsistencies a user can fix in the yaml; empty when the schema is sound."""
        k = self.num_keypoints
        out = []
        if len(self.flip_idx) != k:
            out.append(f"flip_idx has {len(self.flip_idx)} entries but there are {k} keypoints")
        elif sorted(self.flip_idx) != list(range(k)):
            out.append("flip_idx must be a permutation of 0..K-1")
        elif any(self.flip_idx[self.flip_idx[i]] != i for i in range(k)):
            out.append("flip_idx must pair points symmetrically (flip_idx[flip_idx[i]] == i)")
        if len(self.sigmas) != k:
            out.append(f"{len(self.sigmas)} OKS sigmas for {k} keypoints")
        for a, b in self.skeleton:
            if not (0 <= a < k and 0 <= b < k):
                out.append(f"skeleton edge ({a}, {b}) names a keypoint outside 0..{k - 1}")
        return out

    @classmethod
    def generic(cls, k: int, flip_idx: list[int] | None = None, dims: int = 3) -> KeypointSchema:
        """A schema for K points we know nothing about, recognising the common layouts."""
        if k == 17 and (flip_idx is None or list(flip_idx) == COCO_PERSON_FLIP):
            return cls.coco_person(dims=dims)
        if k == 5 and (flip_idx is None or list(flip_idx) == FACE5_FLIP):
            return cls.face5(dims=dims)
        return cls([f"kp{i}" for i in range(k)], list(flip_idx or []), dims=dims)

    @classmethod
    def coco_person(cls, dims: int = 3) -> KeypointSchema:
        return cls(
            list(COCO_PERSON_NAMES), list(COCO_PERSON_FLIP), list(COCO_PERSON_SKELETON), list(COCO_PERSON_SIGMAS), dims
        )

    @classmethod
    def face5(cls, dims: int = 3) -> KeypointSchema:
        return cls(list(FACE5_NAMES), list(FACE5_FLIP), list(FACE5_SKELETON), list(FACE5_SIGMAS), dims)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for checkpoints (``weights_only`` loading) and yaml."""
        return {
            "names": list(self.names),
            "flip_idx": list(self.flip_idx),
            "skeleton": [list(e) for e in self.skeleton],
            "sigmas": [float(s) for s in self.sigmas],
            "dims": self.dims,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> KeypointSchema:
        return cls(
            names=[str(n) for n in d["names"]],
            flip_idx=[int(i) for i in d.get("flip_idx", [])],
            skeleton=[(int(a), int(b)) for a, b in d.get("skeleton", [])],
            sigmas=[float(s) for s in d.get("sigmas", [])],
            dims=int(d.get("dims", 3)),
        )

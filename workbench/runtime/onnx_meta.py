"""What an exported ONNX model says about itself, in its metadata (``metadata_props``).

An .onnx file without its class names is a graph that outputs numbers; one without its
input convention (RGB or BGR, 0..1 or 0..255, letterboxed or stretched) gives wrong boxes
that look plausible. So the exporter writes all of it, as strings (ONNX metadata values
are strings; lists and dicts as JSON), and the predictor refuses a file that lacks it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from workbench.core.keypoints import KeypointSchema

FORMAT = "workbench-onnx"
VERSION = 1

# How an image becomes the model's input before the graph sees it.
LETTERBOX = "letterbox"  # longer side scaled to the input size, padded right/bottom
STRETCH = "stretch"  # scaled to the input size on each axis (SSDlite's own transform does this)
NATIVE = "native"  # dynamic input: the image as it is; the graph resizes it like the PyTorch model


class OnnxModelError(ValueError):
    """An .onnx file this program cannot run; the message names the file and says why."""


@dataclass
class InputSpec:
    """The input convention: a CHW float32 RGB tensor scaled by 1/255; mean/std are applied in the graph.

    ``size`` is (height, width) for a fixed-size export, None for a dynamic one. ``pad`` is the
    letterbox fill (0..1 RGB): the normalization mean, which the graph turns into 0, as the
    PyTorch model pads its batches with 0 after normalizing.
    """

    name: str = "image"
    size: tuple[int, int] | None = None
    resize: str = LETTERBOX
    mean: list[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])
    std: list[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])
    pad: list[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "layout": "CHW",
            "channels": "RGB",
            "dtype": "float32",
            "scale": "1/255",
            "size": None if self.size is None else list(self.size),
            "resize": self.resize,
            "normalize_in_graph": {"mean": list(self.mean), "std": list(self.std)},
            "pad": list(self.pad),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputSpec:
        size = d.get("size")
        norm = d.get("normalize_in_graph") or {}
        spec = cls(
            name=str(d.get("name", "image")),
            size=None if size is None else (int(size[0]), int(size[1])),
            resize=str(d.get("resize", LETTERBOX)),
        )
        if norm:
            spec.mean = [float(v) for v in norm["mean"]]
            spec.std = [float(v) for v in norm["std"]]
        if d.get("pad") is not None:
            spec.pad = [float(v) for v in d["pad"]]
        if spec.resize not in (LETTERBOX, STRETCH, NATIVE) or (spec.size is None) != (spec.resize == NATIVE):
            raise ValueError(f"input resize {spec.resize!r} with size {spec.size!r}")
        return spec


@dataclass
class OnnxMeta:
    """Everything besides the graph that running an exported model needs."""

    model_name: str
    classes: list[str]
    keypoints: KeypointSchema | None
    input: InputSpec
    label_offset: int  # 1 when the graph's label 0 is background
    score_thresh: float  # baked into the graph: nothing weaker comes out
    imgsz: int
    outputs: list[str]
    metrics: dict[str, float] = field(default_factory=dict)

    def to_props(self) -> dict[str, str]:
        """String key/values for ``onnx.helper.set_model_props``."""
        return {
            "workbench.format": FORMAT,
            "workbench.version": str(VERSION),
            "model_name": self.model_name,
            "classes": json.dumps(self.classes),
            "keypoints": json.dumps(None if self.keypoints is None else self.keypoints.to_dict()),
            "input": json.dumps(self.input.to_dict()),
            "label_offset": str(self.label_offset),
            "score_thresh": repr(float(self.score_thresh)),
            "imgsz": str(self.imgsz),
            "outputs": json.dumps(self.outputs),
            "metrics": json.dumps(self.metrics),
        }

    @classmethod
    def from_props(cls, props: dict[str, str], path: str) -> OnnxMeta:
        """The metadata of ``path``, or OnnxModelError saying which entry is missing or damaged."""
        if props.get("workbench.format") != FORMAT:
            raise OnnxModelError(
                f"{path}: not an ONNX model exported by Workbench (its metadata has no class names or input "
                "convention); export one with `workbench export CHECKPOINT --format onnx`"
            )
        try:
            version = int(props.get("workbench.version", "0"))
        except ValueError:
            version = 0
        if version > VERSION:
            raise OnnxModelError(f"{path}: exported by a newer Workbench (format version {version}); update Workbench")
        try:
            kp = json.loads(props.get("keypoints", "null"))
            meta = cls(
                model_name=props["model_name"],
                classes=[str(c) for c in json.loads(props["classes"])],
                keypoints=None if kp is None else KeypointSchema.from_dict(kp),
                input=InputSpec.from_dict(json.loads(props["input"])),
                label_offset=int(props["label_offset"]),
                score_thresh=float(props["score_thresh"]),
                imgsz=int(props["imgsz"]),
                outputs=[str(o) for o in json.loads(props["outputs"])],
                metrics={str(k): float(v) for k, v in json.loads(props.get("metrics", "{}")).items()},
            )
        except (KeyError, ValueError, TypeError, IndexError, AttributeError) as e:
            what = f"no '{e.args[0]}' entry" if isinstance(e, KeyError) else f"{e.__class__.__name__}: {e}"
            raise OnnxModelError(f"{path}: damaged Workbench ONNX metadata ({what}); export the model again") from None
        if not meta.classes:
            raise OnnxModelError(f"{path}: damaged Workbench ONNX metadata (an empty class list); export it again")
        return meta

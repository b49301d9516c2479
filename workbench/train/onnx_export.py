"""A Workbench checkpoint as an ONNX file that onnxruntime runs without torch, verified before it is kept.

torchvision's detectors export through the TorchScript-based exporter (``dynamo=False``),
as torchvision's own ONNX tests do: the model's transform (resize, normalize) and its
postprocessing (NMS, score threshold, keypoint decoding) are part of the graph. The score
threshold is baked in at ``DEFAULT_CONF``, the viewer's and QC's low one.

Fixed-size exports take one letterboxed image of the export size (``runtime.onnx_predictor.
prepare_image``); ``dynamic`` ones take the image as it is and resize inside the graph, as
the PyTorch model does. Either way the file is written to a temporary sibling, run with
onnxruntime next to the PyTorch model on the same inputs, and renamed into place only when
every detection agrees (``runtime.agreement``); otherwise nothing is left behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workbench.core.image_io import ImageReadError, read_image
from workbench.core.keypoints import KeypointSchema
from workbench.core.prediction import DEFAULT_CONF
from workbench.runtime.agreement import compare_detections
from workbench.runtime.onnx_meta import LETTERBOX, NATIVE, STRETCH, InputSpec, OnnxMeta, OnnxModelError
from workbench.runtime.onnx_predictor import open_session, outputs_to_predictions, prepare_image
from workbench.train.checkpoint import CheckpointError, load_checkpoint, read_checkpoint
from workbench.train.models import get_spec, set_score_threshold
from workbench.train.weights import model_from_checkpoint

OPSET = 17
VERIFY_IMAGES = 3
BOX_OUTPUTS = ["boxes", "labels", "scores"]
KEYPOINT_OUTPUTS = ["keypoints", "keypoints_scores"]


class ExportError(RuntimeError):
    """An export that cannot be done (missing package, unsupported model); the message says what to do."""


class ExportVerificationError(ExportError):
    """The ONNX model does not reproduce the PyTorch model's detections; nothing was written."""


@dataclass
class ExportReport:
    path: Path
    meta: OnnxMeta
    images: list[str] = field(default_factory=list)  # what verification ran on
    detections: int = 0  # PyTorch detections the ONNX model was checked against


def _require_onnx() -> Any:
    try:
        import onnx
        import onnxruntime  # noqa: F401 - verification needs it
    except ImportError:
        raise ExportError("exporting to ONNX needs onnx and onnxruntime: pip install -e '.[export]'") from None
    return onnx


def _checkpoint(weights: Path) -> dict[str, Any]:
    """The checkpoint; a YOLO one gets a message of its own (exporting it is a later step)."""
    try:
        return read_checkpoint(weights)
    except CheckpointError:
        with contextlib.suppress(CheckpointError):
            data = load_checkpoint(weights)
            if isinstance(data, dict) and str(data.get("model_name", "")).lower().startswith("yolo"):
                raise ExportError(
                    f"{weights}: exporting YOLO models is not supported yet (a later step); "
                    "torchvision models (Faster R-CNN, RetinaNet, FCOS, SSDlite, Keypoint R-CNN) export"
                ) from None
        raise


def input_spec(model: torch.nn.Module, model_name: str, imgsz: int, dynamic: bool) -> InputSpec:
    """The input convention of the graph: the model's own normalization, its resize rule."""
    fixed = get_spec(model_name).fixed_size
    mean = [float(v) for v in model.transform.image_mean]
    std = [float(v) for v in model.transform.image_std]
    if dynamic:
        return InputSpec(size=None, resize=NATIVE, mean=mean, std=std, pad=mean)
    size = fixed or imgsz
    return InputSpec(size=(size, size), resize=STRETCH if fixed else LETTERBOX, mean=mean, std=std, pad=mean)


def _trained_on_paths(ckpt: dict[str, Any]) -> list[Path]:
    """The checkpoint's training images as files: they are recorded relative to the dataset root,
    which is the training config's data folder, or the folder of its data.yaml / COCO json."""
    data = str((ckpt.get("config") or {}).get("data") or "")
    bases = [Path(data)] if data and Path(data).is_dir() else []
    if data:
        bases.append(Path(data).parent)
    out = []
    for rel in ckpt.get("trained_on") or []:
        p = Path(str(rel))
        hit = next((c for c in ([p] if p.is_absolute() else [b / p for b in bases]) if c.is_file()), None)
        if hit is not None:
            out.append(hit)
    return out


def verification_images(ckpt: dict[str, Any], imgsz: int) -> list[tuple[str, np.ndarray]]:
    """A few of the images the model trained on when they are still there, else generated ones.

    Generated ones have several sizes and aspect ratios, so a dynamic export is run on sizes
    it was not traced with and a letterboxed one on both orientations.
    """
    found: list[tuple[str, np.ndarray]] = []
    for p in _trained_on_paths(ckpt)[: VERIFY_IMAGES * 4]:
        if len(found) >= VERIFY_IMAGES:
            break
        with contextlib.suppress(ImageReadError, OSError):
            found.append((str(p), read_image(p)))
    if found:
        return found
    rng = np.random.default_rng(0)
    sizes = [(imgsz * 3 // 4, imgsz), (imgsz, imgsz // 2), (imgsz * 5 // 4, imgsz * 9 // 8)]
    out = []
    for i, (h, w) in enumerate(sizes[:VERIFY_IMAGES]):
        h, w = max(16, h), max(16, w)
        img = (rng.random((h, w, 3)) * 80 + 60).astype(np.uint8)
        for _ in range(4):  # a few solid rectangles give the detector edges to respond to
            x1, y1 = int(rng.integers(0, w - 8)), int(rng.integers(0, h - 8))
            x2, y2 = int(rng.integers(x1 + 4, w)), int(rng.integers(y1 + 4, h))
            img[y1:y2, x1:x2] = rng.integers(0, 256, 3)
        out.append((f"generated image {i + 1} ({w}x{h})", img))
    return out


def _torch_outputs(model: torch.nn.Module, tensor: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    with torch.inference_mode():
        out = model([torch.from_numpy(tensor)])[0]
    return {n: out[n].detach().cpu().numpy() for n in names if n in out}


def detections_cap(model: torch.nn.Module) -> int | None:
    heads = getattr(model, "roi_heads", None)
    cap = getattr(heads, "detections_per_img", None) if heads is not None else None
    return int(cap if cap is not None else getattr(model, "detections_per_img", 0)) or None


def verify_export(
    session: Any,
    model: torch.nn.Module,
    meta: OnnxMeta,
    images: list[tuple[str, np.ndarray]],
) -> tuple[list[str], int]:
    """Problems (empty when the ONNX model reproduces the PyTorch one) and the PyTorch detections checked."""
    names = [o.name for o in session.get_outputs()]
    cap = detections_cap(model)
    problems: list[str] = []
    matched = 0
    for what, image in images:
        tensor, _sx, _sy = prepare_image(image, meta.input)
        ref = outputs_to_predictions(_torch_outputs(model, tensor, names), meta.label_offset, meta.score_thresh)
        values = session.run(names, {meta.input.name: tensor})
        got = outputs_to_predictions(dict(zip(names, values, strict=True)), meta.label_offset, meta.score_thresh)
        found = compare_detections(ref, got, meta.score_thresh, cap)
        problems += [f"{what}: {p}" for p in found]
        matched += len(ref)
    return problems, matched


def _export_graph(
    model: torch.nn.Module, example: np.ndarray, target: Path, outputs: list[str], spec: InputSpec
) -> None:
    axes: dict[str, dict[int, str]] = {name: {0: "detections"} for name in outputs}
    if spec.resize == NATIVE:
        axes[spec.name] = {1: "height", 2: "width"}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        # TracerWarnings about Python numbers in torchvision's transform are expected: the
        # graph is verified against the model below, which is what those warnings ask for.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            ([torch.from_numpy(example)],),
            str(target),
            opset_version=OPSET,
            dynamo=False,
            input_names=[spec.name],
            output_names=outputs,
            dynamic_axes=axes,
            do_constant_folding=True,
        )


def export_onnx(
    weights: str | Path,
    out: str | Path | None = None,
    imgsz: int | None = None,
    dynamic: bool = False,
    verify_images: list[tuple[str, np.ndarray]] | None = None,
    verify: bool = True,
) -> ExportReport:
    """Export ``weights`` (a Workbench checkpoint) to ``out`` (default: beside it, ``.onnx``), verified.

    Raises ExportVerificationError listing the disagreeing detections when onnxruntime does not
    reproduce the PyTorch model; no file is left then. ``verify=False`` is for measurements on
    untrained models only (their tied scores make the comparison arbitrary); the CLI always verifies.
    """
    onnx = _require_onnx()
    weights = Path(weights)
    target = Path(out) if out is not None else weights.with_suffix(".onnx")
    ckpt = _checkpoint(weights)
    name = ckpt["model_name"]
    spec = get_spec(name)
    if imgsz is not None and spec.fixed_size is not None and imgsz != spec.fixed_size:
        raise ExportError(f"{weights}: {name} always works at {spec.fixed_size} px; leave out --imgsz")
    if imgsz is not None:
        ckpt = {**ckpt, "imgsz": int(imgsz)}  # the model's transform resizes to this size
    size = int(ckpt.get("imgsz", 640))
    model = model_from_checkpoint(ckpt).eval()
    set_score_threshold(model, DEFAULT_CONF)
    kp = ckpt.get("keypoints")
    outputs = BOX_OUTPUTS + (KEYPOINT_OUTPUTS if spec.keypoints else [])
    images = verify_images if verify_images is not None else verification_images(ckpt, size)
    meta = OnnxMeta(
        model_name=name,
        classes=list(ckpt["classes"]),
        keypoints=KeypointSchema.from_dict(kp) if kp else None,
        input=input_spec(model, name, size, dynamic),
        label_offset=spec.label_offset,
        score_thresh=DEFAULT_CONF,
        imgsz=spec.fixed_size or size,
        outputs=[],
        metrics={k: float(v) for k, v in (ckpt.get("metrics") or {}).items()},
    )
    example = prepare_image(images[0][1], meta.input)[0]
    # The exporter names the flattened outputs in the order of the model's output dict, which
    # differs between families (R-CNN: boxes, labels, scores; SSD, RetinaNet, FCOS: boxes,
    # scores, labels): the names come from the dict itself, or scores would be called labels.
    with torch.inference_mode():
        meta.outputs = list(model([torch.from_numpy(example)])[0])
    if not set(outputs) <= set(meta.outputs):
        raise ExportError(f"{weights}: {name} returns {meta.outputs}, not {outputs}; it cannot be exported")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            _export_graph(model, example, tmp, meta.outputs, meta.input)
        except (RuntimeError, ValueError, TypeError, NotImplementedError) as e:  # an op the exporter lacks
            first = (str(e).strip().splitlines() or [e.__class__.__name__])[0][:300]
            raise ExportError(f"{weights}: torch.onnx.export could not export {name} ({first})") from e
        proto = onnx.load(str(tmp))
        onnx.helper.set_model_props(proto, meta.to_props())
        proto.doc_string = f"Workbench export of {weights.name} ({name}, {len(meta.classes)} classes)"
        onnx.save(proto, str(tmp))
        del proto
        session = open_session(tmp, "cpu")
        problems, matched = verify_export(session, model, meta, images) if verify else ([], 0)
        del session
        if problems:
            more = f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
            shown = "\n  ".join(problems[:10]) + more
            raise ExportVerificationError(
                f"{target}: the ONNX model does not reproduce {weights}'s detections, so it was not written "
                f"(boxes must match with IoU >= 0.99 and scores within 1e-3):\n  {shown}"
            )
        with open(tmp, "rb+") as f:  # on disk before the rename, as core.atomic does it
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OnnxModelError as e:
        raise ExportError(str(e)) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return ExportReport(target, meta, [what for what, _ in images], matched)

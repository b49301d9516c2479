"""`workbench export WEIGHTS --format onnx`: a trained model as a file that runs without torch.

The export is verified on the spot (the ONNX model and the PyTorch model on the same
images); a disagreement exits 1 and leaves no file, unusable input exits 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from workbench.cli.arg_types import positive_int


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "export",
        help="export a checkpoint to ONNX (runs with onnxruntime, without torch)",
        description="Writes an ONNX model with the class names, keypoint schema, input convention and "
        "model name in its metadata, after checking that onnxruntime reproduces the PyTorch model's "
        "detections (IoU >= 0.99, scores within 1e-3). Needs: pip install -e '.[export]'. "
        "torchvision models export; YOLO models are a later step.",
    )
    p.add_argument("weights", help="a Workbench checkpoint (best.pt / last.pt) or a run folder")
    p.add_argument("--format", choices=["onnx"], default="onnx", help="export format (onnx)")
    p.add_argument(
        "--imgsz", type=positive_int, default=None, help="input size in pixels (default: the size it trained at)"
    )
    p.add_argument(
        "--dynamic",
        action="store_true",
        help="take images of any size and resize inside the graph, as PyTorch does (default: one fixed "
        "square input; images are letterboxed into it)",
    )
    p.add_argument("--out", default=None, help="the .onnx file to write (default: beside the checkpoint)")
    p.add_argument(
        "--verify-on",
        metavar="SOURCE",
        default=None,
        help="an image, a folder or a dataset whose first images the check runs on (default: a few the "
        "model trained on when they are still there, else generated ones)",
    )
    return p


def _verify_images(source: Path) -> list[tuple[str, Any]]:
    """Up to three readable images of SOURCE, or a one-line error when it has none."""
    from workbench.cli.predict_cmd import source_dataset, source_images
    from workbench.core.image_io import ImageReadError, read_image
    from workbench.formats.base import DatasetError
    from workbench.train.onnx_export import VERIFY_IMAGES

    found, why = [], ""
    for path in source_images(source, source_dataset(source)):
        try:
            found.append((str(path), read_image(path)))
        except ImageReadError as e:
            why = str(e)
        if len(found) >= VERIFY_IMAGES:
            break
    if not found:
        raise DatasetError(f"--verify-on {source}: no readable image{f' ({why})' if why else ''}")
    return found


def run(args: argparse.Namespace) -> int:
    from workbench.cli.model_loading import resolve_weights
    from workbench.formats.base import DatasetError
    from workbench.train.checkpoint import CheckpointError
    from workbench.train.model_specs import ModelError
    from workbench.train.onnx_export import ExportError, ExportVerificationError, export_onnx
    from workbench.train.weights import WeightsError

    weights = resolve_weights(Path(args.weights))
    out = Path(args.out) if args.out else weights.with_suffix(".onnx")
    if out.is_dir():
        raise DatasetError(f"--out {out}: this is a folder; name the .onnx file to write, e.g. {out / 'model.onnx'}")
    if out.suffix.lower() != ".onnx":
        raise DatasetError(f"--out {out}: an ONNX model's file name ends in .onnx (predict and the viewer go by it)")
    if out.resolve() == weights.resolve():
        raise DatasetError(f"--out {out}: this is the checkpoint itself; name another file")
    images = None if args.verify_on is None else _verify_images(Path(args.verify_on))
    try:
        report = export_onnx(weights, out, imgsz=args.imgsz, dynamic=args.dynamic, verify_images=images)
    except ExportVerificationError as e:
        print(f"workbench: export failed verification: {e}", file=sys.stderr)
        return 1
    except (ExportError, CheckpointError, WeightsError, ModelError) as e:
        raise DatasetError(str(e)) from None
    except OSError as e:
        raise DatasetError(f"--out {out}: cannot write the model ({e.strerror or e})") from None
    meta = report.meta
    size = "any size (dynamic)" if meta.input.size is None else f"{meta.input.size[1]}x{meta.input.size[0]}"
    kp = f", {meta.keypoints.num_keypoints} keypoints" if meta.keypoints is not None else ""
    print(
        f"{report.path}: {meta.model_name}, {len(meta.classes)} classes{kp}, input {size} ({meta.input.resize}); "
        f"verified against PyTorch on {len(report.images)} images ({report.detections} detections)"
    )
    return 0

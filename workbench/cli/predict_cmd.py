"""`workbench predict WEIGHTS SOURCE --out DIR`: detections as COCO-results-style JSON,
and with ``--save-images`` rendered overlays."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from workbench.cli.arg_types import positive_int, probability
from workbench.cli.model_loading import add_class_map_argument
from workbench.core.imageheader import IMAGE_SUFFIXES

RESULTS_FILE = "predictions.json"


def add_parser(sub: Any) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "predict",
        help="run a checkpoint on an image, a folder or a dataset",
        description="Writes predictions.json (COCO results style: image_id, file_name, "
        "category_id = 0-based class id, category_name, bbox xywh, score, keypoints "
        "x,y,score triplets) and with --save-images one overlay per image.",
    )
    p.add_argument(
        "weights", help="a Workbench checkpoint (best.pt / last.pt), a run folder, or an exported .onnx model"
    )
    p.add_argument("source", help="an image, a folder of images, or a dataset (data.yaml / COCO .json)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--conf", type=probability, default=0.25, help="minimum score to keep")
    p.add_argument("--save-images", action="store_true", help="also write images with the detections drawn")
    p.add_argument("--batch", type=positive_int, default=4)
    p.add_argument("--device", default="auto", help="auto, cpu or cuda:N")
    add_class_map_argument(p)
    return p


def source_dataset(source: Path) -> Any:
    """The dataset SOURCE names (a data.yaml, a COCO .json), or None for an image or a folder of images."""
    _check_source(source)
    if source.is_file() and source.suffix.lower() not in IMAGE_SUFFIXES:
        from workbench.formats.registry import open_dataset

        return open_dataset(source)
    return None


def _check_source(source: Path) -> None:
    """SOURCE exists and can be looked at, or a one-line error (a name too long, a file where a folder belongs)."""
    from workbench.formats.base import DatasetError

    try:
        source.stat()
    except FileNotFoundError:
        raise DatasetError(f"{source}: no such file or folder") from None
    except OSError as e:
        raise DatasetError(f"{source}: cannot be opened ({e.strerror or e})") from None


def source_images(source: Path, ds: Any = None) -> list[Path]:
    """The images SOURCE names: one image, every image under a folder, or a dataset's images."""
    if ds is not None:
        return [r.path for r in ds.records]
    from workbench.formats.base import DatasetError
    from workbench.formats.files import list_images

    _check_source(source)
    if source.is_file() and source.suffix.lower() in IMAGE_SUFFIXES:
        return [source]
    if source.is_dir():
        images = list_images(source)
        if images:
            return images
        raise DatasetError(f"{source}: no images found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    from workbench.formats.registry import open_dataset

    return [r.path for r in open_dataset(source).records]


def results_entries(image_id: int, name: str, preds: list[Any], classes: list[str]) -> list[dict[str, Any]]:
    out = []
    for p in preds:
        x1, y1, x2, y2 = (float(v) for v in p.box)
        entry: dict[str, Any] = {
            "image_id": image_id,
            "file_name": name,
            "category_id": int(p.class_id),
            "category_name": classes[p.class_id] if 0 <= p.class_id < len(classes) else str(p.class_id),
            "bbox": [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)],
            "score": round(float(p.score), 5),
        }
        if p.keypoints is not None:
            entry["keypoints"] = [round(float(v), 3) for v in p.keypoints.reshape(-1)]
        out.append(entry)
    return out


def _overlay_name(path: Path, used: set[str]) -> str:
    name, n = f"{path.stem}.jpg", 1
    while name in used:
        n += 1
        name = f"{path.stem}_{n}.jpg"
    used.add(name)
    return name


def _refuse_out_in_source(out: Path, source: Path, paths: list[Path]) -> None:
    """``--out`` in the folder of the images being predicted would write into the user's data.

    An overlay is named after its image, so ``--out`` set to the images' own folder replaces
    every source image with its overlay; a folder inside the source is read back as part of
    it (the overlays become unlabeled images of the dataset, as with ``convert``).
    """
    from workbench.formats.base import DatasetError

    target = os.path.realpath(out)
    folders = {os.path.realpath(source if source.is_dir() else source.parent)}
    folders.update(os.path.realpath(p.parent) for p in paths)
    for folder in sorted(folders):
        if os.path.commonpath([folder, target]) == folder:
            where = "is" if folder == target else "is inside"
            raise DatasetError(
                f"--out {out}: {where} the folder of the images being predicted ({folder}); choose a "
                "folder outside it, so no source image is overwritten and the results are not read "
                "back as part of the data"
            )


def run(args: argparse.Namespace) -> int:
    from workbench.cli.model_loading import class_mapping, load_predictor, resolve_weights
    from workbench.core.atomic import atomic_write_text
    from workbench.core.image_io import ImageReadError, read_image, write_image
    from workbench.formats.base import DatasetError
    from workbench.train.overlay import draw_predictions

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise DatasetError(
            f"--out {out}: this is a file, not a folder; predict writes {RESULTS_FILE} (and with "
            "--save-images one overlay per image) into a folder: name a new or existing folder"
        )
    source = Path(args.source)
    ds = source_dataset(source)
    paths = source_images(source, ds)
    _refuse_out_in_source(out, source, paths)
    weights = resolve_weights(Path(args.weights))
    predictor = load_predictor(weights, args.device, args.conf, onnx=True)
    # On a dataset the output speaks its classes (by name, or as --class-map says); on bare
    # images there is nothing to compare with, and the checkpoint's own classes are written.
    classes, schema, mapping = list(predictor.classes), predictor.keypoints, None
    if ds is not None:
        mapping = class_mapping(predictor, ds, weights, source, args.class_map)
        classes, schema = list(ds.classes), ds.keypoints if predictor.keypoints is not None else None
    elif args.class_map is not None:
        raise DatasetError(
            f"--class-map maps the checkpoint's classes to a dataset's, but {source} is not a dataset; "
            "pass its data.yaml or COCO .json"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatasetError(f"--out {out}: cannot create this folder ({e.strerror or e})") from None
    base = source if source.is_dir() else source.parent
    results: list[dict[str, Any]] = []
    used: set[str] = set()
    total = 0
    for image_id, (path, raw) in enumerate(predictor.predict_paths(paths, args.batch).items(), start=1):
        preds = raw if mapping is None else mapping.apply(raw)
        try:
            name = path.relative_to(base).as_posix()
        except ValueError:
            name = path.as_posix()
        results.extend(results_entries(image_id, name, preds, classes))
        total += len(preds)
        if args.save_images:
            try:
                overlay = draw_predictions(read_image(path), preds, classes, schema)
                write_image(out / _overlay_name(path, used), overlay, ".jpg")
            except (ImageReadError, OSError) as e:  # changed or removed since it was predicted
                print(f"no overlay for {path}: {e}")
    atomic_write_text(out / RESULTS_FILE, json.dumps(results, indent=1))
    for why in predictor.failed.values():
        print(f"skipped {why}")  # an ImageReadError's text: it names the file and says what to do
    print(f"{total} detections on {len(paths) - len(predictor.failed)} images -> {out / RESULTS_FILE}")
    return 0

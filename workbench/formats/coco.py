"""COCO JSON (instances and person_keypoints style) <-> the core model.

- Category ids are not contiguous (COCO's 80 classes live in a 91-id space): classes
  are the categories sorted by id, mapped to ``0..nc-1``; the original ids stay in
  ``ds.meta["coco_category_ids"]`` so saving and exporting give the same ids back
  (a class added later gets the next free id).
- ``bbox`` is ``[x, y, w, h]`` in pixels; inside it is ``xyxy``.
- ``keypoints`` is a flat ``[x, y, v] * K`` list; a missing point is ``0, 0, 0``. The
  category's ``keypoints`` names and 1-based ``skeleton`` become the keypoint schema.
  Exports add two keys pycocotools ignores, ``flip_idx`` and ``sigmas``, so a schema
  whose left/right pairs cannot be guessed from the names survives a round trip.
- Image sizes come from the JSON; no image is opened to build the dataset.

The whole file is parsed at open (JSON cannot be read in pieces), but the disk is
only touched lazily: each record checks its image file the first time it is used.
Saving rewrites the JSON atomically, replacing only the annotations of edited
images; annotations that were not changed are written back exactly as read.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord, Instance, Source
from workbench.core.atomic import atomic_write_text
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import TakeImageSize
from workbench.core.gc_pause import paused_gc
from workbench.core.imageheader import read_image_header, turned_hint
from workbench.core.keypoints import COCO_PERSON_NAMES, MAX_KEYPOINTS, KeypointSchema
from workbench.core.paths import OUTSIDE_FIX, contained_path, inside_root, is_file
from workbench.core.reading import read_regular_bytes
from workbench.core.wording import keypoint_label
from workbench.formats.base import MAX_CLASSES, DatasetError, note_image_header, record_finding
from workbench.formats.files import link_or_copy, portable_name, unique_file_name
from workbench.formats.originals import match_originals

_SPLIT_RE = re.compile(r"(?:^|[^a-z])(train|val|test)")
# Preference when a folder holds several COCO files for one split.
_FILE_RANK = ("instances", "person_keypoints")
_SKIPPED_PREFIXES = ("captions", "image_info", "stuff", "panoptic")


# --------------------------------------------------------------------------- values


def _as_id(v: Any) -> int | str | None:
    """An image/category id as a dict key; COCO ids are ints, some tools write strings."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float) and math.isfinite(v) and v == int(v):
        return int(v)
    if isinstance(v, str) and v:
        return v
    return None


def _as_number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        f = float(v)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def _numbers(v: Any) -> list[float] | None:
    """A list of finite numbers, or None. Hot: runs for every bbox and keypoint list."""
    if not isinstance(v, list):
        return None
    out = []
    for x in v:
        t = type(x)
        if t is float:
            if not math.isfinite(x):
                return None
            out.append(x)
        elif t is int:
            try:
                out.append(float(x))
            except OverflowError:
                return None
        else:
            return None  # bool, str, None, containers
    return out


def _json_number(v: float) -> int | float:
    """Six decimals in pixel space, integers as integers: readable and lossless enough."""
    r = round(float(v), 6)
    return int(r) if r.is_integer() else r


def split_from_name(path: Path) -> str:
    """``instances_val2017.json`` -> ``val``; ``images_thermal_train/coco.json`` -> ``train``."""
    for name in (path.stem, path.parent.name):
        m = _SPLIT_RE.search(name.lower())
        if m:
            return m.group(1)
    return "train"


# --------------------------------------------------------------------------- reading


def read_coco(path: Path) -> Dataset:
    """Open a COCO json, or a folder holding one per split (also under ``annotations/``)."""
    path = Path(path)
    if path.is_dir():
        jsons, ignored = _coco_files(path)
        root = path.resolve()
    else:
        jsons, ignored = [path], []
        root = path.parent.resolve()
    if root.name.lower() == "annotations":  # the images are beside it: report paths from one level up
        root = root.parent
    ds = Dataset(root=root, classes=[], format="coco", source=path, config_file=jsons[0] if len(jsons) == 1 else None)
    for j in ignored:
        ds.findings.append(
            Finding(
                Severity.INFO,
                "coco_ignored_file",
                f"{j.name} was not loaded: another file already gives this split; open it directly to use it",
                label_file=ds.rel(j),
            )
        )
    with paused_gc():
        loaded = [(j, _load_json(j)) for j in jsons]
        _read_categories(ds, loaded)
        ds.meta["coco_files"] = {}
        ds.meta["coco_style"] = {}
        for json_path, (data, style) in loaded:
            ds.meta["coco_files"][str(json_path)] = data
            ds.meta["coco_style"][str(json_path)] = style
            _read_images_and_annotations(ds, json_path, data)
    return ds


def is_coco_json(path: Path) -> bool:
    """A .json whose first 4 KiB name a COCO key, or (a file with a long preamble) whose top level has ``images``."""
    try:
        with open(path, encoding="utf-8") as f:
            head = f.read(4096)
    except (OSError, UnicodeDecodeError):
        return False
    if '"images"' in head or '"annotations"' in head or '"categories"' in head:
        return True
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "images" in data


def coco_json_files(folder: Path) -> list[Path]:
    """The COCO files of a folder, or of its ``annotations/`` when the folder itself has none."""
    found = sorted(j for j in folder.glob("*.json") if is_coco_json(j))
    if not found and (folder / "annotations").is_dir():
        found = sorted(j for j in (folder / "annotations").glob("*.json") if is_coco_json(j))
    return found


def looks_like_coco(path: Path) -> bool:
    """A .json file, or a folder with a COCO file in it or under ``annotations/``."""
    if path.is_file():
        return path.suffix.lower() == ".json"
    return bool(coco_json_files(path))


def _coco_files(folder: Path) -> tuple[list[Path], list[Path]]:
    candidates = [j for j in coco_json_files(folder) if not j.name.lower().startswith(_SKIPPED_PREFIXES)]
    if not candidates:
        raise DatasetError(f"{folder}: no COCO annotation .json found here or under annotations/")

    def rank(j: Path) -> int:
        name = j.name.lower()
        return next((i for i, p in enumerate(_FILE_RANK) if name.startswith(p)), len(_FILE_RANK))

    chosen: dict[str, Path] = {}
    ignored = []
    for j in sorted(candidates, key=lambda j: (rank(j), j.name)):
        split = split_from_name(j)
        if split in chosen:
            ignored.append(j)
        else:
            chosen[split] = j
    order = {"train": 0, "val": 1, "test": 2}
    return [chosen[s] for s in sorted(chosen, key=lambda s: order.get(s, 3))], ignored


def _load_json(path: Path) -> tuple[dict[str, Any], JsonStyle]:
    try:
        raw = read_regular_bytes(path)
    except OSError as e:
        raise DatasetError(f"{path}: cannot be read ({e.strerror or e})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DatasetError(f"{path}: not UTF-8 text (bad byte at offset {e.start}); save it as UTF-8") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DatasetError(f"{path}:{e.lineno}:{e.colno}: not valid JSON ({e.msg}); fix the syntax") from None
    except RecursionError:
        raise DatasetError(f"{path}: JSON nested too deeply to be a COCO file") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise DatasetError(f"{path}: not a COCO annotation file: expected an object with an 'images' list")
    for key in ("annotations", "categories"):
        if key in data and not isinstance(data[key], list):
            raise DatasetError(f"{path}: '{key}' must be a list, got {type(data[key]).__name__}")
    return data, JsonStyle.of(text)


def _read_categories(ds: Dataset, loaded: list[tuple[Path, tuple[dict[str, Any], JsonStyle]]]) -> None:
    """Classes from every file's categories (merged by id), and the keypoint schema."""
    cats: dict[int | str, dict[str, Any]] = {}
    for json_path, (data, _) in loaded:
        for i, cat in enumerate(data.get("categories") or []):
            cid = _as_id(cat.get("id")) if isinstance(cat, dict) else None
            if cid is None:
                ds.findings.append(
                    Finding(
                        Severity.ERROR,
                        "coco_bad_category",
                        f"categories[{i}] has no usable 'id': give it an integer id",
                        label_file=ds.rel(json_path),
                    )
                )
                continue
            if cid in cats and cats[cid].get("name") != cat.get("name"):
                ds.findings.append(
                    Finding(
                        Severity.WARNING,
                        "coco_bad_category",
                        f"category id {cid} is named both '{cats[cid].get('name')}' and '{cat.get('name')}': "
                        "the first is used; give each category one id",
                        label_file=ds.rel(json_path),
                    )
                )
            cats.setdefault(cid, cat)
    if len(cats) > MAX_CLASSES + 1:
        raise DatasetError(
            f"{ds.source}: {len(cats)} categories, more than {MAX_CLASSES + 1}: not a class list a detector "
            "can learn; fix the 'categories' list"
        )
    ids = sorted(cats, key=lambda c: (isinstance(c, str), c if isinstance(c, int) else 0, str(c)))
    ds.classes = [str(cats[c].get("name", f"category{c}")) for c in ids]
    ds.meta["coco_category_ids"] = ids
    ds.meta["coco_categories"] = cats
    ds.meta["coco_class_of"] = {c: i for i, c in enumerate(ids)}
    ds.keypoints = _schema_from_categories(ds, [cats[c] for c in ids])


def _schema_from_categories(ds: Dataset, cats: list[dict[str, Any]]) -> KeypointSchema | None:
    with_kp = [c for c in cats if isinstance(c.get("keypoints"), list) and c["keypoints"]]
    if not with_kp:
        return None
    first = with_kp[0]
    if len(first["keypoints"]) > MAX_KEYPOINTS:
        ds.findings.append(
            Finding(
                Severity.ERROR,
                "keypoint_count",
                f"category '{first.get('name')}' names {len(first['keypoints'])} keypoints, more than "
                f"{MAX_KEYPOINTS}: its keypoints are not loaded (boxes are); fix the category's 'keypoints' list",
                label_file=None,
            )
        )
        return None
    names = [str(n) for n in first["keypoints"]]
    k = len(names)
    for other in with_kp[1:]:
        if len(other["keypoints"]) != k:
            ds.findings.append(
                Finding(
                    Severity.WARNING,
                    "keypoint_count",
                    f"category '{other.get('name')}' has {len(other['keypoints'])} keypoints but "
                    f"'{first.get('name')}' has {k}: one keypoint schema per dataset, so its keypoints are not "
                    "loaded",
                    label_file=None,
                )
            )
    schema = KeypointSchema.coco_person() if names == COCO_PERSON_NAMES else KeypointSchema(names)
    schema.names = names
    skeleton = first.get("skeleton")
    if isinstance(skeleton, list):
        edges = []
        for e in skeleton:
            pair = _numbers(e)
            if pair is not None and len(pair) == 2 and all(1 <= p <= k and p == int(p) for p in pair):
                edges.append((int(pair[0]) - 1, int(pair[1]) - 1))  # COCO skeletons are 1-based
        schema.skeleton = edges
    flip = _numbers(first.get("flip_idx"))
    if flip is not None and sorted(flip) == list(range(k)):
        schema.flip_idx = [int(f) for f in flip]
    elif names != COCO_PERSON_NAMES:
        schema.flip_idx = flip_from_names(names)
    sigmas = _numbers(first.get("sigmas"))
    if sigmas is not None and len(sigmas) == k and all(s > 0 for s in sigmas):
        schema.sigmas = sigmas
    return schema


def flip_from_names(names: list[str]) -> list[int]:
    """Left/right pairs from the names (``left_eye``/``right_eye``, ``l_knee``/``r_knee``)."""
    index = {n.lower(): i for i, n in enumerate(names)}
    flip = list(range(len(names)))
    for i, name in enumerate(names):
        low = name.lower()
        partners = []
        for a, b in (("left", "right"), ("right", "left")):
            if a in low:
                partners.append(low.replace(a, b))
        for a, b in (("l_", "r_"), ("r_", "l_")):
            if low.startswith(a):
                partners.append(b + low[len(a) :])
            if low.endswith("_" + a[0]):
                partners.append(low[:-1] + b[0])
        for p in partners:
            j = index.get(p)
            if j is not None and j != i:
                flip[i] = j
                break
    # Keep it a symmetric permutation even for odd names.
    return flip if all(flip[flip[i]] == i for i in range(len(flip))) else list(range(len(names)))


def _read_images_and_annotations(ds: Dataset, json_path: Path, data: dict[str, Any]) -> None:
    split = split_from_name(json_path)
    label = ds.rel(json_path)
    entries: list[tuple[int | str, dict[str, Any]]] = []
    for i, img in enumerate(data["images"]):
        iid = _as_id(img.get("id")) if isinstance(img, dict) else None
        name = img.get("file_name") if isinstance(img, dict) else None
        if iid is None or not isinstance(name, str) or not name:
            ds.findings.append(
                Finding(
                    Severity.ERROR,
                    "coco_bad_image",
                    f"images[{i}] needs an 'id' and a 'file_name': it was skipped",
                    label_file=label,
                )
            )
            continue
        entries.append((iid, img))
    # Lexical, not resolved: a symlinked images folder inside the dataset stays inside it.
    base = os.path.abspath(_image_base(json_path, [img["file_name"] for _, img in entries[:20]], ds.root))
    source = Source(json_path, None)  # the file all came from; JSON has no useful line numbers
    by_id: dict[int | str, ImageRecord] = {}
    by_file: dict[Path, int | str] = {}
    outside: set[int | str] = set()
    for iid, img in entries:
        image_path = contained_path(base, img["file_name"], ds.root)
        if image_path is None:
            outside.add(iid)
            ds.findings.append(
                Finding(
                    Severity.ERROR,
                    "path_outside_dataset",
                    f"image id {iid}: file_name {img['file_name']!r} leads outside the dataset folder {ds.root}; "
                    f"it was not read, and its annotations are left out: {OUTSIDE_FIX}",
                    label_file=label,
                )
            )
            continue
        if iid in by_id:
            ds.findings.append(
                Finding(
                    Severity.ERROR,
                    "coco_duplicate_image",
                    f"image id {iid} is listed twice in 'images': the second entry "
                    f"({img['file_name']}) was skipped; give each image its own id",
                    label_file=label,
                )
            )
            continue
        first = by_file.setdefault(image_path, iid)
        if first != iid:
            # Two entries for one file split its boxes between two records: each copy (in
            # training, in an export) carries only part of the image's labels.
            ds.findings.append(
                Finding(
                    Severity.WARNING,
                    "coco_duplicate_file",
                    f"image ids {first} and {iid} both name the file {img['file_name']!r}: its annotations are "
                    f"split between two images; give the file one entry in 'images' (move image id {iid}'s "
                    f"annotations to image id {first})",
                    image=ds.rel(image_path),
                    label_file=label,
                )
            )
        w, h = _as_number(img.get("width")), _as_number(img.get("height"))
        rec = ImageRecord(
            path=image_path,
            split=split,
            label_path=json_path,
            has_labels=True,
            width=int(w) if w and w >= 1 else None,
            height=int(h) if h and h >= 1 else None,
            loaded=False,
            meta={"coco_image_id": iid, "coco_image": img, "coco_anns": [], "coco_unparsed": []},
        )
        rec._loader = partial(_check_image, ds)
        by_id[iid] = rec
        ds.records.append(rec)
    k_of = _keypoint_counts(ds)
    for i, ann in enumerate(data.get("annotations") or []):
        rec = by_id.get(_as_id(ann.get("image_id"))) if isinstance(ann, dict) else None
        if rec is None and isinstance(ann, dict) and _as_id(ann.get("image_id")) in outside:
            continue  # counted in the image's path_outside_dataset finding
        if rec is None:
            what = f"image_id {ann.get('image_id')!r}" if isinstance(ann, dict) else "no image_id"
            ds.findings.append(
                Finding(
                    Severity.ERROR,
                    "coco_unknown_image",
                    f"annotations[{i}] (id {ann.get('id') if isinstance(ann, dict) else None}) has {what}, "
                    "which is not in 'images': add the image or delete the annotation",
                    label_file=label,
                )
            )
            continue
        _read_annotation(ds, rec, ann, k_of, source)


def _read_annotation(ds: Dataset, rec: ImageRecord, ann: dict[str, Any], k_of: dict[Any, int], source: Source) -> None:
    def problem(severity: Severity, kind: str, message: str, instance: int | None = None) -> None:
        rec.findings.append(
            record_finding(ds, rec, severity, kind, f"annotation id {ann.get('id')}: {message}", instance=instance)
        )

    cid = _as_id(ann.get("category_id"))
    cls = ds.meta["coco_class_of"].get(cid)
    if cls is None:
        problem(
            Severity.ERROR,
            "coco_unknown_category",
            f"category_id {ann.get('category_id')!r} is not in 'categories': add the category or fix the id",
        )
        rec.meta["coco_unparsed"].append(ann)
        return
    bbox = _numbers(ann.get("bbox"))
    if bbox is None or len(bbox) != 4:
        problem(
            Severity.ERROR,
            "coco_bad_annotation",
            f"bbox {ann.get('bbox')!r} is not [x, y, width, height] in pixels: fix or delete it",
        )
        rec.meta["coco_unparsed"].append(ann)
        return
    x, y, w, h = bbox
    if not (math.isfinite(x + w) and math.isfinite(y + h)):
        problem(Severity.ERROR, "coco_bad_annotation", f"bbox {bbox} is out of any image: fix or delete it")
        rec.meta["coco_unparsed"].append(ann)
        return
    index = len(rec.instances)
    keypoints = None
    raw_kp = ann.get("keypoints")
    k = k_of.get(cid, ds.keypoints.num_keypoints if ds.keypoints else 0)
    if (ds.keypoints.num_keypoints if ds.keypoints is not None else 0) != k:
        k = -1  # this category's keypoints do not fit the dataset's schema, or there is none (reported once)
    if raw_kp is not None and raw_kp != [] and k >= 0:
        flat = _numbers(raw_kp)
        n = f"{len(raw_kp)} values" if isinstance(raw_kp, list) else repr(raw_kp)
        if k == 0:
            problem(
                Severity.ERROR,
                "keypoint_count",
                f"keypoints has {n} but the category names no keypoints: add 'keypoints' names to the "
                "category or remove them from the annotation",
                index,
            )
        elif flat is None or len(flat) != 3 * k:
            problem(
                Severity.ERROR,
                "keypoint_count",
                f"keypoints has {n}, expected {3 * k} ({k} points x, y, v) for this category: fix the list",
                index,
            )
        else:
            keypoints = np.asarray(flat, dtype=np.float64).reshape(k, 3)
            bad = [j for j, v in enumerate(keypoints[:, 2]) if v not in (0.0, 1.0, 2.0)]
            for j in bad:
                problem(
                    Severity.ERROR,
                    "bad_visibility",
                    f"{keypoint_label(j)} has visibility {keypoints[j, 2]:g}: "
                    "use 0 (missing), 1 (occluded) or 2 (visible)",
                    index,
                )
                keypoints[j, 2] = 2.0 if keypoints[j, 2] > 0 else 0.0
            keypoints[keypoints[:, 2] == 0] = 0.0  # a missing point is missing everywhere
    crowd = ann.get("iscrowd")
    inst = Instance(
        cls,
        np.array([x, y, x + w, y + h]),
        keypoints,
        Source(source.label_file, None, ann.get("id") if isinstance(ann.get("id"), (int, str)) else None),
        iscrowd=bool(crowd) if isinstance(crowd, (bool, int, float)) else False,
    )
    rec.instances.append(inst)
    rec.meta["coco_anns"].append(ann)


def _image_base(json_path: Path, names: list[str], root: Path) -> Path:
    """The folder ``file_name`` is relative to, decided on the first images found.

    Only folders inside the dataset ``root`` are tried: for a json at the root, ``../images``
    is some other folder of the user's, and images found there were read and exported as
    the dataset's.
    """
    here = json_path.parent
    up = here.parent
    split_dir = json_path.stem.split("_")[-1]  # instances_train2017 -> train2017
    split = split_from_name(json_path)
    bases = [
        here,
        here / "images",
        up / "images" / split_dir,
        up / "images" / split,
        up / "images",
        up / split_dir,
        up / split,
        here / split_dir,
        here / split,
    ]
    bases = [b for b in bases if inside_root(b, root)]
    for name in names:
        if Path(name).is_absolute():
            continue
        for base in bases:
            if is_file(base / name):
                return base
    return here


def _check_image(ds: Dataset, rec: ImageRecord) -> None:
    """The lazy part of a record: does its image exist, and its size when the JSON lacks it."""
    missing = (
        f"'{rec.path.name}' is listed in the json but not found at {rec.path}: restore the image, "
        "or put the images beside the json or in images/"
    )
    if not is_file(rec.path):
        rec.findings.append(record_finding(ds, rec, Severity.ERROR, "missing_image", missing))
        return
    declared = (rec.width, rec.height)
    header = read_image_header(rec.path, check_end=False)
    note_image_header(ds, rec, header, missing)
    if None not in declared and header.width is not None and (header.width, header.height) != declared:
        # The json's size is somebody's claim; boxes were drawn on the pixels, so the pixels win
        # (normalized exports of a 640x480 image declared 100000x100000 would be nonsense).
        rec.findings.append(
            record_finding(
                ds,
                rec,
                Severity.ERROR,
                "image_size_mismatch",
                f"the json says {declared[0]}x{declared[1]} but the image is {header.width}x{header.height} (as "
                f"displayed): the image's size is used; save to write it into the json{turned_hint(header, declared)}",
                fix=TakeImageSize(),
            )
        )


# --------------------------------------------------------------------------- writing


def category_ids(ds: Dataset) -> list[int | str]:
    """COCO id per class: the ids the dataset was read with, then fresh ones (1-based otherwise)."""
    ids: list[int | str] = list(ds.meta.get("coco_category_ids", []))[: ds.nc]
    next_id = max((i for i in ids if isinstance(i, int)), default=0) + 1
    while len(ids) < ds.nc:
        ids.append(next_id)
        next_id += 1
    return ids


def _categories(ds: Dataset) -> list[dict[str, Any]]:
    originals = ds.meta.get("coco_categories", {})
    out = []
    for cls, cid in enumerate(category_ids(ds)):
        cat = dict(originals.get(cid, {}))
        cat.update(id=cid, name=ds.classes[cls])
        cat.setdefault("supercategory", "")
        if ds.keypoints is not None and (cid not in originals or "keypoints" in originals[cid]):
            cat["keypoints"] = list(ds.keypoints.names)
            cat["skeleton"] = [[a + 1, b + 1] for a, b in ds.keypoints.skeleton]
            cat["flip_idx"] = list(ds.keypoints.flip_idx)
            cat["sigmas"] = [float(s) for s in ds.keypoints.sigmas]
        out.append(cat)
    return out


def _annotation(ds: Dataset, inst: Instance, ann_id: int, image_id: int | str, ids: list[int | str]) -> dict[str, Any]:
    x1, y1, x2, y2 = (float(v) for v in inst.box)
    w, h = x2 - x1, y2 - y1
    ann: dict[str, Any] = {
        "id": ann_id,
        "image_id": image_id,
        "category_id": ids[inst.class_id] if 0 <= inst.class_id < len(ids) else inst.class_id,
        "bbox": [_json_number(x1), _json_number(y1), _json_number(w), _json_number(h)],
        "area": _json_number(max(w, 0.0) * max(h, 0.0)),
        "iscrowd": int(inst.iscrowd),
        "segmentation": [],
    }
    if ds.keypoints is not None:
        k = ds.keypoints.num_keypoints
        kps = np.zeros((k, 3))
        if inst.keypoints is not None:
            n = min(k, len(inst.keypoints))
            kps[:n] = inst.keypoints[:n]
        kps[kps[:, 2] == 0] = 0.0
        ann["keypoints"] = [_json_number(v) if j % 3 != 2 else int(v) for j, v in enumerate(kps.reshape(-1))]
        ann["num_keypoints"] = int(np.count_nonzero(kps[:, 2]))
    return ann


# A string, or one separator outside strings: how the file spells "," and ":".
_TOKEN_RE = re.compile(r'"(?:[^"\\]|\\.)*"|[,:][ \t]*')


@dataclass(frozen=True)
class JsonStyle:
    """How a json file was spelled, so a save rewrites only what changed.

    Re-dumped in one house style, a file written with ``indent=4``, tabs, ``", "``
    separators, ``\\u00e9`` escapes, CRLF or no final newline would change on every line,
    and a one-box edit would show as a rewrite of the whole file in a diff. The style is
    read from the text once at open: the indent of the first nested line, the first
    separators outside strings, whether the file is pure ASCII (so escapes stay escapes),
    the line ending, the text after the closing brace and a byte order mark.
    """

    indent: str | None = None
    item_sep: str = ","
    key_sep: str = ":"
    ensure_ascii: bool = False
    newline: str = "\n"
    tail: str = ""
    bom: bool = False

    @classmethod
    def of(cls, text: str) -> JsonStyle:
        bom = text.startswith("\ufeff")
        body = text[1:] if bom else text
        stripped = body.lstrip()
        indent = None
        m = re.match(r"\{(\r?\n)([ \t]+)\S", stripped)
        if m:
            indent = m.group(2)
        newline = "\r\n" if m and m.group(1) == "\r\n" else "\n"
        seps: dict[str, str] = {}
        for t in _TOKEN_RE.finditer(body, 0, min(len(body), 1 << 16)):
            tok = t.group()
            if tok[0] in ",:" and tok[0] not in seps:
                seps[tok[0]] = tok
                if len(seps) == 2:
                    break
        return cls(
            indent=indent,
            item_sep="," if indent is not None else seps.get(",", ","),
            key_sep=seps.get(":", ":"),
            ensure_ascii=body.isascii() and "\\u" in body,
            newline=newline,
            tail=body[len(body.rstrip()) :],
            bom=bom,
        )

    def dump(self, data: dict[str, Any]) -> str:
        """The json text in this style; UTF-8 where it can be: a lone surrogate read from a
        ``\\udce9`` escape cannot be encoded, so such a file is written with escapes, which
        read back the same."""
        for ensure_ascii in (self.ensure_ascii, True):
            text = json.dumps(
                data, ensure_ascii=ensure_ascii, indent=self.indent, separators=(self.item_sep, self.key_sep)
            )
            try:
                text.encode("utf-8")
                break
            except UnicodeEncodeError:
                continue
        if self.newline != "\n":
            text = text.replace("\n", self.newline)
        return ("\ufeff" if self.bom else "") + text + self.tail


# How exports are spelled: compact, one line.
_EXPORT_STYLE = JsonStyle()


def save_coco(ds: Dataset, records: list[ImageRecord] | None = None) -> list[Path]:
    """Write edited images' annotations back into their json, atomically; returns the files written.

    Nothing is written when nothing changed. The rest of the json (info, licenses,
    other images' annotations, unknown keys) is kept as read.
    """
    files: dict[str, dict[str, Any]] = ds.meta.get("coco_files") or {}
    recs = [r for r in (records if records is not None else ds.dirty_records()) if str(r.label_path) in files]
    read_ids = ds.meta.get("coco_category_ids", [])
    read_names = [ds.meta.get("coco_categories", {}).get(cid, {}).get("name") for cid in read_ids]
    # A class added and removed again (add, undo) leaves the categories as they were read.
    classes_changed = (ds.classes_dirty or ds.nc > len(read_ids)) and list(ds.classes) != read_names
    touched = set(files) if classes_changed else {str(r.label_path) for r in recs}
    if not touched:
        ds.classes_dirty = False
        return []
    ids = category_ids(ds)
    next_id = 1 + max(
        (
            a["id"]
            for d in files.values()
            for a in d.get("annotations") or []
            if isinstance(a, dict) and isinstance(a.get("id"), int) and not isinstance(a.get("id"), bool)
        ),
        default=0,
    )
    k_of = _keypoint_counts(ds)  # as the annotations were read, before any class edit
    categories = _categories(ds) if classes_changed else []
    styles = ds.meta.get("coco_style", {})
    before = {key: styles.get(key, _EXPORT_STYLE).dump(files[key]) for key in touched}
    for key in touched:
        data = files[key]
        mine = [r for r in recs if str(r.label_path) == key]
        replaced: dict[int | str, list[Any]] = {}
        for rec in mine:
            image = rec.meta.get("coco_image")
            if isinstance(image, dict) and rec.width is not None and rec.height is not None:
                if (image.get("width"), image.get("height")) != (rec.width, rec.height):
                    image["width"], image["height"] = rec.width, rec.height
            originals = [(_reparsed(ds, rec, ann, k_of), ann) for ann in rec.meta["coco_anns"]]
            matched = match_originals(rec.instances, originals)
            used = {id(a) for a in matched if a is not None}
            # An edited instance is still the annotation it was read as: it keeps its id, its
            # place in the file and the keys the model does not hold (segmentation, tool fields).
            by_id = {}
            for parsed, ann in originals:
                if id(ann) not in used and parsed.source.annotation_id is not None:
                    by_id.setdefault(parsed.source.annotation_id, (parsed, ann))
            new_anns = []
            for inst, orig in zip(rec.instances, matched, strict=True):
                if orig is None and inst.source.annotation_id is not None and inst.source.annotation_id in by_id:
                    parsed, orig = by_id.pop(inst.source.annotation_id)
                    _update_annotation(ds, orig, parsed, inst, ids)
                elif orig is None:
                    orig = _annotation(ds, inst, next_id, rec.meta["coco_image_id"], ids)
                    next_id += 1
                new_anns.append(orig)
            rec.meta["coco_anns"] = new_anns
            replaced[rec.meta["coco_image_id"]] = new_anns + list(rec.meta["coco_unparsed"])
        data["annotations"] = _merged_annotations(data.get("annotations") or [], replaced)
        if classes_changed:
            data["categories"] = categories
    written = []
    for key in sorted(touched):
        text = styles.get(key, _EXPORT_STYLE).dump(files[key])
        if text == before[key]:
            continue  # the same annotations as read (an edit and its undo): the file stays as it is
        atomic_write_text(key, text)
        written.append(Path(key))
    for rec in recs:
        rec.dirty = False
    if classes_changed:
        ds.meta["coco_category_ids"] = ids
        ds.meta["coco_categories"] = {c["id"]: c for c in categories}
        ds.meta["coco_class_of"] = {c: i for i, c in enumerate(ids)}
    ds.classes_dirty = False  # written, or the same names as the file's
    return written


def _update_annotation(ds: Dataset, ann: dict[str, Any], was: Instance, inst: Instance, ids: list[int | str]) -> None:
    """Write into ``ann`` (in place, so it keeps its position) only what the edit changed."""
    fresh = _annotation(ds, inst, 0, ann.get("image_id"), ids)
    if not np.allclose(was.box, inst.box, atol=1e-6):
        ann["bbox"], ann["area"] = fresh["bbox"], fresh["area"]
    if was.class_id != inst.class_id:
        ann["category_id"] = fresh["category_id"]
    if was.iscrowd != inst.iscrowd:
        ann["iscrowd"] = fresh["iscrowd"]
    same_points = (was.keypoints is None) == (inst.keypoints is None) and (
        was.keypoints is None
        or (was.keypoints.shape == inst.keypoints.shape and np.allclose(was.keypoints, inst.keypoints, atol=1e-6))
    )
    if not same_points and "keypoints" in fresh:
        ann["keypoints"], ann["num_keypoints"] = fresh["keypoints"], fresh["num_keypoints"]


def _merged_annotations(old: list[Any], replaced: dict[int | str, list[Any]]) -> list[Any]:
    """The file's annotation list with the edited images' annotations swapped in, order kept.

    Every annotation that survives stays where it was, even between other images' (files
    written by other tools interleave them); an image's new annotations follow its last
    kept one, or go at the end. So an edit and its undo give the same list, and a diff
    shows the edit only.
    """
    survivors = {id(a) for anns in replaced.values() for a in anns}
    merged: list[Any] = []
    placed: set[int] = set()
    after: dict[int | str, int] = {}  # image id -> index just past its last kept annotation
    for a in old:
        iid = _as_id(a.get("image_id")) if isinstance(a, dict) else None
        if iid not in replaced:
            merged.append(a)
        elif id(a) in survivors and id(a) not in placed:
            merged.append(a)
            placed.add(id(a))
            after[iid] = len(merged)
    # Insert from the back, so the positions still to use do not move.
    for iid in sorted(replaced, key=lambda i: after.get(i, len(merged)), reverse=True):
        at = after.get(iid, len(merged))
        merged[at:at] = [a for a in replaced[iid] if id(a) not in placed]
    return merged


def _keypoint_counts(ds: Dataset) -> dict[Any, int]:
    """Keypoints per COCO category id, for the categories that name their keypoints."""
    return {
        cid: len(c["keypoints"])
        for cid, c in ds.meta.get("coco_categories", {}).items()
        if isinstance(c.get("keypoints"), list)
    }


def _reparsed(ds: Dataset, rec: ImageRecord, ann: dict[str, Any], k_of: dict[Any, int]) -> Instance:
    """What an original annotation reads as, to compare the edited instances with."""
    probe = ImageRecord(path=rec.path, label_path=rec.label_path, meta={"coco_anns": [], "coco_unparsed": []})
    _read_annotation(ds, probe, ann, k_of, Source(rec.label_path))
    return probe.instances[0]


def write_coco(ds: Dataset, out: Path) -> Path:
    """Export: ``out/annotations/<instances|person_keypoints>_<split>.json`` + ``out/images/<split>/``.

    Images are hard-linked (copied across filesystems). Returns the json when there
    is one split, else the ``annotations`` folder, which opens as the whole dataset.
    Records whose image size is unknown (a missing or unreadable image) are skipped.
    """
    out = Path(out)
    ids = category_ids(ds)
    categories = _categories(ds)
    prefix = "person_keypoints" if ds.keypoints is not None else "instances"
    ann_id = 1
    used_image_ids: set[int | str] = set()
    next_image_id = 1 + max(
        (r.meta.get("coco_image_id") for r in ds.records if isinstance(r.meta.get("coco_image_id"), int)), default=0
    )
    written = []
    for split, records in ds.splits.items():
        images, annotations = [], []
        names: set[str] = set()
        for rec in records:
            rec.ensure_loaded()
            if rec.width is None or rec.height is None or not is_file(rec.path):
                continue
            name = unique_file_name(rec.path, names)
            link_or_copy(rec.path, out / "images" / split / name)
            image_id = rec.meta.get("coco_image_id")
            if not isinstance(image_id, int) or image_id in used_image_ids:
                image_id, next_image_id = next_image_id, next_image_id + 1
            used_image_ids.add(image_id)
            images.append({"id": image_id, "file_name": name, "width": rec.width, "height": rec.height})
            for inst in rec.instances:
                annotations.append(_annotation(ds, inst, ann_id, image_id, ids))
                ann_id += 1
        data = {
            # A source path whose bytes are not UTF-8 must not make the json unwritable.
            "info": {"description": f"exported by workbench from {portable_name(str(ds.source))}"},
            "licenses": [],
            "images": images,
            "annotations": annotations,
            "categories": categories,
        }
        path = out / "annotations" / f"{prefix}_{split}.json"
        atomic_write_text(path, _EXPORT_STYLE.dump(data))
        written.append(path)
    if not written:
        raise DatasetError(f"{ds.source}: the dataset has no images to export")
    return written[0] if len(written) == 1 else out / "annotations"

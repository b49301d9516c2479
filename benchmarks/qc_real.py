"""Label QC on real fold models, side by side with cleanlab, on a dataset with known mistakes.

``qc.py`` judges labels with a simulated detector; this trains real ones. A generated YOLO
pose dataset (small noisy images, 1-3 shapes of three classes: square, disc, triangle,
each with three landmarks ``left``/``right``/``top``, ``flip_idx`` [1, 0, 2]; not the
bundled sample) gets a known set of mistakes: class swaps, shifted boxes (the landmarks
stay where they were), missing labels, and landmark errors (a point moved, or left and
right swapped). Then:

1. k fold models train from scratch with the real engine
   (``workbench.train.kfold.kfold_engine_predictions``) and each image is predicted by the
   fold model that never saw it.
2. Our QC measures that model out of sample (``measure_reliability(source="k-fold")``,
   ``OUT_OF_SAMPLE``) and ranks the labels; cleanlab's object-detection
   ``find_label_issues`` / ``get_label_quality_scores`` gets the same predictions. Both are
   scored at image level (AP, precision at K = images holding a mistake); ours also at
   instance level (precision at K = injected mistakes, with the right kind and instance),
   and by how many suspects it calls likely.
3. The weak-model check: one model trained for an epoch or two on three quarters of the
   images judges all of them (mostly in sample), measured on the quarter it never saw, as
   ``workbench qc`` does; goal: nothing shown as a likely mistake, ``judges_reliably`` false.

    python benchmarks/qc_real.py [--json] [--images 96] [--k 2] [--epochs 10] [--device cpu|cuda]

The CPU defaults (96 images of 128 px, 2 folds of 10 epochs) were sized for about 8 minutes
on two idle cores (a training step of 4 images takes ~0.5 s there); on two cores shared with
other work the README's run took 20 minutes, and its fold models reached only mAP50 ~0.2, too
weak for QC to call anything likely. ``--device cuda`` trains 40 epochs on 400 images unless
the sizes are given. The last printed line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (HERE, ROOT / "tests", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

from _train_data import LIGHT  # noqa: E402
from qc import _pr, cleanlab_format, cleanlab_ranking, image_level  # noqa: E402

from workbench.core.annotation import Dataset  # noqa: E402
from workbench.core.prediction import Prediction  # noqa: E402
from workbench.formats.registry import open_dataset  # noqa: E402
from workbench.qa.label_qc import Suspect, find_label_issues  # noqa: E402
from workbench.qa.qc_geometry import box_iou  # noqa: E402
from workbench.qa.qc_reliability import (  # noqa: E402
    OUT_OF_SAMPLE,
    ModelReliability,
    Provenance,
    measure_reliability,
    reference_records,
)
from workbench.train.config import TrainConfig  # noqa: E402

CLASSES = ["square", "disc", "triangle"]
KPT_NAMES = ["left", "right", "top"]
FLIP_IDX = [1, 0, 2]
COLORS = [(60, 60, 235), (70, 215, 70), (235, 150, 40)]  # BGR: red squares, green discs, blue triangles
RATE = 0.05  # of the instances, per kind of mistake
MISTAKE_KINDS = ("class_swap", "bad_box", "missing_label", "landmark_off")
# The training tests' light Keypoint R-CNN: few sampled RoIs, a 4 x 64 keypoint head, and every
# proposal kept while the young model's objectness is still low (as tests/test_train_overfit.py).
MODEL_OPTIONS = {**LIGHT, "rpn_score_thresh": 0.0, "keypoint_layers": [64, 64, 64, 64]}
# Batch statistics in the backbone: from scratch, frozen BatchNorm means no normalization at all,
# and the model learns far slower (48 images, 8 epochs, 128 px: val mAP50 0.13 with batch
# statistics, 0.02 frozen at lr 0.003, 0.06 frozen after 15 epochs at lr 0.001).
FROZEN_BN = False


@dataclass
class Mistake:
    """One injected error, in the terms of the suspect that should report it.

    ``instance`` is the 0-based index of the label in its (written) file, None for a
    missing label; ``keypoints`` the landmarks that are wrong (both for a left/right swap).
    """

    kind: str  # a label_qc suspect kind: class_swap, bad_box, missing_label, landmark_off
    image: int
    instance: int | None
    true_class: int
    true_box: np.ndarray
    keypoints: tuple[int, ...] = ()
    detail: str = ""

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "image": self.image,
            "instance": self.instance,
            "true_class": self.true_class,
            "true_box": [round(float(v), 1) for v in self.true_box],
            "keypoints": list(self.keypoints),
            "detail": self.detail,
        }


@dataclass
class Bench:
    """The written dataset and what is wrong in it."""

    data: Path  # data.yaml
    names: list[str]  # image file names, index = image number
    truth: list[list[tuple[int, np.ndarray, np.ndarray]]]  # per image: (class, box, keypoints (3, 3))
    mistakes: list[Mistake] = field(default_factory=list)

    @property
    def bad_images(self) -> set[int]:
        return {m.image for m in self.mistakes}


def _landmarks(cls: int, box: np.ndarray) -> np.ndarray:
    """``left``, ``right``, ``top``: the bottom corners and apex (square, triangle), or the
    leftmost, rightmost and top points (disc); all visible."""
    x1, y1, x2, y2 = box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    low = cy if cls == 1 else y2
    return np.array([[x1, low, 2.0], [x2, low, 2.0], [cx, y1, 2.0]])


def _draw(img: np.ndarray, cls: int, box: np.ndarray, rng: np.random.Generator) -> None:
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    color = tuple(int(np.clip(c + rng.integers(-25, 26), 0, 255)) for c in COLORS[cls])
    if cls == 0:
        cv2.rectangle(img, (x1, y1), (x2, y2), color, -1)
    elif cls == 1:
        cv2.ellipse(img, ((x1 + x2) // 2, (y1 + y2) // 2), ((x2 - x1) // 2, (y2 - y1) // 2), 0, 0, 360, color, -1)
    else:
        pts = np.array([[x1, y2], [x2, y2], [(x1 + x2) // 2, y1]], dtype=np.int32)
        cv2.fillPoly(img, [pts], color)


def _objects(rng: np.random.Generator, size: int) -> list[tuple[int, np.ndarray]]:
    """1-3 shapes of 22-40 % of the image side, not touching each other."""
    out: list[tuple[int, np.ndarray]] = []
    for _ in range(int(rng.integers(1, 4))):
        for _try in range(30):
            w, h = rng.uniform(0.22, 0.4, 2) * size
            x, y = rng.uniform(2, size - w - 2), rng.uniform(2, size - h - 2)
            b = np.array([x, y, x + w, y + h])
            grown = b + np.array([-4, -4, 4, 4])
            if not out or box_iou(grown, np.array([o[1] for o in out])).max() == 0:
                out.append((int(rng.integers(0, len(CLASSES))), b))
                break
    return out


def _shift(rng: np.random.Generator, box: np.ndarray, size: int) -> np.ndarray:
    """The box moved by 30-42 % of its width or height (IoU 0.4-0.55 with where it was),
    the way a hurried drag leaves it, kept inside the image."""
    w, h = box[2] - box[0], box[3] - box[1]
    axis = int(rng.integers(0, 2))
    d = rng.uniform(0.3, 0.42) * (w if axis == 0 else h) * rng.choice([-1, 1])
    out = box.copy()
    out[[axis, axis + 2]] += d
    lo, hi = -out[axis], out[axis + 2] - size
    if lo > 0:  # pushed off the image: shift the other way instead
        out[[axis, axis + 2]] += -2 * d
    elif hi > 0:
        out[[axis, axis + 2]] -= 2 * d
    return out


def _move_point(rng: np.random.Generator, kps: np.ndarray, q: int, box: np.ndarray, size: int) -> np.ndarray:
    """Landmark ``q`` put 35-50 % of the box's size away, in a direction that stays in the image."""
    scale = max(box[2] - box[0], box[3] - box[1])
    out = kps.copy()
    for _try in range(50):
        angle, r = rng.uniform(0, 2 * np.pi), rng.uniform(0.35, 0.5) * scale
        xy = kps[q, :2] + r * np.array([np.cos(angle), np.sin(angle)])
        if (xy >= 1).all() and (xy <= size - 1).all():
            break
    out[q, :2] = np.clip(xy, 1, size - 1)
    return out


def make_bench(root: Path, n_images: int, size: int, seed: int, rate: float = RATE) -> Bench:
    """Draw the dataset under ``root``, inject ``rate`` of the instances' worth of each kind of
    mistake (disjoint instances), write it as a YOLO pose dataset and return what went wrong."""
    rng = np.random.default_rng(seed)
    (root / "images" / "train").mkdir(parents=True, exist_ok=True)
    (root / "labels" / "train").mkdir(parents=True, exist_ok=True)
    images, truth = [], []
    for _ in range(n_images):
        img = rng.integers(0, 70, (size, size, 3), dtype=np.uint8)
        objs = _objects(rng, size)
        for cls, box in objs:
            _draw(img, cls, box, rng)
        images.append(img)
        truth.append([(cls, box, _landmarks(cls, box)) for cls, box in objs])
    flat = [(i, j) for i, objs in enumerate(truth) for j in range(len(objs))]
    per_kind = max(1, round(rate * len(flat)))
    picks = [flat[p] for p in rng.permutation(len(flat))]
    plan = {}
    for n, kind in enumerate(MISTAKE_KINDS):
        for ij in picks[n * per_kind : (n + 1) * per_kind]:
            plan[ij] = kind
    bench = Bench(root / "data.yaml", [], truth)
    for i, (img, objs) in enumerate(zip(images, truth, strict=True)):
        name = f"img{i:04d}.png"
        bench.names.append(name)
        cv2.imwrite(str(root / "images" / "train" / name), img)
        lines = []
        for j, (cls, box, kps) in enumerate(objs):
            kind = plan.get((i, j))
            if kind == "missing_label":
                bench.mistakes.append(Mistake(kind, i, None, cls, box, detail="label left out"))
                continue
            at = len(lines)
            c, b, k = cls, box, kps
            if kind == "class_swap":
                c = int(rng.choice([x for x in range(len(CLASSES)) if x != cls]))
                bench.mistakes.append(Mistake(kind, i, at, cls, box, detail=f"labeled {CLASSES[c]}"))
            elif kind == "bad_box":
                b = _shift(rng, box, size)
                iou = float(box_iou(b, box[None])[0, 0])
                bench.mistakes.append(Mistake(kind, i, at, cls, box, detail=f"box shifted, IoU {iou:.2f}"))
            elif kind == "landmark_off":
                if rng.random() < 0.5:
                    k = kps[[1, 0, 2]]
                    bench.mistakes.append(Mistake(kind, i, at, cls, box, (0, 1), "left/right swapped"))
                else:
                    q = int(rng.integers(0, 3))
                    k = _move_point(rng, kps, q, box, size)
                    bench.mistakes.append(Mistake(kind, i, at, cls, box, (q,), f"{KPT_NAMES[q]} moved"))
            # Every annotator's hand shakes a little.
            b = b + rng.normal(0, 0.015, 4) * np.array([b[2] - b[0], b[3] - b[1]] * 2)
            k = k.copy()
            k[:, :2] += rng.normal(0, 0.6, (3, 2))
            lines.append(_yolo_line(c, np.clip(b, 0, size), np.clip(k, 0, size), size))
        (root / "labels" / "train" / f"img{i:04d}.txt").write_text("".join(f"{ln}\n" for ln in lines))
    names = "".join(f"  {i}: {n}\n" for i, n in enumerate(CLASSES))
    bench.data.write_text(
        f"path: {root}\ntrain: images/train\nkpt_shape: [3, 3]\nflip_idx: {FLIP_IDX}\nkpt_names: {KPT_NAMES}\n"
        f"names:\n{names}"
    )
    return bench


def _yolo_line(cls: int, box: np.ndarray, kps: np.ndarray, size: int) -> str:
    x1, y1, x2, y2 = box / size
    head = f"{cls} {(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} {x2 - x1:.6f} {y2 - y1:.6f}"
    return head + "".join(f" {x / size:.6f} {y / size:.6f} {int(v)}" for x, y, v in kps)


# ---------------------------------------------------------------------- scoring


def perfect_predictions(bench: Bench, ds: Dataset, score: float = 0.97) -> dict[Path, list[Prediction]]:
    """A model that sees exactly the true objects: what scoring a perfect judge looks like."""
    by_name = {r.path.name: r.path for r in ds.records}
    out = {}
    for name, objs in zip(bench.names, bench.truth, strict=True):
        out[by_name[name]] = [
            Prediction(cls, box, score, np.column_stack([kps[:, :2], np.full(len(kps), 0.9)])) for cls, box, kps in objs
        ]
    return out


def _index(ds: Dataset) -> dict[str, int]:
    return {ds.rel(r.path) or str(r.path): int(r.path.stem[3:]) for r in ds.records}


def _matches(bench: Bench, suspects: list[Suspect], image_of: dict[str, int]) -> list[Mistake | None]:
    """Per suspect, the injected mistake it reports with its own kind (None: a false alarm).

    A label suspect must name the mistaken instance (a landmark suspect: one of the wrong
    points, so both points of a left/right swap count); a missing-label suspect must
    suggest a box at IoU >= 0.5 with a left-out object, each object found once.
    """
    wrong = {(m.image, m.instance): m for m in bench.mistakes if m.instance is not None}
    missing = [m for m in bench.mistakes if m.kind == "missing_label"]
    taken: set[int] = set()
    out: list[Mistake | None] = []
    for s in suspects:
        i = image_of[s.image]
        m: Mistake | None
        if s.kind == "missing_label":
            box = np.array(s.suggestion.box)
            m = next(
                (
                    m
                    for m in missing
                    if id(m) not in taken and m.image == i and box_iou(box, m.true_box[None])[0, 0] >= 0.5
                ),
                None,
            )
            if m is not None:
                taken.add(id(m))
        else:
            m = wrong.get((i, s.instance))
            if m is not None and m.kind != s.kind:
                m = None
            if m is not None and s.kind == "landmark_off" and int(s.evidence["keypoint"]) not in m.keypoints:
                m = None
        out.append(m)
    return out


def instance_level(bench: Bench, suspects: list[Suspect], ds: Dataset) -> dict[str, dict]:
    """Precision and recall of our top-k suspects, k = injected mistakes, over all kinds and per
    kind (its top-k of that kind). Recall counts mistakes: a left/right swap found by either point."""
    image_of = _index(ds)
    out: dict[str, dict] = {}
    for kind in (None, *MISTAKE_KINDS):
        relevant = [m for m in bench.mistakes if kind is None or m.kind == kind]
        pool = [s for s in suspects if kind is None or s.kind == kind][: len(relevant)]
        matched = _matches(bench, pool, image_of)
        hits = sum(m is not None for m in matched)
        found = len({id(m) for m in matched if m is not None})
        out[kind or "all_kinds"] = _pr(hits, len(pool), len(relevant)) | {
            "recall": round(found / max(len(relevant), 1), 3)
        }
    return out


def our_image_ranking(suspects: list[Suspect], ds: Dataset) -> list[int]:
    """Images in the order our list first shows them (likely mistakes first), then the rest."""
    image_of = _index(ds)
    order: dict[int, None] = {}
    for s in suspects:
        order.setdefault(image_of[s.image], None)
    order.update(dict.fromkeys(sorted(image_of.values())))
    return list(order)


def score(
    bench: Bench,
    ds: Dataset,
    predictions: dict[Path, list[Prediction]],
    reliability: ModelReliability,
    provenance: Provenance,
) -> dict:
    """Ours and cleanlab's figures on one model's predictions for every image."""
    t = time.perf_counter()
    suspects = find_label_issues(ds, predictions, reliability=reliability, provenance=provenance)
    ours_s = time.perf_counter() - t
    image_of = _index(ds)
    bad = bench.bad_images
    likely = [s for s in suspects if s.likely]
    likely_hits = [m is not None for m in _matches(bench, likely, image_of)]
    res: dict = {
        "model": {
            "mAP50": None if reliability.map50 is None else round(reliability.map50, 4),
            "judges_reliably": reliability.judges_reliably,
            "source": reliability.source,
            "images": reliability.images,
            "reason": reliability.reason,
        },
        "ours": {
            "suspects": len(suspects),
            "likely": len(likely),
            "likely_precision": round(sum(likely_hits) / max(len(likely), 1), 3),
            "in_sample": sum(bool(s.in_sample) for s in suspects),
            "instance_level": instance_level(bench, suspects, ds),
            "image_level": image_level(our_image_ranking(suspects, ds), bad, {image_of[s.image] for s in likely}),
            "seconds": round(ours_s, 3),
        },
    }
    records = sorted(ds.records, key=lambda r: image_of[ds.rel(r.path) or str(r.path)])
    labels = []
    for r in records:
        r.ensure_loaded()
        boxes = np.array([inst.box for inst in r.instances], dtype=np.float64).reshape(-1, 4)
        labels.append((boxes, np.array([inst.class_id for inst in r.instances], dtype=np.int64)))
    cl = cleanlab_ranking(*cleanlab_format(labels, [predictions.get(r.path, []) for r in records], len(CLASSES)))
    if isinstance(cl, str):
        res["cleanlab"] = {"available": False, "reason": cl}
    else:
        ranking, flagged, cl_s = cl
        res["cleanlab"] = {
            "available": True,
            "image_level": image_level(ranking, bad, flagged),
            "seconds": round(cl_s, 3),
        }
    return res


# ---------------------------------------------------------------------- training


def _config(data: Path, out: Path, args: argparse.Namespace, epochs: int) -> TrainConfig:
    return TrainConfig(
        data=str(data),
        epochs=epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        weights="none",
        out=str(out),
        workers=0,
        optimizer="adamw",
        lr=args.lr,
        model_options=dict(MODEL_OPTIONS),
        frozen_bn=FROZEN_BN,
        device=args.device,
        seed=args.seed,
        val_every=epochs,  # the fold's held-out mAP once, at the end: validation is not what is measured
    )


def kfold_run(
    bench: Bench, ds: Dataset, out: Path, args: argparse.Namespace, log: Callable[[str], None]
) -> tuple[dict, dict]:
    """k fold models, every image predicted by the one that never saw it; (predictions, fold summary)."""
    from workbench.train.kfold import kfold_engine_predictions

    result = kfold_engine_predictions(ds, args.k, _config(bench.data, out, args, args.epochs), log=log)
    folds = [
        {"fold": f.fold, "trained_on": len(f.trained_on), "seconds": round(f.seconds, 1), "metrics": f.metrics}
        for f in result.folds
    ]
    return result.predictions, {"k": args.k, "folds": folds}


def weak_run(bench: Bench, ds: Dataset, out: Path, args: argparse.Namespace) -> WeakRun:
    """One model trained ``--weak-epochs`` on three quarters of the images, judging all of them,
    measured on the quarter it never saw: ``workbench qc RUN DATA`` after a too-short training."""
    import dataclasses

    from workbench.train.engine import train
    from workbench.train.events import EndReason
    from workbench.train.predictor import Predictor

    records = sorted(ds.records, key=lambda r: r.path.name)
    learn = [r for n, r in enumerate(records) if n % 4]
    rest = [r for n, r in enumerate(records) if not n % 4]
    cfg = dataclasses.replace(
        _config(bench.data, out, args, args.weak_epochs),
        name="weak",
        train_images=[str(r.path) for r in learn],
        val_images=[str(r.path) for r in rest],
    )
    result = train(cfg)
    if result.reason != EndReason.FINISHED:
        raise RuntimeError(f"the weak model did not train: {result.reason}: {result.message}")
    predictor = Predictor(Path(result.run_dir) / "last.pt", device=args.device, conf=0.01)
    provenance = predictor.provenance
    predictions = predictor.predict_paths([r.path for r in records], batch_size=args.batch)
    held_out = reference_records(ds, provenance)
    reliability = measure_reliability(
        ds, predictions, held_out, source="held-out images", checkpoint_map50=provenance.val_map50
    )
    return WeakRun(predictions, provenance, reliability)


# ---------------------------------------------------------------------- report


def goals(real: dict, weak: dict | None) -> dict:
    """The issue's goals, each true/false (None: not measured)."""
    ours, cl = real["ours"], real["cleanlab"]
    ratio = None
    if cl.get("available"):
        ratio = round(ours["image_level"]["average_precision"] / max(cl["image_level"]["average_precision"], 1e-9), 3)
    return {
        "image_ap_ratio": ratio,
        "image_ap_1_5x_cleanlab": None if ratio is None else ratio >= 1.5,
        "instance_precision_at_k_0_8": ours["instance_level"]["all_kinds"]["precision"] >= 0.8,
        "weak_model_zero_likely": None if weak is None else weak["ours"]["likely"] == 0,
        "weak_model_not_reliable": None if weak is None else not weak["model"]["judges_reliably"],
    }


def _print(name: str, res: dict, k_images: int) -> None:
    m = res["model"]
    print(
        f"-- {name}: mAP50 {m['mAP50']} ({m['source']}, {m['images']} images), judges_reliably {m['judges_reliably']}"
    )
    o = res["ours"]
    print(
        f"ours: {o['suspects']} suspects, {o['likely']} likely (precision {o['likely_precision']:.3f}), "
        f"{o['in_sample']} in sample"
    )
    for kind, r in o["instance_level"].items():
        print(f"ours, instances, {kind:<14} top-{r['k']}: precision {r['precision']:.3f} recall {r['recall']:.3f}")
    i = o["image_level"]
    print(
        f"ours, images, top-{k_images}: precision {i['precision']:.3f} AP {i['average_precision']:.3f}; "
        f"likely: {i['flagged']} images, precision {i['flagged_precision']:.3f} recall {i['flagged_recall']:.3f}"
    )
    if not res["cleanlab"]["available"]:
        print(f"cleanlab: {res['cleanlab']['reason']}")
        return
    c = res["cleanlab"]["image_level"]
    print(
        f"cleanlab, images, top-{k_images}: precision {c['precision']:.3f} AP {c['average_precision']:.3f}; "
        f"its own flags: {c['flagged']} images, precision {c['flagged_precision']:.3f} recall {c['flagged_recall']:.3f}"
    )


@dataclass
class WeakRun:
    """The weak model's predictions, what it trained on, and its measured reliability."""

    predictions: dict[Path, list[Prediction]]
    provenance: Provenance
    reliability: ModelReliability
    seconds: float = 0.0


def evaluate(bench: Bench, ds: Dataset, predictions: dict[Path, list[Prediction]], weak: WeakRun | None = None) -> dict:
    """Every figure of the JSON line but the training's: the out-of-sample predictions judged by
    our QC (measured as k-fold QC measures them) and by cleanlab, the weak model's, and the goals."""
    result: dict = {
        "n_images": len(bench.names),
        "n_instances": sum(len(t) for t in bench.truth),
        "injected": {k: sum(m.kind == k for m in bench.mistakes) for k in MISTAKE_KINDS},
        "images_with_mistakes": len(bench.bad_images),
    }
    reliability = measure_reliability(ds, predictions, ds.records, source="k-fold")
    result["out_of_sample"] = score(bench, ds, predictions, reliability, OUT_OF_SAMPLE)
    if weak is not None:
        result["weak"] = score(bench, ds, weak.predictions, weak.reliability, weak.provenance)
        result["weak"]["seconds"] = round(weak.seconds, 1)
    result["goals"] = goals(result["out_of_sample"], result.get("weak"))
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="only the JSON line")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (cuda: larger defaults)")
    ap.add_argument("--images", type=int, help="default 96 (cpu), 400 (cuda)")
    ap.add_argument("--size", type=int, default=128, help="image side in pixels")
    ap.add_argument("--imgsz", type=int, help="training size (default: --size)")
    ap.add_argument("--k", type=int, default=2, help="folds")
    ap.add_argument("--epochs", type=int, help="fold model epochs (default 10 cpu, 40 cuda)")
    ap.add_argument("--weak-epochs", type=int, default=1, help="the weak model's epochs")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=0.001)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-weak", action="store_true", help="skip the weak-model check")
    ap.add_argument("--out", help="keep the dataset and runs here (default: a temporary folder)")
    args = ap.parse_args(argv)
    gpu = args.device.startswith("cuda")
    args.images = args.images or (400 if gpu else 96)
    args.epochs = args.epochs or (40 if gpu else 10)
    args.imgsz = args.imgsz or args.size
    log = (lambda line: None) if args.json else (lambda line: print(line, flush=True))

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="qc_real_") as tmp:
        work = Path(args.out) if args.out else Path(tmp)
        bench = make_bench(work / "data", args.images, args.size, args.seed)
        ds = open_dataset(bench.data)
        log(
            f"{args.images} images, {sum(len(t) for t in bench.truth)} objects; injected "
            f"{len(bench.mistakes)} mistakes in {len(bench.bad_images)} images"
        )
        t = time.perf_counter()
        predictions, kfold = kfold_run(bench, ds, work / "runs", args, log)
        kfold["seconds"] = round(time.perf_counter() - t, 1)
        weak = None
        if not args.no_weak:
            t = time.perf_counter()
            weak = weak_run(bench, ds, work / "runs", args)
            weak.seconds = time.perf_counter() - t
        result = {"benchmark": "qc_real"} | evaluate(bench, ds, predictions, weak)
        result["settings"] = {
            k: getattr(args, k)
            for k in ("device", "size", "imgsz", "k", "epochs", "weak_epochs", "batch", "lr", "seed")
        }
        result["kfold"] = kfold
        result["seconds"] = round(time.perf_counter() - start, 1)
    if not args.json:
        n_bad = result["images_with_mistakes"]
        _print(f"k-fold ({args.k} folds, {args.epochs} epochs, out of sample)", result["out_of_sample"], n_bad)
        if weak is not None:
            _print(f"weak model ({args.weak_epochs} epoch(s), mostly in sample)", result["weak"], n_bad)
        print(f"goals: {result['goals']}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

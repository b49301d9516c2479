"""Label QC benchmark: do the injected mistakes come out on top, next to cleanlab?

A generated box dataset (default 300 images, 3 classes) gets 5 % of its instances'
classes swapped and 5 % of its instances deleted (missing labels), on top of the small
box jitter every human annotation has. A simulated detector then "looks at" the true
objects the way a decent, imperfect model does: it misses some (small ones more), jitters boxes, doubts
between classes with a calibrated posterior (so it is sometimes confidently wrong, but
no more often than its scores say), emits objectness x class probability per class
(so a doubtful object yields several class hypotheses, as per-class NMS does), and adds
false positives on background clutter. It never
sees the labels, so it cannot know which of them were tampered with.

Both methods get the same predictions. cleanlab flags images, not instances, so the
fair comparison is at image level: an image counts as a hit when it holds an injected
mistake, and each method's top K images are taken (K = images holding one). Our
instance-level figures (right kind, right line, right fix) are reported beside them.

    python benchmarks/qc.py [--json] [--images 300] [--seed 0]

The last printed line is one JSON object. cleanlab is optional (``pip install
cleanlab``); without it the JSON says so and only our figures are reported.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from workbench.core.annotation import Dataset, ImageRecord, Instance, Source  # noqa: E402
from workbench.core.prediction import Prediction  # noqa: E402
from workbench.qa.label_qc import Suspect, find_label_issues  # noqa: E402
from workbench.qa.qc_geometry import box_iou  # noqa: E402

CLASSES = ["car", "person", "bike"]
W, H = 640, 480
SWAP_RATE = 0.05
MISSING_RATE = 0.05


@dataclass(frozen=True)
class Detector:
    """How the simulated model behaves; both presets are calibrated, they differ in sureness."""

    objectness: tuple[float, float]  # Beta(a, b) of a true object's objectness (small ones x 0.8)
    class_doubt: float  # Dirichlet prior of the class posteriors: lower, a surer model
    miss: tuple[float, float] = (0.05, 0.15)  # P(missed) for large and small (< 60x60 px) objects
    false_positives: float = 0.6  # per image, scores ~ Beta(1.2, 6)


# "confident" is what a well-trained Faster R-CNN or YOLO looks like (most true objects
# above 0.95: cleanlab's threshold for overlooked and swapped boxes); "modest" is a model
# that rarely goes above 0.9, e.g. early in fine-tuning or on a hard domain.
REGIMES = {
    "confident": Detector(objectness=(30.0, 1.2), class_doubt=0.05),
    "modest": Detector(objectness=(8.0, 2.0), class_doubt=0.15),
}


@dataclass
class Scene:
    truth: list[tuple[np.ndarray, np.ndarray]]  # per image: (N, 4) boxes, (N,) classes
    labels: list[tuple[np.ndarray, np.ndarray]]  # what the annotators wrote (with mistakes)
    swaps: dict[tuple[int, int], int]  # (image, label index) -> the true class
    missing: dict[int, list[np.ndarray]]  # image -> true boxes left unlabeled
    predictions: list[list[Prediction]]  # filled per detector regime by ``predict``


def _objects(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """1-6 objects per image, overlapping a little at most (IoU < 0.3), of varied size."""
    boxes: list[np.ndarray] = []
    for _ in range(int(rng.integers(1, 7))):
        for _try in range(20):
            w, h = rng.uniform(30, 200), rng.uniform(30, 200)
            x, y = rng.uniform(0, W - w), rng.uniform(0, H - h)
            b = np.array([x, y, x + w, y + h])
            if not boxes or box_iou(b, np.array(boxes)).max() < 0.3:
                boxes.append(b)
                break
    return np.array(boxes).reshape(-1, 4), rng.integers(0, len(CLASSES), len(boxes))


def _jitter(rng: np.random.Generator, box: np.ndarray, frac: float) -> np.ndarray:
    size = np.array([box[2] - box[0], box[3] - box[1]] * 2)
    out = box + rng.normal(0, frac, 4) * size
    out[[0, 2]] = np.clip(np.sort(out[[0, 2]]), 0, W)
    out[[1, 3]] = np.clip(np.sort(out[[1, 3]]), 0, H)
    return out


def _detect(rng: np.random.Generator, det: Detector, boxes: np.ndarray, classes: np.ndarray) -> list[Prediction]:
    """The simulated model at conf 0.01, on the true objects of one image."""
    nc = len(CLASSES)
    out: list[Prediction] = []
    for box, cls in zip(boxes, classes, strict=True):
        small = (box[2] - box[0]) * (box[3] - box[1]) < 60 * 60
        if rng.random() < det.miss[1 if small else 0]:
            continue  # missed altogether
        objectness = rng.beta(*det.objectness) * (0.8 if small else 1.0)
        # A calibrated class posterior: with a Dirichlet(a) prior over posteriors, the posterior
        # given the true class is Dirichlet(a + e_true), so P(true = k | q) = q_k by Bayes.
        probs = rng.dirichlet(np.full(nc, det.class_doubt) + np.eye(nc)[cls])
        located = _jitter(rng, box, 0.04)
        for k in range(nc):
            s = float(objectness * probs[k])
            if s >= 0.01:
                out.append(Prediction(k, _jitter(rng, located, 0.01), s))
    for _ in range(int(rng.poisson(det.false_positives))):  # background clutter
        w, h = rng.uniform(20, 150), rng.uniform(20, 150)
        x, y = rng.uniform(0, W - w), rng.uniform(0, H - h)
        out.append(Prediction(int(rng.integers(0, nc)), [x, y, x + w, y + h], float(rng.beta(1.2, 6))))
    return out


def make_scene(n_images: int, seed: int) -> Scene:
    rng = np.random.default_rng(seed)
    truth = [_objects(rng) for _ in range(n_images)]
    flat = [(i, j) for i, (b, _) in enumerate(truth) for j in range(len(b))]
    picks = rng.permutation(len(flat))
    n_swap, n_missing = round(SWAP_RATE * len(flat)), round(MISSING_RATE * len(flat))
    swap_at = {flat[p] for p in picks[:n_swap]}
    drop_at = {flat[p] for p in picks[n_swap : n_swap + n_missing]}
    labels, swaps, missing = [], {}, {}
    for i, (boxes, classes) in enumerate(truth):
        lb, lc = [], []
        for j, (box, cls) in enumerate(zip(boxes, classes, strict=True)):
            if (i, j) in drop_at:
                missing.setdefault(i, []).append(box)
                continue
            c = int(cls)
            if (i, j) in swap_at:
                swaps[(i, len(lb))] = c
                c = int(rng.choice([k for k in range(len(CLASSES)) if k != cls]))
            lb.append(_jitter(rng, box, 0.02))  # every annotator's hand shakes a little
            lc.append(c)
        labels.append((np.array(lb).reshape(-1, 4), np.array(lc, dtype=np.int64)))
    return Scene(truth, labels, swaps, missing, [])


def predict(scene: Scene, det: Detector, seed: int) -> Scene:
    """The scene with this detector's predictions (its own random stream: labels stay the same)."""
    rng = np.random.default_rng([seed, 1])
    scene.predictions = [_detect(rng, det, b, c) for b, c in scene.truth]
    return scene


def as_dataset(scene: Scene) -> tuple[Dataset, dict[Path, list[Prediction]]]:
    root = Path("/bench")
    records = []
    for i, (boxes, classes) in enumerate(scene.labels):
        lf = root / "labels" / f"{i:04d}.txt"
        insts = [
            Instance(int(c), b, None, Source(lf, n + 1)) for n, (b, c) in enumerate(zip(boxes, classes, strict=True))
        ]
        records.append(ImageRecord(root / "images" / f"{i:04d}.jpg", "train", lf, True, W, H, insts))
    ds = Dataset(root, list(CLASSES), records)
    return ds, {r.path: p for r, p in zip(records, scene.predictions, strict=True)}


# ---------------------------------------------------------------------- scoring


def _image_index(s: Suspect) -> int:
    return int(Path(s.image).stem)


def instance_level(scene: Scene, suspects: list[Suspect]) -> dict[str, dict[str, float]]:
    """Per kind: precision and recall of our top-k suspects of that kind, k = injected of that kind."""
    out: dict[str, dict[str, float]] = {}
    swaps = [s for s in suspects if s.kind == "class_swap"][: len(scene.swaps)]
    hits = [s for s in swaps if (_image_index(s), s.instance) in scene.swaps]
    right_fix = sum(s.suggestion.value == scene.swaps[(_image_index(s), s.instance)] for s in hits)
    out["class_swap"] = _pr(len(hits), len(swaps), len(scene.swaps)) | {
        "right_class_suggested": round(right_fix / max(len(hits), 1), 3)
    }

    n_missing = sum(len(v) for v in scene.missing.values())
    adds = [s for s in suspects if s.kind == "missing_label"][:n_missing]
    found = _match_missing(scene, adds)
    out["missing_label"] = _pr(found, len(adds), n_missing)

    n_all = len(scene.swaps) + n_missing
    top = suspects[:n_all]
    top_hits = sum((_image_index(s), s.instance) in scene.swaps for s in top if s.kind == "class_swap")
    top_hits += _match_missing(scene, [s for s in top if s.kind == "missing_label"])
    out["all_kinds"] = _pr(top_hits, len(top), n_all)
    return out


def _match_missing(scene: Scene, adds: list[Suspect]) -> int:
    taken: set[tuple[int, int]] = set()
    for s in adds:
        i = _image_index(s)
        for j, box in enumerate(scene.missing.get(i, [])):
            if (i, j) not in taken and box_iou(np.array(s.suggestion.box), box)[0, 0] >= 0.5:
                taken.add((i, j))
                break
    return len(taken)


def _pr(hits: int, flagged: int, relevant: int) -> dict[str, float]:
    return {"precision": round(hits / max(flagged, 1), 3), "recall": round(hits / max(relevant, 1), 3), "k": relevant}


def image_level(ranking: list[int], bad: set[int], flagged: set[int] | None = None) -> dict[str, float]:
    """Top-K precision/recall (K = images holding a mistake), average precision, and the own flag set."""
    k = len(bad)
    top = ranking[:k]
    hits = sum(i in bad for i in top)
    res = _pr(hits, len(top), k)
    found, ap = 0, 0.0
    for rank, i in enumerate(ranking, 1):
        if i in bad:
            found += 1
            ap += found / rank
    res["average_precision"] = round(ap / max(k, 1), 3)
    if flagged is not None:
        res["flagged"] = len(flagged)
        res["flagged_precision"] = round(len(flagged & bad) / max(len(flagged), 1), 3)
        res["flagged_recall"] = round(len(flagged & bad) / max(k, 1), 3)
    return res


def our_image_ranking(suspects: list[Suspect], n_images: int) -> list[int]:
    best = np.zeros(n_images)
    for s in suspects:
        i = _image_index(s)
        best[i] = max(best[i], s.score)
    return [int(i) for i in np.argsort(-best, kind="stable")]


def cleanlab_inputs(scene: Scene) -> tuple[list[dict], list[list[np.ndarray]]]:
    return cleanlab_format(scene.labels, scene.predictions, len(CLASSES))


def cleanlab_format(
    labels: list[tuple[np.ndarray, np.ndarray]], predictions: list[list[Prediction]], nc: int
) -> tuple[list[dict], list[list[np.ndarray]]]:
    """Per image (boxes, classes) and predictions as cleanlab's object detection takes them:
    a dict of ``bboxes``/``labels``, and per class an (M, 5) array of ``xyxy, score``."""
    cl_labels = [{"bboxes": b.astype(np.float64), "labels": c.astype(np.int64)} for b, c in labels]
    preds = []
    for image_preds in predictions:
        per_class = []
        for k in range(nc):
            rows = [[*p.box, p.score] for p in image_preds if p.class_id == k]
            per_class.append(np.array(rows, dtype=np.float32).reshape(-1, 5))
        preds.append(per_class)
    return cl_labels, preds


def run_cleanlab(scene: Scene) -> tuple[list[int], set[int], float] | str:
    """cleanlab's image ranking (worst quality first), its own flagged set, and its time; or why not."""
    return cleanlab_ranking(*cleanlab_inputs(scene))


def cleanlab_ranking(labels: list[dict], preds: list[list[np.ndarray]]) -> tuple[list[int], set[int], float] | str:
    """``run_cleanlab`` on inputs already in cleanlab's format (``cleanlab_format``)."""
    try:
        from cleanlab.object_detection.filter import find_label_issues as cl_find
        from cleanlab.object_detection.rank import get_label_quality_scores
    except ImportError as e:
        return f"cleanlab not installed ({e}); pip install -e '.[bench]'"
    t = time.perf_counter()
    quality = get_label_quality_scores(labels, preds, verbose=False)
    mask = cl_find(labels, preds)
    elapsed = time.perf_counter() - t
    ranking = [int(i) for i in np.argsort(quality, kind="stable")]
    return ranking, {int(i) for i in np.flatnonzero(mask)}, elapsed


def evaluate(scene: Scene) -> dict:
    """Ours and cleanlab's figures on the scene's current predictions."""
    ds, predictions = as_dataset(scene)
    n = len(scene.labels)
    t = time.perf_counter()
    suspects = find_label_issues(ds, predictions)
    ours_s = time.perf_counter() - t
    bad = {i for i, _ in scene.swaps} | set(scene.missing)
    res: dict = {
        "ours": {
            "instance_level": instance_level(scene, suspects),
            "image_level": image_level(
                our_image_ranking(suspects, n), bad, {_image_index(s) for s in suspects if s.score >= 0.5}
            ),
            "seconds": round(ours_s, 3),
        }
    }
    cl = run_cleanlab(scene)
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


def _print_regime(name: str, res: dict, n_bad: int) -> None:
    print(f"-- detector '{name}'")
    for kind, r in res["ours"]["instance_level"].items():
        print(f"ours, instances, {kind:<13} top-{r['k']}: precision {r['precision']:.3f} recall {r['recall']:.3f}")
    o = res["ours"]["image_level"]
    print(
        f"ours, images, top-{n_bad}: precision {o['precision']:.3f} recall {o['recall']:.3f} "
        f"AP {o['average_precision']:.3f}; score >= 0.5: {o['flagged']} images, precision "
        f"{o['flagged_precision']:.3f} recall {o['flagged_recall']:.3f} ({res['ours']['seconds']:.2f} s)"
    )
    if not res["cleanlab"]["available"]:
        print(f"cleanlab: {res['cleanlab']['reason']}")
        return
    c = res["cleanlab"]["image_level"]
    print(
        f"cleanlab, images, top-{n_bad}: precision {c['precision']:.3f} recall {c['recall']:.3f} "
        f"AP {c['average_precision']:.3f}; its own flags: {c['flagged']} images, precision "
        f"{c['flagged_precision']:.3f} recall {c['flagged_recall']:.3f} ({res['cleanlab']['seconds']:.2f} s)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="only the JSON line")
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--detector", choices=[*REGIMES, "all"], default="all", help="which simulated model")
    args = ap.parse_args(argv)

    scene = make_scene(args.images, args.seed)
    bad = {i for i, _ in scene.swaps} | set(scene.missing)
    result: dict = {
        "n_images": args.images,
        "n_instances": int(sum(len(b) for b, _ in scene.truth)),
        "injected": {"class_swap": len(scene.swaps), "missing_label": sum(len(v) for v in scene.missing.values())},
        "images_with_mistakes": len(bad),
        "seed": args.seed,
        "detectors": {},
    }
    if not args.json:
        print(
            f"{args.images} images, {result['n_instances']} objects; injected {result['injected']} in {len(bad)} images"
        )
    for name, det in REGIMES.items():
        if args.detector in (name, "all"):
            res = evaluate(predict(scene, det, args.seed))
            result["detectors"][name] = res
            if not args.json:
                _print_regime(name, res, len(bad))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

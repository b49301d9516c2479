"""Which dataset class each class of a model means: matched by name, or as the user maps them.

A model's class id 2 means whatever its checkpoint's third class name is. Before any
prediction is drawn, accepted as a label, judged by QC or scored by eval, it must speak
the dataset's ids: the same names in another order are remapped silently, anything else
is refused with both lists unless the user says how the names correspond (``--class-map``
on the CLI, a dialog in the GUI). Keypoints are compared the same way, by name, but a
different number of keypoints cannot be mapped: such a model is refused.

One module for every caller (CLI, GUI, QC), free of Qt and torch, so the rule is the
same everywhere and tested without either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from workbench.core.keypoints import KeypointSchema
from workbench.core.prediction import Prediction

IGNORE = "ignore"  # a class-map target: drop this checkpoint class's predictions
CLI_HINT = "map them with --class-map CKPT_NAME=DATASET_NAME,... (or CKPT_NAME=ignore)"
_GENERIC_KEYPOINT = re.compile(r"(kp)?\d+")


class ClassMatchError(ValueError):
    """A model whose classes or keypoints do not fit the dataset; the message names both lists."""


def names_list(names: Sequence[str], limit: int = 12) -> str:
    """``[face, hand, robot]``, cut after ``limit`` names (an 80-class list would fill a screen)."""
    shown = ", ".join(str(n) for n in names[:limit])
    more = f", ... {len(names) - limit} more" if len(names) > limit else ""
    return f"[{shown}{more}]"


@dataclass(frozen=True)
class ClassMapping:
    """Per checkpoint class id, the dataset class id it becomes (None: its predictions are dropped).

    ``keypoint_order[j]`` is the checkpoint's index of the dataset's keypoint ``j`` (None:
    the keypoints are taken in the checkpoint's order).
    """

    model_classes: tuple[str, ...]
    dataset_classes: tuple[str, ...]
    targets: tuple[int | None, ...]
    keypoint_order: tuple[int, ...] | None = None

    @property
    def is_identity(self) -> bool:
        return self.keypoint_order is None and self.targets == tuple(range(len(self.model_classes)))

    def key(self) -> tuple[object, ...]:
        """Hashable identity, for caches of mapped predictions."""
        return (self.targets, self.keypoint_order)

    def apply(self, predictions: Iterable[Prediction]) -> list[Prediction]:
        """The predictions in the dataset's class ids (and keypoint order); ignored classes dropped.

        New Prediction objects: a cache of the model's own output stays as the model said it.
        The identity changes nothing and passes the predictions through as they are.
        """
        if self.is_identity:
            return list(predictions)
        out = []
        for p in predictions:
            cid = int(p.class_id)
            target = self.targets[cid] if 0 <= cid < len(self.targets) else None
            if target is None:
                continue
            kps = p.keypoints
            if kps is not None and self.keypoint_order is not None and len(kps) == len(self.keypoint_order):
                kps = kps[list(self.keypoint_order)]
            out.append(Prediction(target, np.array(p.box), float(p.score), None if kps is None else np.array(kps)))
        return out

    def apply_all(self, by_image: Mapping[object, list[Prediction]]) -> dict[object, list[Prediction]]:
        return {k: self.apply(v) for k, v in by_image.items()}

    def describe(self) -> str:
        """What the mapping does, for a note on stderr or a tooltip ("" when it changes nothing)."""
        if self.is_identity:
            return ""
        parts = []
        for name, t in zip(self.model_classes, self.targets, strict=True):
            if t is None:
                parts.append(f"{name} ignored")
            elif self.dataset_classes[t] != name:
                parts.append(f"{name} -> {self.dataset_classes[t]}")
        if not parts and self.targets != tuple(range(len(self.model_classes))):
            parts.append("classes reordered by name")
        if self.keypoint_order is not None:
            parts.append("keypoints reordered by name")
        return ", ".join(parts)


def parse_class_map(text: str, option: str = "--class-map") -> dict[str, str]:
    """``face=person,hand=ignore`` as a dict; a malformed entry is a ClassMatchError saying which."""
    out: dict[str, str] = {}
    for entry in text.split(","):
        entry = entry.strip()
        if not entry:
            continue
        name, sep, target = (part.strip() for part in entry.partition("="))
        if not sep or not name or not target:
            raise ClassMatchError(
                f"{option} {text}: '{entry}' is not CKPT_NAME=DATASET_NAME (e.g. face=person, or hand=ignore)"
            )
        if name in out and out[name] != target:
            raise ClassMatchError(f"{option} {text}: '{name}' is mapped twice ({out[name]} and {target})")
        out[name] = target
    if not out:
        raise ClassMatchError(f"{option} {text!r}: no CKPT_NAME=DATASET_NAME pairs")
    return out


def match_classes(
    model_classes: Sequence[str],
    dataset_classes: Sequence[str],
    class_map: Mapping[str, str] | None = None,
    *,
    model_keypoints: KeypointSchema | None = None,
    dataset_keypoints: KeypointSchema | None = None,
    checkpoint: str = "the checkpoint",
    dataset: str = "the dataset",
    hint: str = CLI_HINT,
    option: str = "--class-map",
) -> ClassMapping:
    """How the checkpoint's predictions become the dataset's ids, or ClassMatchError.

    Without ``class_map`` only the same set of names is accepted (any order). With it,
    each named checkpoint class goes to the named dataset class (or ``ignore``); a class
    it leaves out keeps a dataset class of the same name, else is ignored. ``checkpoint``
    and ``dataset`` name the files in the messages; ``hint`` says how to map.
    """
    model = tuple(str(c) for c in model_classes)
    data = tuple(str(c) for c in dataset_classes)
    order = match_keypoints(model_keypoints, dataset_keypoints, checkpoint=checkpoint, dataset=dataset)
    index = {name: i for i, name in enumerate(data)}
    if class_map is None:
        if len(set(model)) == len(model) and sorted(model) == sorted(data):
            return ClassMapping(model, data, tuple(index[n] for n in model), order)
        raise ClassMatchError(_mismatch(model, data, checkpoint, dataset, hint))
    for name, target in class_map.items():
        if name not in model:
            raise ClassMatchError(
                f"{option}: '{name}' is not a class of {checkpoint}; its classes are {names_list(model)}"
            )
        if target != IGNORE and target not in index:
            raise ClassMatchError(
                f"{option}: '{name}={target}': '{target}' is not a class of {dataset}; its classes are "
                f"{names_list(data)} (or use {name}={IGNORE})"
            )
    targets = tuple(
        (None if class_map[n] == IGNORE else index[class_map[n]]) if n in class_map else index.get(n) for n in model
    )
    if all(t is None for t in targets):
        raise ClassMatchError(
            f"{option}: every class of {checkpoint} {names_list(model)} is ignored; map at least one to "
            f"a class of {dataset} {names_list(data)}"
        )
    return ClassMapping(model, data, targets, order)


def _mismatch(model: tuple[str, ...], data: tuple[str, ...], checkpoint: str, dataset: str, hint: str) -> str:
    unknown = [n for n in data if n not in model]
    extra = [n for n in model if n not in data]
    why = []
    if unknown:
        why.append(f"the model cannot see {names_list(unknown)}")
    if extra:
        why.append(f"the dataset has no {names_list(extra)}")
    if not why:  # same names, one repeated
        why.append("a class name is repeated")
    return (
        f"{checkpoint}: checkpoint classes {names_list(model)} do not match the dataset's {names_list(data)} "
        f"({dataset}): {'; '.join(why)}; {hint}, or use a model trained on this dataset"
    )


def _generic(names: Sequence[str]) -> bool:
    """Names a reader made up (kp0, kp1... or 0, 1...): they say nothing about which point is which."""
    return all(_GENERIC_KEYPOINT.fullmatch(str(n)) for n in names)


def match_keypoints(
    model: KeypointSchema | None,
    data: KeypointSchema | None,
    *,
    checkpoint: str = "the checkpoint",
    dataset: str = "the dataset",
) -> tuple[int, ...] | None:
    """The checkpoint index of each dataset keypoint (None: same order), or ClassMatchError.

    Only a keypoint model on a keypoint dataset is compared. A different count is refused
    (no mapping can invent a point); the same names in another order are reordered; other
    names are refused unless one side has only made-up names (kp0, kp1...), taken by position.
    """
    if model is None or data is None:
        return None
    m, d = list(model.names), list(data.names)
    if len(m) != len(d):
        raise ClassMatchError(
            f"{checkpoint}: the checkpoint predicts {len(m)} keypoints {names_list(m)} but {dataset} has "
            f"{len(d)} {names_list(d)}; keypoints cannot be mapped: use a model trained on this "
            "dataset's keypoints"
        )
    if m == d or _generic(m) or _generic(d):
        return None
    if len(set(m)) == len(m) and sorted(m) == sorted(d):
        return tuple(m.index(n) for n in d)
    raise ClassMatchError(
        f"{checkpoint}: checkpoint keypoints {names_list(m)} do not match the dataset's {names_list(d)} "
        f"({dataset}); use a model trained on this dataset's keypoints (or give the dataset's "
        "kpt_names the checkpoint's names if they are the same points in the same order)"
    )

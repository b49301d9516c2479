"""The one-click fix of a label QC suspect, as data: the image's new instance list and a title.

``label_qc`` says what the model would change (``Suspect.suggestion``); this turns that
into the labels after the change, without touching the record, so the GUI can wrap
the before/after lists in one undoable command and a headless caller can simply
``rec.set_instances`` the result. It refuses (``StaleSuspect``) when the labels no
longer look like what QC judged, rather than editing the wrong instance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.qa.label_qc import Suspect, _kp_name, class_label


class StaleSuspect(ValueError):
    """The suspect's instance or keypoint is not there any more: judge the image again."""


@dataclass
class QCFix:
    """What a fix does (``title``, for the undo history and the button) and the labels after it."""

    title: str
    instances: list[Instance]


def fix_for(ds: Dataset, rec: ImageRecord, suspect: Suspect) -> QCFix:
    """The suggestion of ``suspect`` applied to copies of ``rec``'s labels.

    ``set_class`` sets the class, ``set_box`` takes the model's box (clipped to the
    image), ``move_keypoint`` swaps the point with its mirror twin when the evidence
    says left and right are swapped (both move, as the canvas' swap does) and moves it
    to the model's place otherwise, ``delete_instance`` drops the label and
    ``add_instance`` appends the model's object.
    """
    s = suspect.suggestion
    action = s.get("action")
    after = [inst.copy() for inst in rec.ensure_loaded().instances]
    if action == "add_instance":
        inst = Instance(int(s["class_id"]), _clipped(s["box"], rec), _label_points(ds, s.get("keypoints")))
        return QCFix(f"Add the missing {class_label(ds, inst.class_id)}", after + [inst])
    i = suspect.instance
    if i is None or not 0 <= i < len(after):
        raise StaleSuspect(f"{suspect.location()}: instance {i} is not in {rec.path.name} any more")
    inst = after[i]
    if action == "set_class":
        inst.class_id = int(s["value"])
        return QCFix(f"Set class to {class_label(ds, inst.class_id)}", after)
    if action == "set_box":
        inst.box = _clipped(s["box"], rec)
        return QCFix("Move the box to the model's", after)
    if action == "delete_instance":
        del after[i]
        return QCFix(f"Delete the {class_label(ds, inst.class_id)} label", after)
    if action == "move_keypoint":
        return _keypoint_fix(ds, suspect, inst, after)
    raise ValueError(f"{suspect.location()}: no fix for the suggestion {s!r}")


def _keypoint_fix(ds: Dataset, suspect: Suspect, inst: Instance, after: list[Instance]) -> QCFix:
    q = int(suspect.suggestion["keypoint"])
    kps = inst.keypoints
    if kps is None or not 0 <= q < len(kps):
        raise StaleSuspect(f"{suspect.location()}: the label has no keypoint {q} any more")
    xy = np.asarray(suspect.suggestion["xy"], dtype=np.float64)
    twin = suspect.evidence.get("swapped_with")
    if twin is not None and 0 <= int(twin) < len(kps) and int(twin) != q:
        t = int(twin)
        # A real mirror mix-up: the twin's label sits where the model puts q. Otherwise
        # (q alone was put on the twin's place) swapping would break the twin.
        if np.hypot(*(kps[t, :2] - xy)) < np.hypot(*(kps[q, :2] - xy)):
            kps[[q, t]] = kps[[t, q]]
            return QCFix(f"Swap {_point(ds, q)} and {_point(ds, t)}", after)
    kps[q, :2] = xy
    if kps[q, 2] == 0:
        kps[q, 2] = 2.0
    return QCFix(f"Move {_point(ds, q)} to the model's point", after)


def _clipped(box: object, rec: ImageRecord) -> np.ndarray:
    b = np.asarray(box, dtype=np.float64).reshape(4)
    if rec.width is not None and rec.height is not None:
        b = np.clip(b, 0, [rec.width, rec.height, rec.width, rec.height])
    return b


def _label_points(ds: Dataset, points: object) -> np.ndarray | None:
    """The suggestion's label points when the dataset has keypoints of that count, else none."""
    if points is None or ds.keypoints is None:
        return None
    kps = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    return kps if len(kps) == ds.keypoints.num_keypoints else None


def _point(ds: Dataset, q: int) -> str:
    return _kp_name(ds.keypoints, q) if ds.keypoints is not None else f"keypoint {q}"

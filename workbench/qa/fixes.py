"""Applying fixes: the one place that says how each typed fix changes a record.

``apply_fix(ds, rec, fix)`` (``apply_fixes`` for several fixes of one image) leaves
the record alone and returns a :class:`FixEdit`, the record's labels before and after.
``validate --fix`` calls ``edit.apply()``; the GUI wraps the same edit in one undo
command (redo applies, undo reverts), for a finding's quick fix and a QC suspect's
one-click fix alike, so the three can never disagree about what a fix does.

Safe fixes are the ones whose result is certain: clipping a box to its image,
dropping a box with no area or an exact duplicate, taking the image's own size over
a wrong declared one. ``apply_safe_fixes`` applies those without asking; anything that
needs a guess (which class a wrong id meant, where a keypoint belongs) is the user's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.core.arrays import clip_box
from workbench.core.findings import Finding
from workbench.core.fix_actions import (
    AddInstance,
    ClipBox,
    DeleteInstance,
    DeleteLine,
    FitBoxToKeypoints,
    FixAction,
    MarkKeypointMissing,
    MoveKeypoint,
    SetBox,
    SetClass,
    SetVisibility,
    TakeImageSize,
)
from workbench.core.wording import count_noun, keypoint_label
from workbench.qa.label_qc import class_label
from workbench.qa.validate import validate_dataset, validate_record

# The reader's finding that TakeImageSize resolves (the size itself is already the image's).
_SIZE_MISMATCH = "image_size_mismatch"


class CannotFix(ValueError):
    """The fix cannot be applied to the record as it is now."""


class StaleFix(CannotFix):
    """The labels no longer hold what the fix was made for (an edit since): check the image again."""


class NotALabelFix(CannotFix):
    """The fix is no edit of the record's labels (``exclude_image``, ``set_nc``) or needs an answer first
    (``set_class`` naming no class)."""


@dataclass(frozen=True)
class LabelState:
    """Everything a fix can change on a record: its instances, its unparsed lines, the reader's findings."""

    instances: tuple[Instance, ...]
    extra_lines: tuple[str, ...]
    findings: tuple[Finding, ...]

    @classmethod
    def of(cls, rec: ImageRecord) -> LabelState:
        """A snapshot of ``rec`` that later edits of the record (a canvas drag) cannot change."""
        rec.ensure_loaded()
        return cls(tuple(i.copy() for i in rec.instances), tuple(rec.extra_lines), tuple(rec.findings))

    def install(self, rec: ImageRecord) -> None:
        """Make ``rec`` hold this state (copies: the snapshot stays intact); marks it dirty for saving."""
        rec.set_instances([i.copy() for i in self.instances])
        rec.extra_lines = list(self.extra_lines)
        rec.findings = list(self.findings)


@dataclass(frozen=True, eq=False)
class FixEdit:
    """A fix worked out on one record: ``apply`` installs ``after``, ``revert`` puts ``before`` back.

    ``title`` names it for the undo history and the fix buttons; ``applied`` holds the
    fixes that changed something, in order (one of several fixes of the same instance
    is skipped once another deleted it).
    """

    record: ImageRecord
    title: str
    before: LabelState
    after: LabelState
    applied: tuple[FixAction, ...] = field(default=())

    def apply(self) -> None:
        self.after.install(self.record)

    def revert(self) -> None:
        # Dirty either way: the file on disk may already hold ``after`` (saved in between).
        self.before.install(self.record)


@dataclass
class _Work:
    """The labels being fixed; a deleted instance leaves ``None`` so later indices of a batch still hold."""

    instances: list[Instance | None]
    extra_lines: list[str]
    findings: list[Finding]

    def instance(self, fix: FixAction) -> Instance:
        i = fix.target
        if i is None or not 0 <= i < len(self.instances) or self.instances[i] is None:
            raise StaleFix(f"instance {i} is not there any more (the image has {self.count()} labels)")
        inst = self.instances[i]
        assert inst is not None
        return inst

    def count(self) -> int:
        return sum(1 for i in self.instances if i is not None)


def apply_fix(ds: Dataset, rec: ImageRecord, fix: FixAction) -> FixEdit:
    """The edit ``fix`` makes on ``rec``, worked out on copies (``rec`` is not touched).

    Raises ``StaleFix`` when the labels no longer hold what the fix was made for and
    ``NotALabelFix`` for a fix that is no label edit.
    """
    return apply_fixes(ds, rec, [fix])


def apply_fixes(ds: Dataset, rec: ImageRecord, fixes: Sequence[FixAction]) -> FixEdit:
    """Several fixes of one record as one edit; instance indices are those of ``rec`` before any of them.

    A fix of an instance that an earlier fix of the batch deleted is skipped (a box
    both clipped and deleted ends up deleted, whatever the order).
    """
    before = LabelState.of(rec)
    work = _Work(list(i.copy() for i in before.instances), list(before.extra_lines), list(before.findings))
    titles: list[str] = []
    applied: list[FixAction] = []
    for fix in fixes:
        t = fix.target
        if t is not None and 0 <= t < len(work.instances) and work.instances[t] is None:
            continue
        apply_one = _APPLY.get(type(fix))
        if apply_one is None:
            raise NotALabelFix(f"'{fix.action}' is not an edit of the image's labels")
        titles.append(apply_one(ds, rec, work, fix))
        applied.append(fix)
    after = LabelState(tuple(i for i in work.instances if i is not None), tuple(work.extra_lines), tuple(work.findings))
    title = titles[0] if len(titles) == 1 else f"Apply {count_noun(len(titles), 'fix', 'fixes')}"
    return FixEdit(rec, title, before, after, tuple(applied))


# --------------------------------------------------------------------------- one action each


def _clip_box(ds: Dataset, rec: ImageRecord, work: _Work, fix: ClipBox) -> str:
    inst = work.instance(fix)
    if rec.width is None or rec.height is None:
        raise StaleFix("the image's size is unknown: there is nothing to clip the box to")
    inst.box = clip_box(inst.box, rec.width, rec.height)
    return "Clip box to image"


def _delete_instance(ds: Dataset, rec: ImageRecord, work: _Work, fix: DeleteInstance) -> str:
    inst = work.instance(fix)
    work.instances[fix.instance] = None
    return f"Delete the {class_label(ds, inst.class_id)} label"


def _set_class(ds: Dataset, rec: ImageRecord, work: _Work, fix: SetClass) -> str:
    inst = work.instance(fix)
    if fix.value is None:
        raise NotALabelFix("say which class the instance should have")
    inst.class_id = int(fix.value)
    return f"Set class to {class_label(ds, inst.class_id)}"


def _set_box(ds: Dataset, rec: ImageRecord, work: _Work, fix: SetBox) -> str:
    # The box only: keypoints are in image coordinates and stay where the annotator put them
    # (a shifted box over correct landmarks must not drag them along).
    work.instance(fix).box = clip_box(fix.box, rec.width, rec.height)
    return fix.title


def _keypoints(work: _Work, fix: MarkKeypointMissing | SetVisibility | MoveKeypoint) -> np.ndarray:
    kps = work.instance(fix).keypoints
    if kps is None or not 0 <= fix.keypoint < len(kps):
        raise StaleFix(f"the label has no {keypoint_label(fix.keypoint)} any more")
    return kps


def _mark_keypoint_missing(ds: Dataset, rec: ImageRecord, work: _Work, fix: MarkKeypointMissing) -> str:
    _keypoints(work, fix)[fix.keypoint] = 0.0
    return f"Mark {_point(ds, fix.keypoint)} missing"


def _set_visibility(ds: Dataset, rec: ImageRecord, work: _Work, fix: SetVisibility) -> str:
    _keypoints(work, fix)[fix.keypoint, 2] = float(fix.value)
    return f"Set {_point(ds, fix.keypoint)} visibility"


def _move_keypoint(ds: Dataset, rec: ImageRecord, work: _Work, fix: MoveKeypoint) -> str:
    kps = _keypoints(work, fix)
    q, t = fix.keypoint, fix.swapped_with
    xy = np.asarray(fix.xy, dtype=np.float64)
    # A real mirror mix-up: the twin's label sits where the model puts q. Otherwise (q
    # alone was put on the twin's place) swapping would break the twin, so q just moves.
    if t is not None and 0 <= t < len(kps) and t != q and np.hypot(*(kps[t, :2] - xy)) < np.hypot(*(kps[q, :2] - xy)):
        kps[[q, t]] = kps[[t, q]]
        return f"Swap {_point(ds, q)} and {_point(ds, t)}"
    kps[q, :2] = xy
    if kps[q, 2] == 0:
        kps[q, 2] = 2.0
    return f"Move {_point(ds, q)} to the model's point"


def _add_instance(ds: Dataset, rec: ImageRecord, work: _Work, fix: AddInstance) -> str:
    points = None
    if fix.keypoints is not None and ds.keypoints is not None:
        kps = np.asarray(fix.keypoints, dtype=np.float64).reshape(-1, 3)
        points = kps if len(kps) == ds.keypoints.num_keypoints else None  # another schema: box only
    inst = Instance(int(fix.class_id), clip_box(fix.box, rec.width, rec.height), points)
    work.instances.append(inst)
    return f"Add the missing {class_label(ds, inst.class_id)}"


def _delete_line(ds: Dataset, rec: ImageRecord, work: _Work, fix: DeleteLine) -> str:
    if fix.text not in work.extra_lines:
        raise StaleFix(f"the line '{fix.text[:40]}' is not in the label file any more")
    work.extra_lines.remove(fix.text)
    return f"Delete line '{fix.text[:40]}'"


def _take_image_size(ds: Dataset, rec: ImageRecord, work: _Work, fix: TakeImageSize) -> str:
    if rec.width is None or rec.height is None or not any(f.kind == _SIZE_MISMATCH for f in work.findings):
        raise StaleFix("no declared size disagrees with the image any more")
    # The reader already took the image's size; without the finding, saving writes it.
    work.findings = [f for f in work.findings if f.kind != _SIZE_MISMATCH]
    return f"Take the image's size ({rec.width}x{rec.height})"


def _point(ds: Dataset, q: int) -> str:
    return keypoint_label(q, ds.keypoints.names if ds.keypoints is not None else None)


_APPLY: dict[type, Callable[[Dataset, ImageRecord, _Work, Any], str]] = {
    ClipBox: _clip_box,
    DeleteInstance: _delete_instance,
    SetClass: _set_class,
    SetBox: _set_box,
    FitBoxToKeypoints: _set_box,
    MarkKeypointMissing: _mark_keypoint_missing,
    SetVisibility: _set_visibility,
    MoveKeypoint: _move_keypoint,
    AddInstance: _add_instance,
    DeleteLine: _delete_line,
    TakeImageSize: _take_image_size,
}


# --------------------------------------------------------------------------- validate --fix


def is_safe_fix(f: Finding) -> bool:
    return f.fix is not None and f.fix.safe


def apply_safe_fixes(ds: Dataset, findings: list[Finding] | None = None) -> list[str]:
    """Apply the safe fixes among ``findings`` (default: all of them) to the records in memory.

    Each affected record is re-checked first and only fixes that still apply are made,
    so a stale list (findings from before an edit, or from the cache) cannot delete the
    wrong instance. Changed records are marked dirty; save with
    ``workbench.formats.save_dataset``. Returns one line per change.
    """
    if findings is None:
        findings = validate_dataset(ds)
    wanted: dict[str, set[tuple[str, int | None]]] = {}
    for f in findings:
        if is_safe_fix(f) and f.image is not None:
            wanted.setdefault(f.image, set()).add((f.kind, f.instance))
    if not wanted:
        return []
    changes: list[str] = []
    for rec in ds.records:
        image = ds.rel(rec.path)
        if image not in wanted:
            continue
        fresh = [f for f in validate_record(ds, rec) if is_safe_fix(f) and (f.kind, f.instance) in wanted[image]]
        changes.extend(_fix_record(ds, rec, fresh))
    return changes


def _fix_record(ds: Dataset, rec: ImageRecord, found: list[Finding]) -> list[str]:
    """Apply the fixes of ``found`` to ``rec`` as one edit; one report line per fix that changed something."""
    if not found:
        return []
    found = sorted(found, key=lambda f: (not isinstance(f.fix, TakeImageSize), f.instance or 0, f.kind))
    edit = apply_fixes(ds, rec, [f.fix for f in found if f.fix is not None])
    edit.apply()
    done = {id(fix) for fix in edit.applied}
    return [_report(ds, rec, f) for f in found if id(f.fix) in done]


def _report(ds: Dataset, rec: ImageRecord, f: Finding) -> str:
    where = f.location() or (ds.rel(rec.path) or "")
    if isinstance(f.fix, TakeImageSize):
        return f"{ds.rel(rec.path)}: size set to the image's {rec.width}x{rec.height}"
    if isinstance(f.fix, ClipBox):
        return f"{where}: clipped box to the {rec.width}x{rec.height} image"
    return f"{where}: deleted {_why(f)}"


def _why(f: Finding) -> str:
    return {
        "degenerate_box": "box with no area",
        "box_outside_image": "box lying entirely outside the image",
        "duplicate": "exact duplicate box",
    }.get(f.kind, f.kind.replace("_", " "))

"""The fix a finding or a QC suspect proposes, as a typed value.

A fix is data, not code: the reader, a check or label QC says *what* would repair a
problem (``ClipBox(instance=3)``), and ``workbench.qa.fixes.apply_fix`` is the one
place that says *how*, for ``validate --fix``, the findings panel's quick fixes and
label QC's one-click fixes alike. The values live here, beside ``Finding``, because
the readers in ``formats`` make some of them and may not import ``qa``.

Each action is a frozen dataclass (hashable, so findings and suspects stay
comparable). ``safe`` says whether ``validate --fix`` may apply it without asking:
only fixes whose result is certain are. ``to_dict``/``fix_from_dict`` give the JSON
shape of ``workbench validate --json`` and of the validation cache: ``action``, the
action's arguments, ``safe`` when true, and never ``instance`` (the finding around the
fix already names it). ``needs_confirmation`` is the one rule for which fixes the GUI
asks about first (those that delete a label or add one on a model's word).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

_ACTIONS: dict[str, type[FixAction]] = {}


class FixAction:
    """Base of every fix: its ``action`` name (the JSON key) and whether it is ``safe``."""

    action: ClassVar[str] = ""
    title: ClassVar[str] = ""  # the quick-fix button's words (the undo history names the edit itself)
    safe: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.action:
            _ACTIONS[cls.action] = cls

    @property
    def target(self) -> int | None:
        """The instance the fix acts on (None: the image, a line or the dataset config)."""
        return getattr(self, "instance", None)

    def to_dict(self) -> dict[str, Any]:
        """``{"action": ..., arguments..., "safe": True}``; unset optional arguments are left out."""
        out: dict[str, Any] = {"action": self.action}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if f.name in ("instance", "safe") or value is None:
                continue
            out[f.name] = _listed(value)
        if self.safe:
            out["safe"] = True
        return out


@dataclass(frozen=True)
class ClipBox(FixAction):
    """Clip the box to the image bounds: the part inside is what the annotator meant."""

    action: ClassVar[str] = "clip_box"
    title: ClassVar[str] = "Clip the box to the image"
    safe: ClassVar[bool] = True
    instance: int


@dataclass(frozen=True)
class DeleteInstance(FixAction):
    """Remove the instance; ``duplicate_of``: the index of the instance it repeats."""

    action: ClassVar[str] = "delete_instance"
    title: ClassVar[str] = "Delete the instance"
    instance: int
    safe: bool = False
    duplicate_of: int | None = None


@dataclass(frozen=True)
class SetClass(FixAction):
    """Set the class id to ``value``; None: the user has to say which class."""

    action: ClassVar[str] = "set_class"
    title: ClassVar[str] = "Set the class…"
    instance: int
    value: int | None = None


@dataclass(frozen=True)
class SetBox(FixAction):
    """Replace the box by ``box`` (xyxy pixels; clipped to the image when applied)."""

    action: ClassVar[str] = "set_box"
    title: ClassVar[str] = "Move the box to the model's"
    instance: int
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class FitBoxToKeypoints(SetBox):
    """Move (or minimally grow) the box to ``box`` so it holds its visible keypoints: the keypoints
    agree with each other and the box is what is off. Only the box changes; the points stay put."""

    action: ClassVar[str] = "fit_box_to_keypoints"
    title: ClassVar[str] = "Move the box over its keypoints"


@dataclass(frozen=True)
class MarkKeypointMissing(FixAction):
    """Set keypoint ``keypoint`` to missing (``0, 0, 0``)."""

    action: ClassVar[str] = "mark_keypoint_missing"
    title: ClassVar[str] = "Mark the keypoint missing"
    instance: int
    keypoint: int


@dataclass(frozen=True)
class SetVisibility(FixAction):
    """Set keypoint ``keypoint``'s visibility to ``value`` (0 missing, 1 occluded, 2 visible)."""

    action: ClassVar[str] = "set_visibility"
    title: ClassVar[str] = "Set the keypoint visibility"
    instance: int
    keypoint: int
    value: int = 2


@dataclass(frozen=True)
class MoveKeypoint(FixAction):
    """Put keypoint ``keypoint`` at ``xy``; or, when ``swapped_with`` names its mirror twin and the
    twin's label sits there, swap the two (a left/right mix-up)."""

    action: ClassVar[str] = "move_keypoint"
    title: ClassVar[str] = "Move the keypoint to the model's"
    instance: int
    keypoint: int
    xy: tuple[float, float]
    swapped_with: int | None = None


@dataclass(frozen=True)
class AddInstance(FixAction):
    """Append a new instance (a label the model found missing); ``keypoints``: rows of ``x, y, v``."""

    action: ClassVar[str] = "add_instance"
    title: ClassVar[str] = "Add the missing label"
    class_id: int
    box: tuple[float, float, float, float]
    keypoints: tuple[tuple[float, float, float], ...] | None = None


@dataclass(frozen=True)
class DeleteLine(FixAction):
    """Remove the unparsable label line ``text`` (kept verbatim in ``rec.extra_lines``)."""

    action: ClassVar[str] = "delete_line"
    title: ClassVar[str] = "Delete the line"
    text: str


@dataclass(frozen=True)
class TakeImageSize(FixAction):
    """Write the image's own size over the size an annotation file declared for it."""

    action: ClassVar[str] = "take_image_size"
    title: ClassVar[str] = "Take the image's size"
    safe: ClassVar[bool] = True


@dataclass(frozen=True)
class ExcludeImage(FixAction):
    """Leave the image out of training (unreadable or unusable): not a label edit."""

    action: ClassVar[str] = "exclude_image"


@dataclass(frozen=True)
class SetNc(FixAction):
    """Set ``nc`` in the dataset config to ``value``: an edit of the config file, not of a record."""

    action: ClassVar[str] = "set_nc"
    value: int


# A label added from a model's prediction scoring at least this is applied without asking:
# below it the model may see something that is not there, and the user should look first.
CONFIDENT_ADD_SCORE = 0.9


def needs_confirmation(fix: FixAction, score: float | None = None) -> bool:
    """Whether the GUI asks before applying ``fix``: the one rule for the findings panel and label QC.

    A fix that removes what the user wrote (a label, an unparsable line) asks unless it is
    certain (``safe``: an exact duplicate, a box with no area); a label added on a model's
    word asks unless its prediction ``score`` reaches ``CONFIDENT_ADD_SCORE`` (no score:
    ask). Every other fix is a small reversible edit of what its evidence is about.
    """
    if isinstance(fix, (DeleteInstance, DeleteLine)):
        return not fix.safe
    if isinstance(fix, AddInstance):
        return score is None or not score >= CONFIDENT_ADD_SCORE
    return False


def fix_from_dict(d: dict[str, Any], instance: int | None = None) -> FixAction:
    """The fix ``to_dict`` wrote; ``instance`` is the index of the finding it belongs to.

    Raises ``ValueError`` on an unknown action or missing arguments (a cache written by
    another version: the caller treats it as a miss).
    """
    cls = _ACTIONS.get(str(d.get("action")))
    if cls is None:
        raise ValueError(f"unknown fix action {d.get('action')!r}")
    kwargs: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        if f.name == "instance":
            if instance is None:
                raise ValueError(f"a {cls.action} fix needs the instance it acts on")
            kwargs["instance"] = int(instance)
        elif f.name in d:
            kwargs[f.name] = _tupled(d[f.name])
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ValueError(f"bad {cls.action} fix {d!r}: {e}") from None


def _listed(value: Any) -> Any:
    return [_listed(v) for v in value] if isinstance(value, tuple) else value


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value

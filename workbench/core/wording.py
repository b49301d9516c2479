"""Words that recur in messages, written one way everywhere: counted nouns ("1 error",
"3 warnings") and keypoints ("keypoint 3 (nose)")."""

from __future__ import annotations

from collections.abc import Sequence


def count_noun(n: int, word: str, plural: str | None = None) -> str:
    """``n`` and ``word``, with ``plural`` (default ``word + "s"``) unless ``n`` is 1."""
    return f"{n} {word}" if n == 1 else f"{n} {plural or word + 's'}"


def keypoint_label(k: int, names: Sequence[str] | None = None) -> str:
    """How every message names keypoint index ``k``: 1-based, as the canvas' number keys
    and the label file's order count, with its schema name: ``keypoint 3 (nose)`` for 2.

    Findings, undo texts and QC messages all use this, so a point is never "keypoint 0"
    in one place and "keypoint 1" in another.
    """
    text = f"keypoint {k + 1}"
    if names is not None and 0 <= k < len(names) and str(names[k]):
        return f"{text} ({names[k]})"
    return text

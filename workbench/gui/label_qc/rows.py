"""The suspects list the panel shows, and how it follows edits (no Qt here).

Every edit of an image re-judges that image against the model's cached predictions,
so the list is never stale: a suspect that no longer comes up is marked fixed (by the
panel's Fix or by hand on the canvas), one that comes back (undo) is open again, and
instance indices always refer to the labels as they are now. A suspect is known again
by its key: the image, the kind, the label's line in its file (stable while other
labels are deleted; the index for a label drawn in the GUI) and the keypoint, or the
model's box for a missing label.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workbench.qa.label_qc import Suspect, rank_key

LIKELY, WORTH_A_LOOK, EVERY = "likely", "worth a look", "all"  # the tiers the panel shows

Key = tuple[object, ...]


@dataclass
class SuspectRow:
    """One suspect of record ``record`` (an index into ``ds.records``) and what became of it.

    ``fixed``: it no longer comes up for the labels as they are; ``ignored``: the user
    hid it (kept apart from ``fixed`` so that un-ignoring restores what it was).
    """

    record: int
    suspect: Suspect
    fixed: bool = False
    ignored: bool = False

    @property
    def key(self) -> Key:
        return suspect_key(self.record, self.suspect)


def suspect_key(record: int, s: Suspect) -> Key:
    if s.line is not None:
        who: object = ("line", s.line)
    elif s.instance is not None:
        who = ("instance", s.instance)
    else:
        who = ("box", tuple(getattr(s.suggestion, "box", ())))
    return record, s.kind, who, getattr(s.suggestion, "keypoint", None)


def _order(row: SuspectRow) -> tuple:
    """As ``find_label_issues`` sorts: likely mistakes first."""
    return rank_key(row.suspect)


class SuspectList:
    """All rows, most likely wrong first; ignored keys stay ignored when their image is re-judged."""

    def __init__(self) -> None:
        self.rows: list[SuspectRow] = []
        self.ignored: set[Key] = set()

    def set_all(self, judged: Iterable[tuple[int, Suspect]]) -> None:
        """A fresh judgement of the dataset; what the user ignored stays ignored."""
        rows = (SuspectRow(r, s, ignored=suspect_key(r, s) in self.ignored) for r, s in judged)
        self.rows = sorted(rows, key=_order)

    def clear(self) -> None:
        """Another dataset: nothing judged, nothing ignored."""
        self.rows = []
        self.ignored.clear()

    def rejudged(self, record: int, fresh: list[Suspect]) -> None:
        """Replace ``record``'s rows by its fresh suspects; vanished open ones become fixed."""
        old = [row for row in self.rows if row.record == record]
        keep = [row for row in self.rows if row.record != record]
        new = [SuspectRow(record, s, ignored=suspect_key(record, s) in self.ignored) for s in fresh]
        keys = {row.key for row in new}
        for row in old:
            if row.key not in keys and not row.ignored:
                row.fixed = True
                new.append(row)
        self.rows = sorted(keep + new, key=_order)

    def set_ignored(self, row: SuspectRow, ignored: bool) -> None:
        row.ignored = ignored
        (self.ignored.add if ignored else self.ignored.discard)(row.key)

    def visible(self, kind: str | None = None, show_ignored: bool = False, tier: str = EVERY) -> list[SuspectRow]:
        """The rows of ``kind`` (None: all) in ``tier``: LIKELY mistakes, the rest (WORTH_A_LOOK), or EVERY."""
        return [
            row
            for row in self.rows
            if (kind is None or row.suspect.kind == kind)
            and (show_ignored or not row.ignored)
            and (tier == EVERY or row.suspect.likely == (tier == LIKELY))
        ]

    def likely_count(self) -> int:
        """Open likely mistakes."""
        return sum(1 for row in self.rows if row.suspect.likely and not row.fixed and not row.ignored)

    def counts(self) -> dict[str, int]:
        """Open suspects (neither fixed nor ignored) by kind."""
        out: dict[str, int] = {}
        for row in self.rows:
            if not row.fixed and not row.ignored:
                out[row.suspect.kind] = out.get(row.suspect.kind, 0) + 1
        return out

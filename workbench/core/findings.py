"""Findings: what validation and label QC report about a dataset.

One shape for every kind of problem, so the CLI, the JSON output and the GUI's
findings panel can all list, group and jump to them without knowing who made them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from workbench.core.fix_actions import FixAction


class Severity(str, Enum):
    """How bad a finding is.

    ``error``: training would crash or learn something wrong. ``warning``: suspicious
    but trainable. ``info``: worth knowing.
    """

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass
class Finding:
    """One problem, located as precisely as the input allows.

    ``image`` and ``label_file`` are relative to the dataset root (posix style) so a
    report reads the same on every machine; ``line`` is 1-based for text labels;
    ``instance`` is the index into the image's instance list. ``fix`` is the typed
    fix, when there is one (``core.fix_actions``), so that ``validate --fix`` and the
    GUI's quick fixes apply the same thing through ``qa.fixes.apply_fix``.
    """

    severity: Severity
    kind: str
    message: str
    image: str | None = None
    label_file: str | None = None
    line: int | None = None
    instance: int | None = None
    fix: FixAction | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["severity"] = self.severity.value
        d["fix"] = self.fix.to_dict() if self.fix is not None else None
        return d

    def location(self) -> str:
        """``labels/train/a.txt:3`` style location for one-line reports."""
        where = self.label_file or self.image or ""
        if where and self.line is not None:
            where = f"{where}:{self.line}"
        return where

    def __str__(self) -> str:
        loc = self.location()
        prefix = f"{loc}: " if loc else ""
        return f"{prefix}{self.severity.value}: {self.message} [{self.kind}]"


def summarize(findings: list[Finding]) -> dict[str, Any]:
    """Counts by severity and by kind, for the JSON summary and the GUI header."""
    by_sev = {s.value: 0 for s in Severity}
    by_kind: dict[str, int] = {}
    for f in findings:
        by_sev[f.severity.value] += 1
        by_kind[f.kind] = by_kind.get(f.kind, 0) + 1
    return {"total": len(findings), "by_severity": by_sev, "by_kind": dict(sorted(by_kind.items()))}

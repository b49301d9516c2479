"""A suspect's one-click fix as one undoable edit, the same command a finding's quick fix pushes."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from workbench.core.annotation import Dataset, ImageRecord
from workbench.gui.commands import EditNotifier, FixCommand
from workbench.gui.fix_confirm import confirm_fix
from workbench.qa.fixes import apply_fix
from workbench.qa.label_qc import Suspect


def qc_fix_command(ds: Dataset, rec: ImageRecord, suspect: Suspect, notifier: EditNotifier) -> FixCommand:
    """One undo step applying ``suspect.suggestion`` to ``rec`` ("QC: Set class to 'alien'" in Edit > Undo).

    Raises ``qa.fixes.StaleFix`` (a ``ValueError``) when the labels no longer hold what QC judged.
    """
    return FixCommand(apply_fix(ds, rec, suspect.suggestion), notifier, prefix="QC: ")


def confirm_qc_fix(parent: QWidget | None, suspect: Suspect, cmd: FixCommand) -> bool:
    """Ask before a suspect's fix deletes a label or adds one (the findings panel asks the same way).

    An added label's score is the prediction's own, not the suspect's ranking score.
    """
    score = suspect.evidence.get("predicted_score", suspect.score)
    return confirm_fix(parent, suspect.suggestion, cmd.edit.title, suspect.message, float(score))

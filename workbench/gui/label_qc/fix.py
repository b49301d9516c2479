"""A suspect's one-click fix as one undoable edit, the same kind of command a hand edit pushes."""

from __future__ import annotations

from workbench.core.annotation import Dataset, ImageRecord
from workbench.gui.commands import EditNotifier, InstancesEdit
from workbench.qa.label_qc import Suspect
from workbench.qa.qc_fixes import fix_for


def qc_fix_command(ds: Dataset, rec: ImageRecord, suspect: Suspect, notifier: EditNotifier) -> InstancesEdit:
    """One undo step applying ``suspect.suggestion`` to ``rec`` ("QC: Set class to 'alien'" in Edit > Undo).

    Raises ``qa.qc_fixes.StaleSuspect`` when the labels no longer hold what QC judged.
    """
    before = list(rec.ensure_loaded().instances)
    fix = fix_for(ds, rec, suspect)
    return InstancesEdit(f"QC: {fix.title}", [(rec, before, fix.instances)], notifier)

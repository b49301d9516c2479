"""The one question asked before a fix that deletes a label or adds one on a model's word.

Which fixes ask is ``core.fix_actions.needs_confirmation`` (Qt-free, tested on its own);
this is the dialog the findings panel and the Label QC panel share, so both ask alike:
what the fix will do, the evidence behind it, and No as the default answer (a stray
Return keeps the user's labels).
"""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox, QWidget

from workbench.core.fix_actions import FixAction, needs_confirmation


def confirm_fix(parent: QWidget | None, fix: FixAction, title: str, evidence: str, score: float | None = None) -> bool:
    """True when ``fix`` may be applied: at once when it need not ask, else when the user answers Yes.

    ``title`` names the edit ("Delete the 'robot' label"), ``evidence`` is the finding's or
    suspect's message, ``score`` the prediction's score behind an added label.
    """
    if not needs_confirmation(fix, score):
        return True
    answer = QMessageBox.question(
        parent,
        "Apply this fix?",
        f"{title}?\n\n{evidence}\n\nThis changes your labels (Edit > Undo reverts it).",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes

"""Validation findings and fixes (model-assisted label QC lives in ``label_qc``).

Entry points: ``validate_dataset(ds)`` (everything, sorted errors first),
``validate_record(ds, rec)`` (one image, from its labels in memory: what the GUI calls
after an edit), ``apply_fix(ds, rec, fix)`` (the edit one fix makes, for the GUI to
wrap in an undo command) and ``apply_safe_fixes(ds, findings)`` (``validate --fix``).

Every ``Finding.fix`` and ``Suspect.suggestion`` is a typed action from
``workbench.core.fix_actions``: ``ClipBox``, ``DeleteInstance``, ``SetClass``,
``SetBox``, ``FitBoxToKeypoints``, ``MarkKeypointMissing``, ``SetVisibility``, ``MoveKeypoint``,
``AddInstance``, ``DeleteLine``, ``TakeImageSize`` (label edits ``apply_fix``
performs), ``ExcludeImage`` and ``SetNc`` (advice about the image or the dataset
config, no label edit). ``fix.safe`` is true only where the result is certain:
``apply_safe_fixes`` applies those without asking; the GUI offers every label edit as
a quick fix the user chooses.
"""

from workbench.qa.fixes import apply_fix, apply_safe_fixes
from workbench.qa.validate import validate_dataset, validate_record

__all__ = ["apply_fix", "apply_safe_fixes", "validate_dataset", "validate_record"]

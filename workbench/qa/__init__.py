"""Validation findings and safe fixes (model-assisted label QC lives in ``label_qc``).

Entry points: ``validate_dataset(ds)`` (everything, sorted errors first),
``validate_record(ds, rec)`` (one image, from its labels in memory: what the GUI calls
after an edit) and ``apply_safe_fixes(ds, findings)``.

Every ``Finding.fix`` is a dict with an ``action`` and ``safe`` (True when
``apply_safe_fixes`` / ``validate --fix`` may apply it without asking; the GUI offers
the others as quick fixes the user confirms). Actions, acting on ``finding.instance``
of ``finding.image`` unless said otherwise:

- ``clip_box``: clip the box to the image bounds.
- ``delete_instance``: remove the instance (``duplicate_of``: the index it repeats).
- ``set_class``: set the class id to ``value`` (absent: ask the user which class).
- ``mark_keypoint_missing``: set keypoint ``keypoint`` to missing (v = 0).
- ``set_visibility``: set keypoint ``keypoint``'s visibility to ``value``.
- ``delete_line``: remove the unparsable line ``text`` (kept in ``rec.extra_lines``).
- ``exclude_image``: leave the image out of training (unreadable or unusable).
- ``set_nc``: set ``nc`` in the dataset config to ``value`` (on the config file).

Reader-made fixes (``delete_line``, ``set_visibility``, ``mark_keypoint_missing``,
``exclude_image``, ``set_nc``) carry no ``safe`` key and are never applied automatically.
"""

from workbench.qa.fixes import apply_safe_fixes
from workbench.qa.validate import validate_dataset, validate_record

__all__ = ["apply_safe_fixes", "validate_dataset", "validate_record"]

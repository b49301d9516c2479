"""Dataset validation off the UI thread, and the findings it produced, indexed by image.

``validate_dataset`` loads every record and reads every image header: seconds on a
large dataset. ``ValidationJob`` runs it in a thread pool together with the per-record
facts the image list filters on, and posts one ``ValidationResult`` back.
``FindingsStore`` keeps the findings by image so that after an edit only the edited
image is re-validated (``validate_record``, in memory, well under a frame).
"""

from __future__ import annotations

from bisect import insort
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThreadPool, Signal

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.findings import Finding
from workbench.gui.image_list import RecordFacts, scan_facts
from workbench.gui.jobs import error_message, run_in_pool
from workbench.qa.validate import sort_findings, validate_dataset, validate_record


def _sort_key(f: Finding) -> tuple:
    """The order of ``sort_findings`` (errors first, then by file, line, instance, kind)."""
    return (f.severity.rank, f.label_file or f.image or "", f.line or 0, f.instance or 0, f.kind)


class FindingsStore:
    """All findings of the open dataset; per-image lists replaceable after an edit."""

    def __init__(self, ds: Dataset, findings: list[Finding]) -> None:
        self.ds = ds
        self.record_of: dict[str, int] = {}
        for i, rec in enumerate(ds.records):
            rel = ds.rel(rec.path)
            if rel is not None:
                self.record_of[rel] = i
        self.dataset_level: list[Finding] = []
        self.by_image: dict[str, list[Finding]] = {}
        for f in findings:
            if f.image is not None and f.image in self.record_of:
                self.by_image.setdefault(f.image, []).append(f)
            else:
                self.dataset_level.append(f)

        self._sorted: list[Finding] | None = None

    def all(self) -> list[Finding]:
        """Every finding, sorted; cached, and patched per image after an edit (no 100k re-sort per edit)."""
        if self._sorted is None:
            out = list(self.dataset_level)
            for items in self.by_image.values():
                out.extend(items)
            self._sorted = sort_findings(out)
        return self._sorted

    def for_record(self, rec: ImageRecord) -> list[Finding]:
        return self.by_image.get(self.ds.rel(rec.path) or "", [])

    def counts_per_record(self) -> list[int]:
        counts = [0] * len(self.ds.records)
        for image, items in self.by_image.items():
            counts[self.record_of[image]] = len(items)
        return counts

    def refresh_record(self, rec: ImageRecord) -> list[Finding]:
        """Re-validate one image from its labels in memory; returns its new findings."""
        rel = self.ds.rel(rec.path) or ""
        fresh = [f for f in validate_record(self.ds, rec) if f.image == rel or f.image is None]
        for f in fresh:
            if f.image is None:
                f.image = rel
        old = self.by_image.pop(rel, [])
        if fresh:
            self.by_image[rel] = fresh
        if self._sorted is not None:
            if old:
                gone = {id(f) for f in old}
                self._sorted = [f for f in self._sorted if id(f) not in gone]
            for f in fresh:
                insort(self._sorted, f, key=_sort_key)
        return fresh


@dataclass
class ValidationResult:
    ds: Dataset
    store: FindingsStore
    facts: RecordFacts
    error: str | None = None


def validate_in_background(ds: Dataset) -> ValidationResult:
    """Validate ``ds`` and gather what the window shows of it (pool thread: seconds).

    A validator bug still gives a result, with the findings of loading and ``error``
    saying what failed, so the dataset stays usable. That fallback is caught here rather
    than through the job's ``on_error`` because building its store walks every record,
    which is no work for the UI thread either.
    """
    try:
        store = FindingsStore(ds, validate_dataset(ds, workers=2))
        facts = scan_facts(ds, store.counts_per_record())
        error = None
    except Exception as e:  # noqa: BLE001 - a validator bug must become a message, not a lost dataset
        store, facts = FindingsStore(ds, list(ds.findings)), RecordFacts.empty(len(ds.records))
        error = f"validation failed: {error_message(e)}"
    store.all()  # sorted here rather than at the first look from the UI thread
    return ValidationResult(ds, store, facts, error)


class ValidationJob(QObject):
    """Runs validation of one dataset at a time in the background; ``finished`` carries
    every ``start``'s ``ValidationResult``, in order (a result for a dataset that is no
    longer open is for the receiver to ignore, by ``result.ds``)."""

    finished = Signal(object)  # ValidationResult

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self.running = 0

    def start(self, ds: Dataset) -> None:
        self.running += 1
        run_in_pool(validate_in_background, ds, on_done=self._on_done, owner=self, pool=self._pool)

    def wait(self, msecs: int = 60000) -> bool:
        return self._pool.waitForDone(msecs)

    def _on_done(self, result: ValidationResult) -> None:
        self.running -= 1
        self.finished.emit(result)

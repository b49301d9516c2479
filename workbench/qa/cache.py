"""A cache of per-image validation results, so a repeated run on an unchanged dataset is instant.

An entry is keyed by the image's and the label file's ``(size, mtime_ns)``: any edit,
copy or touch of either file changes the key and that image is checked again. The
whole cache is dropped when the dataset config (classes, keypoint schema, format) or
the checks themselves change, since the same file can then give other findings.
One JSON file per dataset root in the platform cache folder, written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from workbench import __version__
from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.atomic import atomic_write_text
from workbench.core.findings import Finding, Severity
from workbench.core.fix_actions import fix_from_dict
from workbench.qa.checks_classes import RecordClasses

# Bump when a check changes what it reports for the same files. The key also holds
# the package version and a hash of the readers' and checks' source (``checks_digest``),
# so a change there drops old entries even when nobody bumps this.
CACHE_VERSION = 3  # 3: fixes are typed (core.fix_actions), stored with fix_from_dict's shape
_CHECKS_DIGEST: str | None = None

Stamp = list[int | None]  # image size, image mtime_ns, label size, label mtime_ns


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "workbench"


def cache_path(ds: Dataset) -> Path:
    digest = hashlib.sha1(str(ds.root.resolve()).encode("utf-8")).hexdigest()[:16]
    return cache_dir() / f"validate-{digest}.json"


def config_fingerprint(ds: Dataset) -> str:
    """What, besides the files themselves, decides a record's findings."""
    parts: list[Any] = [
        CACHE_VERSION,
        __version__,
        checks_digest(),
        ds.format,
        ds.classes,
        ds.declared_nc,
        str(ds.config_file) if ds.config_file else None,
    ]
    if ds.keypoints is not None:
        parts += [ds.keypoints.num_keypoints, ds.keypoints.names, ds.keypoints.dims]
    if ds.config_file is not None:
        try:
            parts.append(hashlib.sha1(ds.config_file.read_bytes()).hexdigest())
        except OSError:
            parts.append(None)
    return hashlib.sha1(json.dumps(parts, default=str).encode("utf-8")).hexdigest()


def checks_digest() -> str:
    """A hash of the source of ``workbench.qa``, ``workbench.formats`` (the code that makes findings)
    and ``core.fix_actions`` (how their fixes are stored).

    Computed once per process: some 30 small files, read in a millisecond or two.
    """
    global _CHECKS_DIGEST
    if _CHECKS_DIGEST is None:
        h = hashlib.sha1()
        package = Path(__file__).resolve().parent.parent
        # core.fix_actions too: its to_dict/fix_from_dict are the stored shape of every fix.
        paths = [package / "core" / "fix_actions.py"]
        for sub in ("qa", "formats"):
            paths.extend(sorted((package / sub).glob("*.py")))
        for path in paths:
            h.update(path.name.encode("utf-8"))
            try:
                h.update(path.read_bytes())
            except OSError:
                h.update(b"?")
        _CHECKS_DIGEST = h.hexdigest()
    return _CHECKS_DIGEST


def stamp(rec: ImageRecord) -> Stamp | None:
    """The record's files' identity; None when the image cannot be stat'ed (never cached)."""
    try:
        st = os.stat(rec.path)
    except OSError:
        return None
    out: Stamp = [st.st_size, st.st_mtime_ns, None, None]
    if rec.has_labels and rec.label_path is not None:
        try:
            lst = os.stat(rec.label_path)
        except OSError:
            return None
        out[2], out[3] = lst.st_size, lst.st_mtime_ns
    return out


class ValidationCache:
    """Per-image findings and class ids, looked up by image path and file stamp."""

    def __init__(self, ds: Dataset) -> None:
        self.path = cache_path(ds)
        self.fingerprint = config_fingerprint(ds)
        self._entries: dict[str, dict[str, Any]] = {}
        self._changed = False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(data, dict) and data.get("fingerprint") == self.fingerprint:
            entries = data.get("entries")
            if isinstance(entries, dict):
                self._entries = entries

    def get(self, rec: ImageRecord, st: Stamp | None) -> tuple[list[Finding], RecordClasses] | None:
        if st is None or rec.dirty:
            return None
        entry = self._entries.get(str(rec.path))
        if entry is None or entry.get("stamp") != st:
            return None
        try:
            findings = [_finding_from_dict(d) for d in entry["findings"]]
            classes = RecordClasses.from_list(rec, entry["classes"])
        except (KeyError, TypeError, ValueError):
            return None
        return findings, classes

    def put(self, rec: ImageRecord, st: Stamp | None, findings: list[Finding], classes: RecordClasses) -> None:
        if st is None or rec.dirty:
            return
        self._entries[str(rec.path)] = {
            "stamp": st,
            "findings": [f.to_dict() for f in findings],
            "classes": classes.to_list(),
        }
        self._changed = True

    def retain(self, records: list[ImageRecord]) -> None:
        """Forget images no longer in the dataset, so the file does not grow forever."""
        keep = {str(r.path) for r in records}
        if any(k not in keep for k in self._entries):
            self._entries = {k: v for k, v in self._entries.items() if k in keep}
            self._changed = True

    def save(self) -> None:
        if not self._changed:
            return
        data = {"fingerprint": self.fingerprint, "entries": self._entries}
        try:
            atomic_write_text(self.path, json.dumps(data, separators=(",", ":")))
        except OSError:
            pass  # a read-only home or a full disk: the next run is just slower
        self._changed = False


def _finding_from_dict(d: dict[str, Any]) -> Finding:
    return Finding(
        severity=Severity(d["severity"]),
        kind=d["kind"],
        message=d["message"],
        image=d.get("image"),
        label_file=d.get("label_file"),
        line=d.get("line"),
        instance=d.get("instance"),
        fix=fix_from_dict(d["fix"], d.get("instance")) if d.get("fix") is not None else None,
    )

"""Atomic writes leave the old or the new file, never a mix, and no temp files."""

from __future__ import annotations

import os

import pytest

from workbench.core import atomic
from workbench.core.atomic import atomic_write_text


def test_write_and_replace(tmp_path):
    p = tmp_path / "sub" / "a.txt"
    atomic_write_text(p, "one\n")
    os.chmod(p, 0o640)
    atomic_write_text(p, "two\n")
    assert p.read_text() == "two\n"
    assert (p.stat().st_mode & 0o777) == 0o640
    assert os.listdir(p.parent) == ["a.txt"]


def test_failure_keeps_old_file_and_cleans_up(tmp_path, monkeypatch):
    p = tmp_path / "a.txt"
    atomic_write_text(p, "old\n")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(p, "new\n")
    assert p.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["a.txt"]

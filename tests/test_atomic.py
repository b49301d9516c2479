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


def test_a_file_name_near_the_255_byte_limit_still_gets_a_temporary_sibling(tmp_path, monkeypatch):
    """The temporary name is built short: a 250-byte label name (multi-byte characters) must not fail."""
    p = tmp_path / ("é" * 121 + "x.txt")  # 121 * 2 + 6 = 248 bytes
    assert len(p.name.encode()) >= 245
    seen: list[str] = []
    real = atomic.os.replace
    monkeypatch.setattr(atomic.os, "replace", lambda src, dst: seen.append(src) or real(src, dst))
    atomic_write_text(p, "labels\n")
    assert p.read_text() == "labels\n"
    (tmp,) = seen
    assert os.path.dirname(tmp) == str(tmp_path) and len(os.path.basename(tmp).encode()) < 100


def test_a_failure_names_the_target_not_the_temporary_file(tmp_path, monkeypatch):
    p = tmp_path / "a.txt"
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(OSError) as info:
        atomic_write_text(p, "new\n")
    assert info.value.filename == str(p) and info.value.errno == 28
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes read-only files anyway")
def test_a_read_only_file_is_refused_not_replaced(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("old\n")
    p.chmod(0o444)
    with pytest.raises(PermissionError) as info:
        atomic_write_text(p, "new\n")
    assert info.value.filename == str(p) and p.read_text() == "old\n"

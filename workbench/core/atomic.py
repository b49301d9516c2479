"""Atomic file writes: a kill at any instant leaves the old file or the new one.

Write a temporary file in the same folder (same filesystem, so the rename is atomic),
fsync it, then ``os.replace`` it over the target and fsync the folder so the rename
itself survives a power cut.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

# Characters of the target's name kept in the temporary name: 16 (at most 64 bytes) plus
# mkstemp's 8 random characters stay far below the 255-byte limit, and still say whose it is.
TEMP_NAME_CHARS = 16


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` whole, or leave it as it was and raise ``OSError``.

    A file the user made read-only is refused rather than replaced (the rename would
    succeed in a writable folder and quietly drop the protection). Every failure, a full
    disk or a read-only folder, names ``path`` in ``filename``, not the temporary sibling,
    so a message names the file the user knows.
    """
    path = Path(path)
    if path.exists() and not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, "the file is read-only", str(path))
    try:
        _replace_with(path, data)
    except OSError as e:
        if e.filename == str(path):
            raise
        raise type(e)(e.errno, e.strerror or str(e), str(path)) from e


def _replace_with(path: Path, data: bytes) -> None:
    """Temp file in the same folder, fsync, ``os.replace``, fsync the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A short temporary name: the target's own name may nearly fill the file system's
    # 255-byte limit, so only its first characters are kept (at most 4 bytes each).
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name[:TEMP_NAME_CHARS]}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            # Keep the permissions the user gave the original file.
            os.chmod(tmp, path.stat().st_mode & 0o7777)
        else:
            os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

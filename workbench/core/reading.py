"""Reading a file that somebody else named: only regular files, so nothing blocks forever.

A label file, a json or a yaml that is a FIFO (or a device) would hang ``open`` or ``read``
waiting for a writer that never comes. The file is opened without blocking and refused
unless it is a regular file; the refusal is an ``OSError`` whose ``strerror`` says why, so
every reader's existing "cannot be read (reason)" path reports it.
"""

from __future__ import annotations

import errno
import os

from workbench.core.imageheader import not_regular_kind

_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)


def open_regular(path: str | os.PathLike[str]) -> int:
    """A file descriptor for ``path``; OSError when it is not a regular file."""
    fd = os.open(path, _FLAGS)
    what = not_regular_kind(os.fstat(fd).st_mode)
    if what:
        os.close(fd)
        raise OSError(errno.EINVAL, f"it is {what}", str(path))
    return fd


def read_regular_bytes(path: str | os.PathLike[str]) -> bytes:
    """The whole of a regular file (see ``open_regular``)."""
    with os.fdopen(open_regular(path), "rb") as f:
        return f.read()


def read_regular_text(path: str | os.PathLike[str], encoding: str = "utf-8", errors: str = "strict") -> str:
    return read_regular_bytes(path).decode(encoding, errors)

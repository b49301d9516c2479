"""Whether a path written inside an annotation file stays inside the dataset.

A COCO ``file_name``, a VOC ``<filename>`` or a line of a YOLO list file is text that
somebody else wrote; followed blindly, ``../../../../etc/passwd`` gets hard-linked into a
conversion. The test is lexical (``normpath``, no ``resolve``): a folder the user
symlinked into the dataset stays allowed, because the rule is about the path string,
not about where the file system happens to store the files.
"""

from __future__ import annotations

import os
from pathlib import Path


def _within(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives on Windows
        return False


def contained_path(
    base: str | os.PathLike[str], written: str, root: str | os.PathLike[str] | None = None
) -> Path | None:
    """``base/written`` normalized, or None when it leads outside.

    A relative ``written`` must stay inside ``base`` (no ``..`` past it), and inside
    ``root`` when one is given. An absolute one is accepted only inside ``root`` (the
    dataset root; the real path of the root counts too, so a dataset opened through a
    symlink accepts the absolute paths of either name).

    Empty text and a NUL byte (no file system allows one; ``os.stat`` raises on it) lead
    nowhere. Backslashes are read both ways: a file written on Windows means
    ``..\\..\\x`` as two steps up, so it must stay inside with them as separators too
    (where it does, the path is kept as written).
    """
    if not written or "\x00" in written:
        return None
    if "\\" in written and contained_path(base, written.replace("\\", "/"), root) is None:
        return None
    base_abs = os.path.normpath(os.path.abspath(base))
    if os.path.isabs(written) or (os.name == "nt" and os.path.splitdrive(written)[0]):
        if root is None:
            return None
        return Path(os.path.normpath(written)) if inside_root(written, root) else None
    path = os.path.normpath(os.path.join(base_abs, written))
    if not _within(path, base_abs) or path == base_abs:
        return None
    # The folder a reader resolved names against may itself lie outside the dataset (a COCO
    # json at the root looks in ../images too): inside it is not enough.
    return Path(path) if root is None or inside_root(path, root) else None


def inside_root(path: str | os.PathLike[str], root: str | os.PathLike[str]) -> bool:
    """``path`` (normalized, not resolved) lies in ``root`` or in the root's real path."""
    path = os.path.normpath(os.path.abspath(path))
    return any(_within(path, r) for r in {os.path.normpath(os.path.abspath(root)), os.path.realpath(root)})


def is_file(path: str | os.PathLike[str]) -> bool:
    """``Path.is_file`` that says no instead of raising for a name the file system refuses.

    A path built from annotation text can be longer than any file system allows
    (``ENAMETOOLONG``) or pass through a file where a folder belongs; ``pathlib`` raises
    for those, and one such name would stop a whole validate or convert.
    """
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def is_dir(path: str | os.PathLike[str]) -> bool:
    """``Path.is_dir`` that says no instead of raising (see ``is_file``)."""
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):
        return False


def exists(path: str | os.PathLike[str]) -> bool:
    """``Path.exists`` that says no instead of raising (see ``is_file``)."""
    try:
        return Path(path).exists()
    except (OSError, ValueError):
        return False


OUTSIDE_FIX = (
    "write the path relative to the dataset folder and keep the file inside it "
    "(copy or symlink the image into the dataset)"
)


def path_key(path: str | os.PathLike[str]) -> Path:
    """``path`` resolved, to compare two spellings of one file (as given, when it cannot be resolved)."""
    p = Path(path)
    try:
        return p.resolve()
    except OSError:
        return p

"""File helpers every format's reader and writer share: listing images, naming and placing copies."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from workbench.core.imageheader import IMAGE_SUFFIXES


def list_images(folder: Path) -> list[Path]:
    """All images under a folder, recursively, in a stable order. Lists, never opens."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        d = Path(dirpath)
        found.extend(d / f for f in sorted(filenames) if os.path.splitext(f)[1].lower() in IMAGE_SUFFIXES)
    return found


def portable_name(name: str) -> str:
    """``name`` as valid UTF-8: bytes that were not (a Latin-1 ``caf\\xe9.jpg``) become U+FFFD.

    JSON, XML and YAML must hold the name as text; the image's own bytes are untouched.
    """
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def unique_file_name(path: Path, used_stems: set[str]) -> str:
    """The image's file name, renamed ``stem_1.jpg`` if its stem is taken in the export folder.

    Two cameras' ``frame_0001.jpg`` land in one folder: without this the second copy would be
    skipped and the first image would carry both images' labels. Stems, not names, because a
    label file is named after the stem; compared without case because macOS and Windows
    file systems fold it.
    """
    base = portable_name(path.stem)
    suffix = portable_name(path.suffix)
    stem, n = base, 1
    while stem.casefold() in used_stems:
        stem = f"{base}_{n}"
        n += 1
    used_stems.add(stem.casefold())
    return stem + suffix


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (an export of 100k images costs no space), copy across file systems."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() or dst.resolve() == src.resolve():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)

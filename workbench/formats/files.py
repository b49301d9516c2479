"""File helpers every format's reader and writer share: listing images, naming and placing copies."""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from pathlib import Path

from workbench.core.imageheader import IMAGE_SUFFIXES

# Bytes of an exported stem: 255 is the usual limit for a name, and this leaves room for a
# "_12" numbering suffix and an extension (".jpeg", ".xml").
MAX_STEM_BYTES = 200
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


def list_images(folder: Path) -> list[Path]:
    """All images under a folder, recursively, in a stable order. Lists, never opens."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        d = Path(dirpath)
        found.extend(d / f for f in sorted(filenames) if os.path.splitext(f)[1].lower() in IMAGE_SUFFIXES)
    return found


def portable_name(name: str) -> str:
    """``name`` as valid UTF-8 text: bytes that were not (a Latin-1 ``caf\\xe9.jpg``) become U+FFFD.

    JSON, XML and YAML must hold the name as text; the image's own bytes are untouched.
    A lone surrogate with no byte behind it (a JSON ``"\\ud800"`` escape) becomes U+FFFD too.
    """
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        # An escaped byte (U+DC80..U+DCFF) or any other lone surrogate: neither is a character.
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in name)


def safe_file_name(name: str) -> str:
    """A name an exporter can create in one folder and list in a text file, on any file system.

    ``portable_name``, then control characters (a newline would split a VOC split list
    and a YOLO list file in two), ``/`` and ``\\`` (a path separator on one system or the
    other) become ``_``; ``.``, ``..`` and an empty name become ``_``. Spaces and all other
    characters are kept.
    """
    name = _UNSAFE.sub("_", portable_name(name))
    return "_" if name in ("", ".", "..") else name


def _shortened(stem: str) -> str:
    """At most ``MAX_STEM_BYTES`` of UTF-8, cut on a character boundary."""
    data = stem.encode("utf-8")
    return stem if len(data) <= MAX_STEM_BYTES else data[:MAX_STEM_BYTES].decode("utf-8", "ignore")


def unique_file_name(path: Path, used_stems: set[str]) -> str:
    """The image's file name, renamed ``stem_1.jpg`` if its stem is taken in the export folder.

    Two cameras' ``frame_0001.jpg`` land in one folder: without this the second copy would be
    skipped and the first image would carry both images' labels. Stems, not names, because a
    label file is named after the stem; compared without case because macOS and Windows
    file systems fold it, and in one Unicode normalization because macOS also folds NFC and
    NFD (``café`` typed on Linux and copied from a Mac are one name there). The name is
    ``safe_file_name``'s, its stem cut to ``MAX_STEM_BYTES`` so a numbering suffix and an
    extension still fit in 255 bytes.
    """
    if path.suffix.lower() in IMAGE_SUFFIXES:
        base = _shortened(safe_file_name(path.stem))
        suffix = safe_file_name(path.suffix)
    else:
        # A COCO file_name or a VOC <filename> may name an image "img001" or "scan.tif.bak":
        # readers list images by extension, so the copy gets one, or the converted dataset
        # would open without it (and its labels).
        base = _shortened(safe_file_name(path.name))
        suffix = image_suffix_for(path)
    stem, n = base, 1
    while _folded(stem) in used_stems:
        stem = f"{base}_{n}"
        n += 1
    used_stems.add(_folded(stem))
    return stem + suffix


def _folded(stem: str) -> str:
    """The stem as a case- and normalization-insensitive file system compares it."""
    return unicodedata.normalize("NFC", stem).casefold()


def class_list_text(classes: list[str], old: str | None) -> str:
    """``classes.txt`` for ``classes``, spelled like the file it replaces.

    Its CRLF line ends, byte order mark and final newline (or lack of one) are kept, so
    adding a class changes one line of the file, not all of them.
    """
    old = old or ""
    newline = "\r\n" if "\r\n" in old else "\n"
    text = newline.join(classes)
    if not old or old.endswith("\n"):
        text += newline
    return ("\ufeff" if old.startswith("\ufeff") else "") + text


_SUFFIX_OF_FORMAT = {"jpeg": ".jpg", "png": ".png", "webp": ".webp", "bmp": ".bmp", "gif": ".gif"}


def image_suffix_for(path: Path) -> str:
    """An extension every reader lists, for an image whose name has none (from its header)."""
    from workbench.core.imageheader import read_image_header

    return _SUFFIX_OF_FORMAT.get(read_image_header(path, check_end=False).format or "", ".tiff")


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (an export of 100k images costs no space), copy across file systems."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() or dst.resolve() == src.resolve():
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)

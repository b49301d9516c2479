"""Counted nouns in messages ("1 error", "3 warnings"), written one way everywhere."""

from __future__ import annotations


def count_noun(n: int, word: str, plural: str | None = None) -> str:
    """``n`` and ``word``, with ``plural`` (default ``word + "s"``) unless ``n`` is 1."""
    return f"{n} {word}" if n == 1 else f"{n} {plural or word + 's'}"

"""YAML loading with bounded memory: every yaml the program reads goes through here.

``yaml.safe_load`` builds whatever the text describes. Aliases make that
exponential: a 600-byte data.yaml (``a: &a [x, x, ...]``, ``b: &b [*a, *a, ...]``,
... ``names: *j``) expands to a billion strings. Here the document is composed
first (aliases are shared nodes then, so composing is linear in the text), its
expanded size is counted with memoization, and only a document within the node
budget is constructed. Nesting too deep for the recursive constructor is a
message, not a ``RecursionError``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from workbench.core.reading import read_regular_text

# Nodes a document may expand to (aliases counted by the size of what they repeat).
# A data.yaml with 10,000 class names and a keypoint schema has some 10^4.
MAX_YAML_NODES = 1_000_000
# Nesting beyond this is no config anyone writes; the constructor recurses per level.
MAX_YAML_DEPTH = 100
# A config file this large is not a config file.
MAX_YAML_BYTES = 16 * 2**20


class YamlLimitError(ValueError):
    """The yaml is valid, or might be, but too large or too deep to build."""


def safe_load_text(text: str) -> Any:
    """``yaml.safe_load(text)`` that refuses documents over the node or depth budget.

    Raises ``yaml.YAMLError`` for bad syntax (with its ``problem_mark``) and
    ``YamlLimitError`` for a document too large or too deeply nested.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise YamlLimitError(f"nested more than {MAX_YAML_DEPTH} levels deep") from None
        if node is None:
            return None
        _check_size(node)
        try:
            return loader.construct_document(node)
        except RecursionError:
            raise YamlLimitError(f"nested more than {MAX_YAML_DEPTH} levels deep") from None
    finally:
        loader.dispose()


def safe_load_file(path: Path) -> Any:
    """``safe_load_text`` of a UTF-8 file (a leading BOM is dropped) of at most MAX_YAML_BYTES."""
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise YamlLimitError(
            f"{size / 2**20:.0f} MiB is over the {MAX_YAML_BYTES // 2**20} MiB limit for a config file"
        )
    return safe_load_text(read_regular_text(path, "utf-8-sig"))


def _check_size(root: yaml.Node) -> None:
    """Count the expanded nodes of ``root`` without expanding (iteratively, memoized per node)."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    # (node, depth, children entered yet)
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, entered = stack.pop()
        key = id(node)
        if entered:
            on_path.discard(key)
            total = 1 + sum(sizes[id(c)] for c in _children(node))
            if total > MAX_YAML_NODES:
                raise YamlLimitError(
                    f"expands to more than {MAX_YAML_NODES:,} values (aliases repeating "
                    "aliases); write the values out or use fewer aliases"
                )
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise YamlLimitError("an alias refers to the collection it is inside (an endless structure)")
        if depth > MAX_YAML_DEPTH:
            raise YamlLimitError(f"nested more than {MAX_YAML_DEPTH} levels deep")
        children = _children(node)
        if not children:
            sizes[key] = 1
            continue
        on_path.add(key)
        stack.append((node, depth, True))
        for child in children:
            if id(child) not in sizes:
                stack.append((child, depth + 1, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []

"""The reference YOLO label parser: ``_parse_line`` on every line, with no fast path.

``parse_label_text`` turns well-formed lines into instances directly and asks the
careful ``_parse_line`` only about the rest; its result must be exactly what this
gives. Only the tests need the slow reference, so it lives here, not in the package.
"""

from __future__ import annotations

from pathlib import Path

from workbench.core.annotation import Source
from workbench.formats.yolo_labels import LabelLayout, ParsedLabels, _parse_line, _without_bom


def parse_label_text_careful(
    text: str,
    layout: LabelLayout,
    width: float,
    height: float,
    label_file: Path | None = None,
) -> ParsedLabels:
    """``parse_label_text`` with ``_parse_line`` on every line: the reference its fast path must match."""
    out = ParsedLabels()
    for lineno, raw in enumerate(_without_bom(text).splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        inst = _parse_line(line, lineno, layout, width, height, out)
        if inst is None:
            out.extra_lines.append(line)
            continue
        inst.source = Source(label_file, lineno)
        out.instances.append(inst)
    return out

"""VOC XML at the byte level: parsing with positions, and saving an edit as a splice.

Rebuilt from a tree, a one-box edit rewrote the whole file: the XML declaration and every
comment were gone, two-space indentation became tabs, ``<source><database>`` on one line
was spread over three, and the edited object gained ``pose``/``truncated``/``difficult``
elements it never had. A diff showed a new file. Here the parser records where each
element's tags and content lie in the original bytes, and a save changes only those
bytes: the text of an edited number or name, a deleted ``<object>`` with the whitespace
before it, a new ``<object>`` indented like its neighbours. Everything else (declaration,
comments, attribute quoting, line endings, unknown elements) stays byte for byte.

Expat works on bytes, so the positions are byte offsets in the file's own encoding; new
text is encoded in that encoding (characters it cannot hold as character references).
UTF-16 and UTF-32 files are left to the caller's full rewrite.
"""

from __future__ import annotations

import codecs
import copy
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import escape


class XmlError(ValueError):
    """Unparseable XML, with the 1-based line and column expat stopped at."""

    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass
class Span:
    """Byte offsets of one element: ``<tag ...>`` starts at ``start``, its content runs from
    ``content_start`` to ``content_end`` (None for an empty-element tag ``<tag/>``), and the
    element ends just before ``end``."""

    start: int
    content_start: int | None = None
    content_end: int | None = None
    end: int | None = None


@dataclass
class ParsedXml:
    root: ET.Element
    lines: dict[ET.Element, int]
    spans: dict[ET.Element, Span]
    data: bytes


def parse_xml_spans(data: bytes) -> ParsedXml:
    """An ElementTree plus each element's line and byte span; raises XmlError.

    A position is known only when the next event arrives (character data, a tag, a
    comment), so elements wait in ``pending`` lists until then. Entity declarations are
    refused (no billion-laughs expansion, no external entities).
    """
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate()
    lines: dict[ET.Element, int] = {}
    spans: dict[ET.Element, Span] = {}
    awaiting_content: list[ET.Element] = []
    awaiting_end: list[ET.Element] = []

    def mark() -> None:
        i = parser.CurrentByteIndex
        for el in awaiting_content:
            spans[el].content_start = i
        awaiting_content.clear()
        for el in awaiting_end:
            spans[el].end = i
        awaiting_end.clear()

    def start(tag: str, attrs: dict[str, str]) -> None:
        mark()
        el = builder.start(tag, attrs)
        lines[el] = parser.CurrentLineNumber
        spans[el] = Span(parser.CurrentByteIndex)
        awaiting_content.append(el)

    def end(tag: str) -> None:
        i = parser.CurrentByteIndex
        mark()
        el = builder.end(tag)
        span = spans[el]
        if span.content_start == span.start:  # <tag/>: no event between its start and its end
            span.content_start = None
        else:
            span.content_end = i
        awaiting_end.append(el)

    def refuse_entities(*_: Any) -> None:
        raise XmlError(
            "declares XML entities, which are not allowed in an annotation file",
            parser.CurrentLineNumber,
            parser.CurrentColumnNumber + 1,
        )

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = lambda text: (mark(), builder.data(text))
    parser.CommentHandler = lambda _text: mark()
    parser.ProcessingInstructionHandler = lambda *_: mark()
    parser.StartCdataSectionHandler = mark
    parser.EntityDeclHandler = refuse_entities
    try:
        parser.Parse(data, True)
        root = builder.close()
    except expat.ExpatError as e:
        raise XmlError(expat.errors.messages[e.code] if e.code else str(e), e.lineno, e.offset + 1) from None
    for el in awaiting_end:  # the root, whose end tag is the last thing in the file
        span = spans[el]
        span.end = data.index(b">", span.content_end if span.content_end is not None else span.start) + 1
    return ParsedXml(root, lines, spans, data)


_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def declared_encoding(data: bytes) -> str | None:
    """The encoding the bytes are in, or None when new text cannot be spliced in (UTF-16/32)."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return None
    m = _DECLARED.match(data.lstrip(codecs.BOM_UTF8))
    name = m.group(1).decode("ascii") if m else "utf-8"
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    return None if canonical.startswith(("utf-16", "utf-32")) else canonical


class Splicer:
    """Byte edits on one parsed file, applied at once; None from ``result`` means "rewrite it"."""

    def __init__(self, parsed: ParsedXml, encoding: str) -> None:
        self.parsed = parsed
        self.encoding = encoding
        data = parsed.data
        self.newline = b"\r\n" if b"\r\n" in data else b"\n"
        # (start, end, order, bytes): the order keeps insertions at one position in sequence
        self.edits: list[tuple[int, int, int, bytes]] = []

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding, errors="xmlcharrefreplace")

    def leading_space(self, el: ET.Element) -> int:
        """Where the whitespace run before ``el``'s start tag begins."""
        data, i = self.parsed.data, self.parsed.spans[el].start
        while i > 0 and data[i - 1 : i] in (b" ", b"\t", b"\r", b"\n"):
            i -= 1
        return i

    def indent_of(self, el: ET.Element) -> bytes:
        """The whitespace before ``el`` on its own line, or b"" when it does not start a line."""
        run = self.parsed.data[self.leading_space(el) : self.parsed.spans[el].start]
        return run.rsplit(b"\n", 1)[-1] if b"\n" in run else b""

    def set_text(self, el: ET.Element, text: str) -> bool:
        """Replace ``el``'s content (no child elements); False when it is ``<tag/>``."""
        span = self.parsed.spans[el]
        if len(el) or span.content_start is None or span.content_end is None:
            return False
        self._add(span.content_start, span.content_end, self.encode(escape(text)))
        return True

    def can_set_text(self, el: ET.Element | None) -> bool:
        span = self.parsed.spans.get(el) if el is not None else None
        return span is not None and not len(el) and span.content_start is not None and span.content_end is not None

    def _add(self, start: int, end: int, text: bytes) -> None:
        self.edits.append((start, end, len(self.edits), text))

    def delete(self, el: ET.Element) -> None:
        end = self.parsed.spans[el].end
        assert end is not None
        self._add(self.leading_space(el), end, b"")

    def replace(self, el: ET.Element, new: ET.Element, indent: bytes, unit: str) -> None:
        span = self.parsed.spans[el]
        assert span.end is not None
        self._add(span.start, span.end, self.serialized(new, indent, unit))

    def insert(self, at: int, new: ET.Element, indent: bytes, unit: str) -> None:
        """``new`` at ``at``, on a line of its own (indented ``indent``), or run on in a file
        written without line breaks (``unit`` "")."""
        lead = self.newline + indent if unit else b""
        self._add(at, at, lead + self.serialized(new, indent, unit))

    def serialized(self, el: ET.Element, indent: bytes, unit: str) -> bytes:
        el = copy.deepcopy(el)
        el.tail = None
        for sub in el.iter():
            if len(sub) and sub.text is not None and not sub.text.strip():
                sub.text = None
            if sub is not el and sub.tail is not None and not sub.tail.strip():
                sub.tail = None
        if unit:
            ET.indent(el, space=unit)
        text = ET.tostring(el, encoding="unicode")
        return self.encode(text).replace(b"\n", self.newline + indent)

    def result(self) -> bytes | None:
        edits = sorted(self.edits)
        for (_, a1, _, _), (b0, _, _, _) in zip(edits, edits[1:], strict=False):
            if b0 < a1:
                return None  # overlapping edits: not a shape this splicer knows
        out = bytearray(self.parsed.data)
        for start, end, _, text in reversed(edits):
            out[start:end] = text
        return bytes(out)


def indent_unit(splicer: Splicer, obj: ET.Element | None, fallback_indent: bytes, reference: ET.Element) -> str:
    """One level of indentation as the file writes it (from an object's first child); ""
    when ``reference`` does not start a line (a file written without line breaks)."""
    data = splicer.parsed.data
    if b"\n" not in data[splicer.leading_space(reference) : splicer.parsed.spans[reference].start]:
        return ""
    if obj is not None and len(obj):
        inner, outer = splicer.indent_of(obj[0]), splicer.indent_of(obj)
        if inner.startswith(outer) and len(inner) > len(outer):
            return inner[len(outer) :].decode("ascii", "replace")
    return fallback_indent.decode("ascii", "replace") or "\t"

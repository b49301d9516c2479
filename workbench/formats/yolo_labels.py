"""One YOLO label file <-> a list of instances, for the three line layouts.

- ``det``:  ``cls cx cy w h`` (normalized)
- ``pose``: ``cls cx cy w h x1 y1 [v1] ... xK yK [vK]`` (Ultralytics, ``kpt_shape: [K, 2|3]``)
- ``face``: ``cls cx cy w h x1 y1 ... xK yK`` with ``-1 -1`` for a missing point (yolov5-face)

The three share one parser because they share everything but the tail of the line.
The parser never raises: a line it cannot read becomes a finding and is kept verbatim
in ``extra_lines`` so that saving the image does not lose it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from workbench.core.annotation import Instance, Source
from workbench.core.findings import Severity
from workbench.core.fix_actions import DeleteLine, FixAction, MarkKeypointMissing, SetVisibility
from workbench.core.keypoints import MAX_KEYPOINTS
from workbench.core.wording import keypoint_label
from workbench.formats.base import format_number

# A normalized value a little above 1 is float noise from the tool that wrote it; well
# above 1 it is a pixel coordinate written where a fraction belongs.
NORMALIZED_TOLERANCE = 0.01
_MAX_NORMALIZED = 1 + NORMALIZED_TOLERANCE
# Larger than any normalized value or pixel coordinate could be.
HUGE_VALUE = 1e12
# One image's label file beyond either limit is reported (``label_file_too_large``) and
# not parsed: the largest real datasets have a few thousand objects per image, and a
# 100,000-line file already holds more than any detector is trained on.
MAX_LABEL_BYTES = 64 * 2**20
MAX_LABEL_LINES = 100_000


@dataclass(frozen=True)
class LabelLayout:
    """Which columns a line has: ``kind`` in det/pose/face, K keypoints, dims 2 or 3."""

    kind: str = "det"
    num_keypoints: int = 0
    dims: int = 3

    @property
    def columns(self) -> int:
        if self.kind == "det":
            return 5
        per = 2 if self.kind == "face" else self.dims
        return 5 + self.num_keypoints * per

    def describe(self) -> str:
        if self.kind == "det":
            return "5 columns (class cx cy w h)"
        if self.kind == "face":
            return f"{self.columns} columns (class cx cy w h + {self.num_keypoints} x y landmark pairs)"
        triple = "x y v" if self.dims == 3 else "x y"
        return f"{self.columns} columns (class cx cy w h + {self.num_keypoints} '{triple}' keypoints)"


@dataclass
class ParsedIssue:
    """A problem on one line, before it is turned into a located finding."""

    severity: Severity
    kind: str
    message: str
    line: int
    instance: int | None = None
    fix: FixAction | None = None


@dataclass
class ParsedLabels:
    instances: list[Instance] = field(default_factory=list)
    issues: list[ParsedIssue] = field(default_factory=list)
    extra_lines: list[str] = field(default_factory=list)


def parse_label_text(
    text: str,
    layout: LabelLayout,
    width: float,
    height: float,
    label_file: Path | None = None,
) -> ParsedLabels:
    """Parse a YOLO label file's text into pixel-space instances.

    Validating 20k images parses some 50k lines, nearly all of them well-formed, so a
    line that passes every check of its box (``_plain_values``) becomes an instance
    directly. Any other line goes through ``_parse_line``, the careful parser that
    explains what is wrong. The result (instances, findings with their line and
    instance index, kept lines) is exactly that of ``_parse_line`` on every line;
    ``tests/_careful_parse.py`` holds that reference and the tests compare the two on
    generated text.
    """
    out = ParsedLabels()
    columns = layout.columns
    for lineno, raw in enumerate(_without_bom(text).splitlines(), start=1):
        tokens = raw.split()
        if not tokens:
            continue
        values = _plain_values(tokens, columns)
        if values is None:
            line = raw.strip()
            inst = _parse_line(line, lineno, layout, width, height, out)
            if inst is None:
                out.extra_lines.append(line)
                continue
            inst.source = Source(label_file, lineno)
        else:
            inst = _instance(values, layout, width, height, lineno, len(out.instances), out)
            inst.source = Source(label_file, lineno)
        out.instances.append(inst)
    return out


def _plain_values(tokens: list[str], columns: int) -> list[float] | None:
    """The numbers of a line whose class and box ``_parse_line`` would accept without a word, else None.

    Those checks, in their cheapest form: the column count, ``float`` on every token,
    all values finite and below ``HUGE_VALUE`` (a sum of absolute values below it
    bounds each one, and is nan or inf when any value is), an integer class id, a
    normalized box. None only means "ask the careful parser", never "wrong".
    """
    if len(tokens) != columns:
        return None
    try:
        values = list(map(float, tokens))
    except ValueError:
        return None
    cls, cx, cy, bw, bh = values[:5]
    if (
        sum(map(abs, values)) < HUGE_VALUE
        and cls == int(cls)
        and cx <= _MAX_NORMALIZED
        and cy <= _MAX_NORMALIZED
        and -NORMALIZED_TOLERANCE <= bw <= _MAX_NORMALIZED
        and -NORMALIZED_TOLERANCE <= bh <= _MAX_NORMALIZED
    ):
        return values
    return None


def _without_bom(text: str) -> str:
    """The text without a leading UTF-8 byte order mark (Windows Notepad writes one), else unchanged."""
    return text[1:] if text.startswith("\ufeff") else text


def label_file_limit_problem(size: int, data: bytes | None) -> str | None:
    """Why a label file is too large to parse (a message), or None.

    ``data`` None means the reader stopped at the byte limit without keeping the
    bytes; else the lines are counted before anything is decoded or parsed.
    """
    if data is None or size > MAX_LABEL_BYTES:
        return (
            f"label file is {size / 2**20:.0f} MiB, over the {MAX_LABEL_BYTES // 2**20} MiB limit for one "
            "image's labels: it was not read; it is probably not a label file, or regenerate it"
        )
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
    if lines > MAX_LABEL_LINES:
        return (
            f"label file has {lines} lines, over the limit of {MAX_LABEL_LINES:,} objects for one "
            "image: it was not read; it is probably not a label file, or regenerate it"
        )
    return None


def _parse_line(line: str, lineno: int, layout: LabelLayout, w: float, h: float, out: ParsedLabels) -> Instance | None:
    tokens = line.split()
    index = len(out.instances)
    if len(tokens) != layout.columns:
        out.issues.append(
            ParsedIssue(
                Severity.ERROR,
                "column_count",
                f"line has {len(tokens)} columns, expected {layout.describe()}: fix or delete the line",
                lineno,
                fix=DeleteLine(line),
            )
        )
        return None
    try:
        values = [float(t) for t in tokens]
    except ValueError:
        bad = next(t for t in tokens if not _is_float(t))
        out.issues.append(
            ParsedIssue(
                Severity.ERROR,
                "not_a_number",
                f"'{bad}' is not a number: fix or delete the line",
                lineno,
                fix=DeleteLine(line),
            )
        )
        return None
    if not all(math.isfinite(v) and abs(v) < HUGE_VALUE for v in values):
        # 1e308 is finite but becomes inf once scaled to pixels; no label value is that large.
        out.issues.append(
            ParsedIssue(
                Severity.ERROR,
                "not_a_number",
                "line holds nan, inf or a value too large to be a coordinate: fix or delete the line",
                lineno,
                fix=DeleteLine(line),
            )
        )
        return None
    cls_value = values[0]
    if cls_value != int(cls_value):
        out.issues.append(
            ParsedIssue(
                Severity.ERROR,
                "class_not_integer",
                f"class id '{tokens[0]}' is not an integer: write the class index (0, 1, ...)",
                lineno,
                fix=DeleteLine(line),
            )
        )
        return None
    cx, cy, bw, bh = values[1:5]
    if max(cx, cy, bw, bh) > _MAX_NORMALIZED or min(bw, bh) < -NORMALIZED_TOLERANCE:
        out.issues.append(
            ParsedIssue(
                Severity.ERROR,
                "not_normalized",
                f"box values ({tokens[1]} {tokens[2]} {tokens[3]} {tokens[4]}) are not normalized to 0..1: "
                "YOLO wants center x/y and width/height divided by the image width/height",
                lineno,
                index,
            )
        )
    return _instance(values, layout, w, h, lineno, index, out)


def _instance(
    values: list[float], layout: LabelLayout, w: float, h: float, lineno: int, index: int, out: ParsedLabels
) -> Instance:
    """A line's checked numbers as a pixel-space instance: the one conversion both parse paths share."""
    cls, cx, cy, bw, bh = values[:5]
    box = np.array([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
    keypoints = None
    if layout.kind != "det":
        keypoints = _parse_keypoints(values[5:], layout, w, h, lineno, index, out)
    return Instance(int(cls), box, keypoints)


def _parse_keypoints(
    vals: list[float], layout: LabelLayout, w: float, h: float, lineno: int, index: int, out: ParsedLabels
) -> np.ndarray:
    k = layout.num_keypoints
    kps = np.zeros((k, 3), dtype=np.float64)
    per = 2 if layout.kind == "face" else layout.dims
    not_normalized = False
    for i in range(k):
        x, y = vals[i * per], vals[i * per + 1]
        if layout.kind == "face":
            if x == -1 and y == -1:
                continue  # missing
            if x == -1 or y == -1:
                out.issues.append(
                    ParsedIssue(
                        Severity.ERROR,
                        "keypoint_half_missing",
                        f"landmark {i} has one coordinate -1 ({format_number(x)} {format_number(y)}): "
                        "write '-1 -1' for a missing point or give both coordinates",
                        lineno,
                        index,
                        fix=MarkKeypointMissing(index, i),
                    )
                )
                continue
            v = 2.0
        else:
            v = vals[i * per + 2] if per == 3 else (0.0 if x == 0 and y == 0 else 2.0)
            if v not in (0.0, 1.0, 2.0):
                out.issues.append(
                    ParsedIssue(
                        Severity.ERROR,
                        "bad_visibility",
                        f"{keypoint_label(i)} has visibility {format_number(v)}: "
                        "use 0 (missing), 1 (occluded) or 2 (visible)",
                        lineno,
                        index,
                        fix=SetVisibility(index, i, 2),
                    )
                )
                v = 2.0 if v > 0 else 0.0
            if v == 0:
                continue
        if max(x, y) > 1 + NORMALIZED_TOLERANCE or min(x, y) < -NORMALIZED_TOLERANCE:
            not_normalized = True
        kps[i] = (x * w, y * h, v)
    if not_normalized:
        out.issues.append(
            ParsedIssue(
                Severity.ERROR,
                "not_normalized",
                "keypoint coordinates are not normalized to 0..1: divide x by the image width and y by "
                "the image height",
                lineno,
                index,
            )
        )
    return kps


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def format_label_text(
    instances: list[Instance], layout: LabelLayout, width: float, height: float, extra_lines: list[str] | None = None
) -> str:
    """Write instances as YOLO lines; unparsed lines the user wrote are kept at the end."""
    lines = [format_label_line(inst, layout, width, height) for inst in instances]
    lines.extend(extra_lines or [])
    return "".join(line + "\n" for line in lines)


def format_label_line(inst: Instance, layout: LabelLayout, width: float, height: float) -> str:
    x1, y1, x2, y2 = inst.box
    cols = [
        str(int(inst.class_id)),
        format_number((x1 + x2) / 2 / width),
        format_number((y1 + y2) / 2 / height),
        format_number((x2 - x1) / width),
        format_number((y2 - y1) / height),
    ]
    if layout.kind != "det":
        k = layout.num_keypoints
        kps = inst.keypoints if inst.keypoints is not None else np.zeros((k, 3))
        if kps.shape[0] != k:  # a schema change: pad or cut, never write a wrong column count
            padded = np.zeros((k, 3))
            n = min(k, kps.shape[0])
            padded[:n] = kps[:n]
            kps = padded
        for x, y, v in kps:
            if layout.kind == "face":
                cols += ["-1", "-1"] if v == 0 else [format_number(x / width), format_number(y / height)]
            elif v == 0:
                cols += ["0", "0", "0"] if layout.dims == 3 else ["0", "0"]
            else:
                cols += [format_number(x / width), format_number(y / height)]
                if layout.dims == 3:
                    cols.append(str(int(v)))
    return " ".join(cols)


def guess_layout_from_columns(counts: list[int]) -> LabelLayout | None:
    """A layout for a yaml that says nothing about keypoints, from the lines' column counts.

    yolov5-face datasets come with a yaml like widerface.yaml (train, val, nc, names)
    and 15-column lines; the column count is the only evidence, so the most common
    count decides. ``None`` when there are no lines to look at.
    """
    if not counts:
        return None
    values, freq = np.unique(np.asarray(counts), return_counts=True)
    common = int(values[np.argmax(freq)])
    # A line of a million numbers is a broken file, not a million-point face schema (every
    # export would name that many keypoints): past MAX_KEYPOINTS the lines are plain boxes
    # with too many columns, and each says so.
    if common > 5 and (common - 5) % 2 == 0 and (common - 5) // 2 <= MAX_KEYPOINTS:
        return LabelLayout("face", (common - 5) // 2, 2)
    return LabelLayout("det")


def _same_values(a: Instance, b: Instance) -> bool:
    """Exactly the values the line gave (a float round trip of the same text is exact)."""
    if a.class_id != b.class_id or not np.array_equal(a.box, b.box):
        return False
    if a.keypoints is None or b.keypoints is None:
        return a.keypoints is None and b.keypoints is None
    return a.keypoints.shape == b.keypoints.shape and bool(np.array_equal(a.keypoints, b.keypoints))


def replace_undecodable(line: str) -> str:
    """A line as the reader saw it: bytes that are not UTF-8 (kept as surrogates) become U+FFFD."""
    return line.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def minimal_label_text(
    instances: list[Instance],
    extra_lines: list[str],
    layout: LabelLayout,
    width: float,
    height: float,
    label_file: Path,
    old_text: str | None,
) -> str:
    """The label file's new text, changing only the lines of edited, deleted or added labels.

    Untouched lines go back byte for byte (``0.756420`` stays ``0.756420``, CRLF stays CRLF,
    unparseable lines stay where they were), so a save after an edit and its undo writes
    nothing, line numbers in reports stay true, and a git diff shows only the real edit.
    An instance owns the line it was read from (``source.line``); edited, its new text takes
    that line's place; new instances are appended. ``old_text`` may hold bytes that are not
    UTF-8 as ``surrogateescape`` characters: such a line is kept as it was (the reader saw it
    with U+FFFD in their place, which is how ``extra_lines`` names it).
    """
    if old_text is None:
        return format_label_text(instances, layout, width, height, extra_lines)
    bom = "\ufeff" if old_text.startswith("\ufeff") else ""
    raw_lines = _without_bom(old_text).splitlines(keepends=True)
    newline = "\r\n" if raw_lines and raw_lines[0].endswith("\r\n") else "\n"
    parsed = parse_label_text(old_text, layout, width, height, label_file)
    by_line = {inst.source.line: inst for inst in parsed.instances if inst.source is not None}
    mine: dict[int, Instance] = {}
    added: list[Instance] = []
    for inst in instances:
        line = inst.source.line if inst.source is not None and inst.source.label_file == label_file else None
        if line in by_line and line not in mine:
            mine[line] = inst
        else:
            added.append(inst)
    extras = list(extra_lines)
    out: list[str] = []
    for lineno, raw in enumerate(raw_lines, start=1):
        ending = raw[len(raw.rstrip("\r\n")) :]
        if lineno in by_line:
            inst = mine.get(lineno)
            if inst is None:
                continue  # deleted
            if _same_values(inst, by_line[lineno]):
                out.append(raw)
            else:
                out.append(format_label_line(inst, layout, width, height) + (ending or newline))
        elif not raw.strip():
            out.append(raw)
        elif (as_read := replace_undecodable(raw.strip())) in extras:
            extras.remove(as_read)
            out.append(raw)
        # else: an unparseable line the user deleted
    tail = [format_label_line(inst, layout, width, height) for inst in added] + extras
    if tail and out and not out[-1].endswith(("\n", "\r")):
        out[-1] += newline
    out.extend(line + newline for line in tail)
    return bom + "".join(out)

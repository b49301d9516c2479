"""Pascal VOC XML (what labelImg writes) <-> the core model.

One XML per image: ``filename``, ``size`` (width, height, depth) and ``object``
elements with ``name``, ``pose``, ``truncated``, ``difficult`` and a ``bndbox`` of
``xmin ymin xmax ymax``.

Choices, stated once:

- Coordinates are taken as the pixel values written, with no 1-based shift. VOC's
  devkit counts pixels from 1, labelImg from 0; shifting by one would move every box
  read from the other tool, and a round trip through workbench must return the same
  numbers. Whole numbers are written as integers (as labelImg does); fractional
  pixel values, which a YOLO or COCO source has, are written as decimals so a round
  trip is lossless (scripts that do ``int(text)`` need ``int(float(text))``).
- ``difficult`` becomes ``Instance.iscrowd``: both mean "do not count this object
  for or against a detector" (VOC evaluation ignores difficult objects as COCO
  ignores crowds), so the flag survives VOC -> COCO -> VOC. ``pose``, ``truncated``
  and any other elements of an object the user did not edit are written back as read.

Layouts: a VOC2007-style root (``Annotations/``, ``JPEGImages/``,
``ImageSets/Main/{train,val,test}.txt`` for the splits), or labelImg's: XML beside the
images, or a folder of XML and a folder of images (optionally inside ``train/``,
``val/``, ``test/`` folders). Classes come from ``classes.txt`` or labelImg's
``predefined_classes.txt`` when present (records then load lazily); otherwise every
XML is read at open and the classes are the sorted names found.

XML is parsed with expat directly so that every element has its line number (for
findings) and entity declarations are refused (no billion-laughs expansion).
"""

from __future__ import annotations

import copy
import hashlib
import math
import os
import xml.etree.ElementTree as ET
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord, Instance, Source
from workbench.core.atomic import atomic_write_bytes, atomic_write_text
from workbench.core.findings import Finding, Severity
from workbench.core.imageheader import IMAGE_SUFFIXES, read_image_header
from workbench.core.paths import OUTSIDE_FIX, contained_path, is_file
from workbench.core.reading import read_regular_bytes, read_regular_text
from workbench.formats.base import DatasetError, format_number, note_image_header, record_finding
from workbench.formats.files import class_list_text, link_or_copy, list_images, unique_file_name
from workbench.formats.originals import match_originals
from workbench.formats.voc_xml import ParsedXml, Splicer, XmlError, declared_encoding, indent_unit, parse_xml_spans

CLASS_FILES = ("classes.txt", "predefined_classes.txt", "data/predefined_classes.txt")
_SPLIT_FOLDERS = {"train": "train", "val": "val", "valid": "val", "validation": "val", "test": "test"}
_XML_FOLDERS = ("annotations", "labels", "xml", "xmls")
_IMAGE_FOLDERS = ("images", "jpegimages", "imgs")


# --------------------------------------------------------------------------- XML


def parse_xml(data: bytes) -> tuple[ET.Element, dict[ET.Element, int]]:
    """An ElementTree plus the line each element starts on; raises XmlError."""
    parsed = parse_xml_spans(data)
    return parsed.root, parsed.lines


def _text(el: ET.Element | None, tag: str) -> str | None:
    child = el.find(tag) if el is not None else None
    return child.text.strip() if child is not None and child.text is not None else None


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


# --------------------------------------------------------------------------- reading


def looks_like_voc(path: Path) -> bool:
    """An .xml file, or a folder with ``Annotations/`` (VOC2007) or .xml files beside the images (labelImg)."""
    if path.is_file():
        return path.suffix.lower() == ".xml"
    return (path / "Annotations").is_dir() or any(path.glob("*.xml"))


def read_voc(path: Path) -> Dataset:
    """Open a VOC root, a labelImg folder, or the folder of one of its XML files."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    folder = path.parent if path.is_file() else path
    if folder.name == "Annotations" or (path.is_file() and folder.name.lower() in _XML_FOLDERS):
        folder = folder.parent
    root = folder.resolve()
    clashes: list[Clash] = []
    items = _voc2007_items(root, clashes) if (root / "Annotations").is_dir() else _labelimg_items(root, clashes)
    if not items:
        raise DatasetError(f"{root}: no VOC .xml annotations or images found")
    classes_file = next((root / c for c in CLASS_FILES if (root / c).is_file()), None)
    if classes_file is None:
        xml_dirs = {label.parent for _, label, _, _ in items}
        classes_file = next((d / c for d in sorted(xml_dirs) for c in CLASS_FILES if (d / c).is_file()), None)
    classes: list[str] = []
    if classes_file is not None:
        text = read_regular_text(classes_file, "utf-8-sig", errors="replace")  # a BOM is not part of a name
        classes = [c.strip() for c in text.splitlines() if c.strip()]
    ds = Dataset(root=root, classes=classes, format="voc", source=path, config_file=classes_file)
    ds.meta["voc_class_index"] = {c: i for i, c in enumerate(classes)}
    for xml, kept, left_out in clashes:
        ds.findings.append(
            Finding(
                Severity.WARNING,
                "label_file_shared",
                f"{kept.name} and {left_out.name} would both take their labels from {xml.name} (VOC pairs an "
                f"annotation with the image of the same name without its extension): {xml.name} goes with "
                f"{kept.name}, and {left_out.name} is left out; rename it so it can have its own annotation",
                image=ds.rel(left_out),
                label_file=ds.rel(xml),
            )
        )
    for split, label, has_labels, image in items:
        rec = ImageRecord(path=image, split=split, label_path=label, has_labels=has_labels, loaded=False)
        rec._loader = partial(_load_record, ds)
        ds.records.append(rec)
    if classes_file is None:
        # Class ids must not depend on which image was opened first: read all, then sort.
        ds.load_all()
        order = sorted(ds.classes)
        remap = {old: order.index(name) for old, name in enumerate(ds.classes)}
        for rec in ds.records:
            for inst in rec.instances:
                inst.class_id = remap[inst.class_id]
        ds.classes = order
        ds.meta["voc_class_index"] = {c: i for i, c in enumerate(order)}
    return ds


Item = tuple[str, Path, bool, Path]  # split, xml path, xml exists, image path
Clash = tuple[Path, Path, Path]  # xml, the image it goes with, an image of the same stem left out


def _voc2007_items(root: Path, clashes: list[Clash]) -> list[Item]:
    xml_dir = root / "Annotations"
    img_dir = next((root / d for d in ("JPEGImages", "images") if (root / d).is_dir()), root / "JPEGImages")
    split_of: dict[str, str] = {}
    main = root / "ImageSets" / "Main"
    for split, name in (("train", "train"), ("val", "val"), ("test", "test"), ("train", "trainval")):
        f = main / f"{name}.txt"
        if f.is_file():
            for line in read_regular_text(f, errors="replace").splitlines():
                for stem in _listed_stems(line):
                    split_of.setdefault(stem, split)
    return _pair(xml_dir, [img_dir], lambda stem: split_of.get(stem, "train"), clashes)


def _listed_stems(line: str) -> list[str]:
    """The image names a split-list line may mean, most exact first.

    A name may hold spaces, even leading ones (``a b``, `` e``), so the whole line comes
    first; then the line without surrounding blanks; VOC's per-class form ``000001  1``
    (a -1/0/1 flag after the id) means the id.
    """
    tokens = line.split()
    if not tokens:
        return []
    out = [line, line.strip()]
    if len(tokens) == 2 and tokens[1] in ("-1", "0", "1"):
        out.append(tokens[0])
    return out


def _labelimg_items(root: Path, clashes: list[Clash]) -> list[Item]:
    split_dirs = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name.lower() in _SPLIT_FOLDERS]
    split_dirs = [d for d in split_dirs if _xml_folder(d) is not None]
    units = [(_SPLIT_FOLDERS[d.name.lower()], d) for d in split_dirs] or [("train", root)]
    items: list[Item] = []
    for split, folder in units:
        xml_dir = _xml_folder(folder) or folder
        img_dirs = [xml_dir, folder] + [
            d for d in sorted(folder.iterdir()) if d.is_dir() and d.name.lower() in _IMAGE_FOLDERS
        ]
        items.extend(_pair(xml_dir, img_dirs, lambda _stem, s=split: s, clashes))
    return items


def _xml_folder(folder: Path) -> Path | None:
    if any(folder.glob("*.xml")):
        return folder
    for d in sorted(folder.iterdir()):
        if d.is_dir() and d.name.lower() in _XML_FOLDERS and any(d.glob("*.xml")):
            return d
    return None


def _pair(xml_dir: Path, img_dirs: list[Path], split_of: Any, clashes: list[Clash]) -> list[Item]:
    """One item per stem found in the xml folder or the image folders (listings only).

    Several images of one stem (``a.jpg``, ``a.png``) cannot each have an ``a.xml``: the
    annotation goes with the image its ``<filename>`` names (read only for such stems),
    else the first; the others are left out and listed in ``clashes``.
    """
    images: dict[str, list[Path]] = {}
    for d in dict.fromkeys(img_dirs):
        if not d.is_dir():
            continue
        found = (
            list_images(d)
            if d.name.lower() in _IMAGE_FOLDERS
            else [d / n for n in sorted(os.listdir(d)) if os.path.splitext(n)[1].lower() in IMAGE_SUFFIXES]
        )
        for img in found:
            same = images.setdefault(img.stem, [])
            resolved = img.resolve()
            if resolved not in same:
                same.append(resolved)
    xmls = {p.stem: p.resolve() for p in sorted(xml_dir.glob("*.xml"))} if xml_dir.is_dir() else {}
    renamed = _pair_by_filename(xmls, images, img_dirs[-1].resolve())
    items = []
    for stem in sorted(set(images) | set(xmls)):
        xml = xmls.get(stem, xml_dir.resolve() / f"{stem}.xml")
        found = [renamed[stem]] if stem in renamed else images.get(stem) or [img_dirs[-1].resolve() / f"{stem}.jpg"]
        image = found[0]
        if len(found) > 1:
            named = _named_image(xml) if stem in xmls else None
            image = next((f for f in found if f.name == named), image)
            clashes.extend((xml, image, other) for other in found if other != image)
        items.append((split_of(stem), xml, stem in xmls, image))
    return items


def _pair_by_filename(xmls: dict[str, Path], images: dict[str, list[Path]], folder: Path) -> dict[str, Path]:
    """Annotations with no image of their own stem, paired with the image their ``<filename>`` names.

    labelImg keeps ``<filename>`` when an .xml is renamed. Paired only at load time, the
    image was also listed on its own, unlabeled: it trained as background beside the
    copy with its boxes, and two such .xml files naming it made two more copies. Here an
    image goes to one annotation, and only when it has no .xml of its own; it is then
    taken out of ``images``. Only the .xml files without an image are read.
    """
    renamed: dict[str, Path] = {}
    for stem in sorted(set(xmls) - set(images)):
        named = _named_text(xmls[stem])
        target = contained_path(folder, named) if named else None
        if target is None:
            continue  # missing, or leading outside: reported when the record loads
        other = images.get(target.stem, [])
        match = next((f for f in other if f == target.resolve()), None)
        if match is None or target.stem in xmls:
            continue
        renamed[stem] = match
        other.remove(match)
        if not other:
            del images[target.stem]
    return renamed


def _named_text(xml: Path) -> str | None:
    """The ``<filename>`` text of an annotation, or None when it cannot be read."""
    try:
        root, _ = parse_xml(read_regular_bytes(xml))
    except (OSError, ValueError, XmlError):
        return None
    return _text(root, "filename")


def _named_image(xml: Path) -> str | None:
    """The base name in an annotation's ``<filename>``, or None when it cannot be read."""
    named = _named_text(xml)
    return named.replace("\\", "/").rsplit("/", 1)[-1] if named else None


def _load_record(ds: Dataset, rec: ImageRecord) -> None:
    tree = _parse_record_xml(ds, rec) if rec.has_labels and rec.label_path is not None else None
    if tree is not None and not is_file(rec.path):
        # labelImg names the image in <filename>; the stem match may have missed it.
        named = _text(tree[0], "filename")
        target = contained_path(rec.path.parent, named) if named else None
        if named and target is None:
            rec.findings.append(
                record_finding(
                    ds,
                    rec,
                    Severity.ERROR,
                    "path_outside_dataset",
                    f"<filename>{named}</filename> leads outside the image folder {rec.path.parent}; it was not "
                    f"read: {OUTSIDE_FIX}",
                )
            )
            return
        if target is not None and is_file(target):
            owner = next((r for r in ds.records if r is not rec and r.path == target), None)
            if owner is not None:
                # The image is another annotation's (or listed on its own): pairing it here too
                # would give one picture two sets of labels.
                rec.findings.append(
                    record_finding(
                        ds,
                        rec,
                        Severity.WARNING,
                        "label_file_shared",
                        f"<filename>{named}</filename> names {ds.rel(target)}, which already goes with "
                        f"{ds.rel(owner.label_path) if owner.has_labels else 'no annotation (it is listed on its own)'}"
                        ": these boxes were not given to it; merge the two annotations into one .xml",
                    )
                )
                return
            rec.path = target
    note_image_header(
        ds,
        rec,
        read_image_header(rec.path),
        f"annotation has no image (looked for {rec.path.name}): restore the image or delete the .xml",
    )
    if tree is not None:
        _read_objects(ds, rec, *tree)


def _parse_record_xml(ds: Dataset, rec: ImageRecord) -> tuple[ET.Element, dict[ET.Element, int]] | None:
    assert rec.label_path is not None
    try:
        data = read_regular_bytes(rec.label_path)
    except OSError as e:
        rec.findings.append(
            record_finding(
                ds, rec, Severity.ERROR, "unreadable_label", f"annotation file cannot be read ({e.strerror or e})"
            )
        )
        return None
    try:
        parsed = parse_xml_spans(data)
    except XmlError as e:
        rec.meta["voc_broken"] = data
        rec.findings.append(
            record_finding(
                ds,
                rec,
                Severity.ERROR,
                "voc_bad_xml",
                f"not valid XML at line {e.line}, column {e.column} ({e}): fix the file (saving an edit keeps "
                "the broken text as .xml.broken)",
                line=e.line,
            )
        )
        return None
    root = parsed.root
    # What the tree was read from: a save splices these bytes, re-read then (keeping every
    # record's byte spans would cost more memory than its tree), if they are still the same.
    rec.meta["voc_digest"] = _digest(data)
    if root.tag != "annotation":
        rec.findings.append(
            record_finding(
                ds, rec, Severity.ERROR, "voc_bad_xml", f"root element is <{root.tag}>, expected <annotation>", line=1
            )
        )
    return root, parsed.lines


def _read_objects(ds: Dataset, rec: ImageRecord, root: ET.Element, lines: dict[ET.Element, int]) -> None:
    rec.meta["voc_tree"] = root
    rec.meta["voc_objects"] = []
    rec.meta["voc_unparsed"] = []
    size = root.find("size")
    xml_w, xml_h = _number(_text(size, "width")), _number(_text(size, "height"))
    if rec.width is None and xml_w and xml_h and xml_w >= 1 and xml_h >= 1:
        rec.width, rec.height = int(xml_w), int(xml_h)
    elif rec.width is not None and xml_w and xml_h and (int(xml_w), int(xml_h)) != (rec.width, rec.height):
        rec.findings.append(
            record_finding(
                ds,
                rec,
                Severity.WARNING,
                "voc_size_mismatch",
                f"<size> says {int(xml_w)}x{int(xml_h)} but the image is {rec.width}x{rec.height}: boxes may be "
                "scaled for another image; fix <size> or the boxes",
                line=lines.get(size),
            )
        )
    for obj in root.findall("object"):
        line = lines.get(obj)
        inst = _read_object(ds, rec, obj, line)
        if inst is None:
            rec.meta["voc_unparsed"].append(obj)
            continue
        rec.instances.append(inst)
        rec.meta["voc_objects"].append(obj)


def _read_object(ds: Dataset, rec: ImageRecord, obj: ET.Element, line: int | None) -> Instance | None:
    name = _text(obj, "name")
    box_el = obj.find("bndbox")
    values = [_number(_text(box_el, t)) for t in ("xmin", "ymin", "xmax", "ymax")]
    if not name or box_el is None or any(v is None for v in values):
        what = "no <name>" if not name else "no <bndbox> with numeric xmin, ymin, xmax, ymax"
        rec.findings.append(
            record_finding(
                ds, rec, Severity.ERROR, "voc_bad_object", f"<object> has {what}: fix or delete it", line=line
            )
        )
        return None
    index = ds.meta["voc_class_index"]
    if name not in index:
        index[name] = len(ds.classes)
        ds.classes.append(name)
        if ds.config_file is not None:
            rec.findings.append(
                record_finding(
                    ds,
                    rec,
                    Severity.WARNING,
                    "voc_unknown_class",
                    f"class '{name}' is not in {ds.config_file.name}; it was added as class {index[name]}: "
                    f"add it to {ds.config_file.name} or fix the name",
                    line=line,
                    instance=len(rec.instances),
                )
            )
    difficult_text = _text(obj, "difficult")
    difficult = _number(difficult_text)
    if difficult_text and difficult not in (0.0, 1.0):
        # Read as not difficult, as before; said, because a tool that wrote 'true' or 'yes'
        # meant the opposite.
        rec.findings.append(
            record_finding(
                ds,
                rec,
                Severity.WARNING,
                "voc_bad_difficult",
                f"<difficult>{difficult_text[:40]}</difficult> is not 0 or 1; read as "
                f"{'difficult' if difficult else 'not difficult'}: write 0 or 1",
                line=line,
                instance=len(rec.instances),
            )
        )
    return Instance(
        index[name], np.array(values, dtype=np.float64), None, Source(rec.label_path, line), iscrowd=bool(difficult)
    )


# --------------------------------------------------------------------------- writing


def _object_element(inst: Instance, classes: list[str]) -> ET.Element:
    obj = ET.Element("object")
    ET.SubElement(obj, "name").text = _class_name(inst, classes)
    ET.SubElement(obj, "pose").text = "Unspecified"
    ET.SubElement(obj, "truncated").text = "0"
    ET.SubElement(obj, "difficult").text = "1" if inst.iscrowd else "0"
    box = ET.SubElement(obj, "bndbox")
    for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), inst.box, strict=True):
        ET.SubElement(box, tag).text = format_number(float(v))
    return obj


def _set_child(parent: ET.Element, tag: str, text: str) -> ET.Element:
    el = parent.find(tag)
    if el is None:
        el = ET.SubElement(parent, tag)
    el.text = text
    return el


def _annotation_root(rec: ImageRecord, filename: str, folder: str, base: ET.Element | None) -> ET.Element:
    """The <annotation> without objects: the one read (all its other elements kept) or a new one."""
    if base is not None and base.tag == "annotation":
        root = copy.deepcopy(base)
        for obj in root.findall("object"):
            root.remove(obj)
    else:
        root = ET.Element("annotation")
        ET.SubElement(root, "folder").text = folder
        ET.SubElement(root, "filename").text = filename
    if rec.width is not None and rec.height is not None:
        size = root.find("size")
        if size is None:
            size = ET.SubElement(root, "size")
        _set_child(size, "width", str(rec.width))
        _set_child(size, "height", str(rec.height))
        if size.find("depth") is None:
            ET.SubElement(size, "depth").text = "3"
    if root.find("segmented") is None:
        ET.SubElement(root, "segmented").text = "0"
    return root


def _xml_bytes(root: ET.Element) -> bytes:
    for el in root.iter():  # drop the old indentation so ET.indent lays it out afresh
        if len(el) and el.text is not None and not el.text.strip():
            el.text = None
        if el.tail is not None and not el.tail.strip():
            el.tail = None
    ET.indent(root, space="\t")
    return ET.tostring(root, encoding="utf-8") + b"\n"


def save_voc(ds: Dataset, records: list[ImageRecord] | None = None) -> list[Path]:
    """Rewrite the XML of edited records only, atomically; returns the files written."""
    written = []
    for rec in records if records is not None else ds.dirty_records():
        if rec.label_path is None:
            continue
        rec.ensure_loaded()
        base = rec.meta.get("voc_tree")
        originals = [(inst, obj) for inst, obj in _reread(ds, rec)]
        matched = match_originals(rec.instances, originals)
        if (
            "voc_broken" not in rec.meta
            and len(matched) == len(originals)
            and all(m is o for m, (_, o) in zip(matched, originals, strict=True))
        ):
            rec.dirty = False  # the same objects in the same order (an edit and its undo): nothing to write
            continue
        spliced = _spliced(ds, rec, originals, matched)
        if spliced is not None:
            if _digest(spliced) != rec.meta.get("voc_digest"):
                atomic_write_bytes(rec.label_path, spliced)
                written.append(rec.label_path)
            _remember_saved(ds, rec, parse_xml_spans(spliced))
            rec.dirty = False
            continue
        root = _annotation_root(rec, rec.path.name, rec.path.parent.name, base)
        objects = []
        for inst, orig in zip(rec.instances, matched, strict=True):
            objects.append(copy.deepcopy(orig) if orig is not None else _object_element(inst, ds.classes))
        root.extend(objects + [copy.deepcopy(o) for o in rec.meta.get("voc_unparsed", [])])
        broken = rec.meta.pop("voc_broken", None)
        if broken is not None:
            backup = rec.label_path.with_name(rec.label_path.name + ".broken")
            atomic_write_bytes(backup, broken)
            written.append(backup)
        data = _xml_bytes(root)
        atomic_write_bytes(rec.label_path, data)
        _remember_saved(ds, rec, parse_xml_spans(data))
        rec.dirty = False
        rec.has_labels = True
        written.append(rec.label_path)
    if ds.classes_dirty:
        path = ds.config_file or ds.root / "classes.txt"
        try:
            old = read_regular_text(path, errors="replace")
        except OSError:
            old = None
        text = class_list_text(list(ds.classes), old)
        # The same names (CRLF, blank lines or not) are the same file: added and undone, nothing to write.
        on_disk = [c.strip() for c in old.lstrip("\ufeff").splitlines() if c.strip()] if old is not None else None
        if on_disk != list(ds.classes):
            atomic_write_text(path, text)
            ds.config_file = path
            written.append(path)
        ds.classes_dirty = False  # only once written: a failed save keeps the class edit to save
    return written


def _remember_saved(ds: Dataset, rec: ImageRecord, parsed: ParsedXml) -> None:
    """The file as now written becomes what the next save compares and splices against."""
    probe = ImageRecord(path=rec.path, label_path=rec.label_path)
    objects = [o for o in parsed.root.findall("object")]
    readable = [o for o in objects if _read_object(ds, probe, o, None) is not None]
    rec.meta["voc_digest"] = _digest(parsed.data)
    rec.meta["voc_tree"] = parsed.root
    rec.meta["voc_objects"] = readable[: len(rec.instances)]
    for inst, obj in zip(rec.instances, readable, strict=False):
        # Lines moved with the objects inserted or deleted above: the next edit of this
        # instance is found by the line its object is on now.
        inst.source = Source(rec.label_path, parsed.lines.get(obj))
    rec.meta["voc_unparsed"] = [o for o in objects if not any(o is r for r in readable)]


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


def _reparsed_with_spans(rec: ImageRecord) -> ParsedXml | None:
    """The file's bytes with byte spans keyed by the elements of the tree read at load.

    None when the file is broken, gone, or no longer the bytes that tree was read from
    (edited by another program since): then a full save writes what the user sees.
    """
    base, digest = rec.meta.get("voc_tree"), rec.meta.get("voc_digest")
    if base is None or digest is None or "voc_broken" in rec.meta or rec.label_path is None:
        return None
    try:
        data = read_regular_bytes(rec.label_path)
        if _digest(data) != digest:
            return None
        fresh = parse_xml_spans(data)
    except (OSError, XmlError):
        return None
    old, new = list(base.iter()), list(fresh.root.iter())
    if len(old) != len(new) or any(o.tag != n.tag for o, n in zip(old, new, strict=True)):
        return None
    pairs = list(zip(old, new, strict=True))
    return ParsedXml(base, {o: fresh.lines[n] for o, n in pairs}, {o: fresh.spans[n] for o, n in pairs}, data)


def _spliced(
    ds: Dataset,
    rec: ImageRecord,
    originals: list[tuple[Instance, ET.Element]],
    matched: list[ET.Element | None],
) -> bytes | None:
    """The file's own bytes with only what the edit changed; None where a full rewrite is needed.

    Kept objects stay where they are, byte for byte; an edited one (paired with the object
    it was read from by its line) has only its changed texts replaced; a deleted one goes
    with the whitespace before it; a new one is indented like the others and placed after
    the object of the instance before it. Objects the user reordered, a broken or UTF-16
    file, or a shape the splice does not know: None.
    """
    parsed = _reparsed_with_spans(rec)
    base = rec.meta.get("voc_tree")
    if parsed is None or base is None or base.tag != "annotation":
        return None
    encoding = declared_encoding(parsed.data)
    if encoding is None:
        return None
    sp = Splicer(parsed, encoding)
    used = {id(m) for m in matched if m is not None}
    free_by_line: dict[int | None, list[tuple[Instance, ET.Element]]] = {}
    for was, obj in originals:
        if id(obj) not in used:
            free_by_line.setdefault(parsed.lines.get(obj), []).append((was, obj))
    slots: list[tuple[ET.Element | None, Instance | None]] = []
    for inst, m in zip(rec.instances, matched, strict=True):
        if m is not None:
            slots.append((m, None))
            continue
        line = inst.source.line if inst.source.label_file == rec.label_path else None
        candidates = free_by_line.get(line, []) if line is not None else []
        if len(candidates) == 1:  # two objects on one line cannot be told apart by it
            was, obj = candidates.pop()
            slots.append((obj, was))
        else:
            slots.append((None, None))
    file_objects = [obj for _, obj in originals]
    position = {id(o): i for i, o in enumerate(file_objects)}
    # Objects the instances now list out of file order: the longest run in order stays in
    # place, the others move (written anew where their instance now is, from their element).
    order = [(i, position[id(obj)]) for i, (obj, _) in enumerate(slots) if obj is not None]
    in_order = set(_longest_increasing(order))
    moved: dict[int, ET.Element] = {}
    for i, (obj, _) in enumerate(slots):
        if obj is not None and i not in in_order:
            moved[i] = obj
            slots[i] = (None, None)
    kept = [obj for obj, _ in slots if obj is not None]
    kept_ids = {id(o) for o in kept}
    for obj in file_objects:
        if id(obj) not in kept_ids:
            sp.delete(obj)
    reference = kept[0] if kept else (file_objects[0] if file_objects else None)
    children = list(base)
    if reference is None and not children:
        return None
    anchor = reference if reference is not None else children[0]
    indent = sp.indent_of(anchor)
    unit = indent_unit(sp, reference, indent, anchor)
    if not _update_size(sp, rec, base):
        return None
    previous: ET.Element | None = None
    removed = {id(o) for o in file_objects} - kept_ids
    for i, (inst, (obj, was)) in enumerate(zip(rec.instances, slots, strict=True)):
        if obj is not None:
            if was is not None and not _edit_in_place(sp, ds, obj, was, inst):
                sp.replace(obj, _edited_element(obj, inst, ds.classes), indent, unit)
            previous = obj
            continue
        if previous is not None:
            at = sp.parsed.spans[previous].end
        elif kept:
            at = sp.leading_space(kept[0])
        else:
            staying = [c for c in children if id(c) not in removed]
            if not staying:
                return None
            at = sp.parsed.spans[staying[-1]].end
        assert at is not None
        element = _edited_element(moved[i], inst, ds.classes) if i in moved else _object_element(inst, ds.classes)
        sp.insert(at, element, indent, unit)
    return sp.result()


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[int]:
    """The first items of a longest run of ``pairs`` whose second items increase (patience sorting)."""
    tails: list[int] = []  # index into pairs of the smallest tail of a run of each length
    back: list[int | None] = []
    for k, (_, value) in enumerate(pairs):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if pairs[tails[mid]][1] < value:
                lo = mid + 1
            else:
                hi = mid
        back.append(tails[lo - 1] if lo else None)
        if lo == len(tails):
            tails.append(k)
        else:
            tails[lo] = k
    out: list[int] = []
    k = tails[-1] if tails else None
    while k is not None:
        out.append(pairs[k][0])
        k = back[k]
    return out[::-1]


def _update_size(sp: Splicer, rec: ImageRecord, base: ET.Element) -> bool:
    """Write the image's size into an existing ``<size>`` that says otherwise (as a full save does)."""
    size = base.find("size")
    if size is None or rec.width is None or rec.height is None:
        return True
    for tag, value in (("width", rec.width), ("height", rec.height)):
        el = size.find(tag)
        if el is not None and _number(el.text) != value:
            if not sp.can_set_text(el):
                return False
            sp.set_text(el, str(value))
    return True


def _edit_in_place(sp: Splicer, ds: Dataset, obj: ET.Element, was: Instance, inst: Instance) -> bool:
    """Replace only the texts the edit changed; False when one of them has no text to replace."""
    changes: list[tuple[ET.Element | None, str]] = []
    if was.class_id != inst.class_id:
        changes.append((obj.find("name"), _class_name(inst, ds.classes)))
    box = obj.find("bndbox")
    for tag, old, new in zip(("xmin", "ymin", "xmax", "ymax"), was.box, inst.box, strict=True):
        if not math.isclose(float(old), float(new), rel_tol=0.0, abs_tol=1e-9):
            changes.append((box.find(tag) if box is not None else None, format_number(float(new))))
    if was.iscrowd != inst.iscrowd:
        changes.append((obj.find("difficult"), "1" if inst.iscrowd else "0"))
    if not all(sp.can_set_text(el) for el, _ in changes):
        return False
    for el, text in changes:
        assert el is not None
        sp.set_text(el, text)
    return True


def _edited_element(obj: ET.Element, inst: Instance, classes: list[str]) -> ET.Element:
    """The object as read, with the edited values: its other elements (pose, parts) kept."""
    new = copy.deepcopy(obj)
    _set_child(new, "name", _class_name(inst, classes))
    _set_child(new, "difficult", "1" if inst.iscrowd else "0")
    box = new.find("bndbox")
    if box is None:
        box = ET.SubElement(new, "bndbox")
    for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), inst.box, strict=True):
        _set_child(box, tag, format_number(float(v)))
    return new


def _class_name(inst: Instance, classes: list[str]) -> str:
    return classes[inst.class_id] if 0 <= inst.class_id < len(classes) else str(inst.class_id)


def _reread(ds: Dataset, rec: ImageRecord) -> list[tuple[Instance, ET.Element]]:
    """The objects as read, paired with what they parse to, to compare edits against."""
    out = []
    probe = ImageRecord(path=rec.path, label_path=rec.label_path)
    for obj in rec.meta.get("voc_objects", []):
        inst = _read_object(ds, probe, obj, None)
        if inst is not None:
            out.append((inst, obj))
    return out


def write_voc(ds: Dataset, out: Path) -> Path:
    """Export a VOC2007-style root: Annotations/, JPEGImages/, ImageSets/Main/<split>.txt, classes.txt.

    Keypoints are not representable in VOC and are left out. Returns ``out``.
    """
    out = Path(out)
    stems: set[str] = set()
    split_lists: dict[str, list[str]] = {}
    for rec in ds.load_all():
        if rec.width is None or rec.height is None or not is_file(rec.path):
            continue
        name = unique_file_name(rec.path, stems)
        link_or_copy(rec.path, out / "JPEGImages" / name)
        root = _annotation_root(rec, name, "JPEGImages", None)
        root.extend(_object_element(inst, ds.classes) for inst in rec.instances)
        atomic_write_bytes(out / "Annotations" / (Path(name).stem + ".xml"), _xml_bytes(root))
        split_lists.setdefault(rec.split, []).append(Path(name).stem)
    if not split_lists:
        raise DatasetError(f"{ds.source}: the dataset has no images to export")
    for split, names in split_lists.items():
        atomic_write_text(out / "ImageSets" / "Main" / f"{split}.txt", "".join(n + "\n" for n in names))
    atomic_write_text(out / "classes.txt", "".join(c + "\n" for c in ds.classes))
    return out

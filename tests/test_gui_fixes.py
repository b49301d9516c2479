"""A GUI quick fix is the CLI's fix: same files after saving, and undo puts the record back exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtGui import QUndoStack
from test_validate_data import make_yolo

from tests._dataset_builders import coco_json, write_image
from workbench.cli.main import main
from workbench.core.annotation import ImageRecord
from workbench.core.findings import Finding
from workbench.formats.registry import open_dataset, save_dataset
from workbench.gui.commands import EditNotifier
from workbench.gui.findings_panel import FindingsPanel, fix_command
from workbench.gui.validation_job import FindingsStore
from workbench.qa import validate_dataset

pytest.importorskip("pytestqt")

OK = "0 0.5 0.5 0.25 0.25\n"


def _coco(root: Path) -> Path:
    """A COCO json declaring 640x480 for a 64x48 image: an ``image_size_mismatch`` with a safe fix."""
    write_image(root / "a.jpg", 64, 48)
    return coco_json(
        root / "instances_train.json",
        [{"id": 1, "file_name": "a.jpg", "width": 640, "height": 480}],
        [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [16, 12, 32, 24]}],
        [{"id": 1, "name": "thing"}],
    )


CASES = {
    "box_outside_image": lambda root: make_yolo(root, {"a": OK + "0 0.95 0.5 0.2 0.2\n"}),
    "degenerate_box": lambda root: make_yolo(root, {"a": OK + "0 0.5 0.5 0 0.2\n" + OK.replace("0.5 0.5", "0.3 0.3")}),
    "duplicate": lambda root: make_yolo(root, {"a": OK + OK}),
    "image_size_mismatch": _coco,
}


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.suffix in (".txt", ".json")}


def _state(rec: ImageRecord) -> tuple:
    insts = [
        (i.class_id, tuple(i.box), None if i.keypoints is None else tuple(map(tuple, i.keypoints)), i.source)
        for i in rec.instances
    ]
    return insts, list(rec.extra_lines), list(rec.findings), rec.width, rec.height


def _only(findings: list[Finding], kind: str) -> Finding:
    (f,) = [f for f in findings if f.kind == kind]
    return f


@pytest.mark.parametrize("kind", list(CASES))
def test_gui_quick_fix_saves_what_validate_fix_saves_and_undoes_exactly(qtbot, tmp_path, kind):
    cli, gui = tmp_path / "cli", tmp_path / "gui"
    data = CASES[kind](cli)
    shutil.copytree(cli, gui)
    main(["validate", str(data), "--fix"])

    ds = open_dataset(gui / data.relative_to(cli))
    findings = validate_dataset(ds)
    f = _only(findings, kind)
    assert f.fix is not None and f.fix.safe
    rec = ds.records[0].ensure_loaded()
    before = _state(rec)
    stack, notifier = QUndoStack(), EditNotifier()
    cmd = fix_command(ds, FindingsStore(ds, findings), f, notifier)
    assert cmd is not None
    stack.push(cmd)
    assert _state(rec) != before
    stack.undo()
    assert _state(rec) == before
    stack.redo()
    save_dataset(ds)
    assert _files(gui) == _files(cli)
    assert not [g for g in validate_dataset(open_dataset(data)) if g.kind == kind]


def test_findings_panel_offers_take_image_size_for_a_coco_size_mismatch(qtbot, tmp_path):
    ann = _coco(tmp_path / "ds")
    ds = open_dataset(ann)
    findings = validate_dataset(ds)
    f = _only(findings, "image_size_mismatch")
    stack, notifier = QUndoStack(), EditNotifier()
    panel = FindingsPanel(stack, notifier)
    qtbot.addWidget(panel)
    panel.set_dataset(ds)
    panel.set_store(FindingsStore(ds, findings))
    assert panel.select_finding(f)
    assert panel.fix_button.isEnabled() and panel.fix_button.text() == "Fix: Take the image's size"
    rec = ds.records[0]
    before = _state(rec)
    with qtbot.waitSignal(notifier.editApplied):
        panel.fix_button.click()
    assert stack.undoText() == "Take the image's size (64x48)"
    assert not [g for g in rec.findings if g.kind == "image_size_mismatch"] and rec.dirty
    stack.undo()
    assert _state(rec) == before
    stack.redo()
    save_dataset(ds)
    assert json.loads(ann.read_text())["images"][0]["width"] == 64


def test_a_quick_fix_for_labels_that_changed_is_not_offered_as_a_command(qtbot, tmp_path):
    ds = open_dataset(make_yolo(tmp_path, {"a": OK + OK}))
    findings = validate_dataset(ds)
    f = _only(findings, "duplicate")
    rec = ds.records[0]
    rec.set_instances(rec.instances[:1])  # the duplicate was deleted by hand since
    assert fix_command(ds, FindingsStore(ds, findings), f, EditNotifier()) is None

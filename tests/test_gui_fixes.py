"""A GUI quick fix is the CLI's fix: same files after saving, and undo puts the record back exactly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QMessageBox
from test_validate_data import make_yolo

from tests._dataset_builders import coco_json, write_image
from tests._gui_window import open_window
from workbench.cli.main import main
from workbench.core.annotation import ImageRecord
from workbench.core.findings import Finding
from workbench.core.fix_actions import AddInstance, DeleteInstance
from workbench.core.prediction import Prediction
from workbench.formats.registry import open_dataset, save_dataset
from workbench.gui.commands import EditNotifier
from workbench.gui.findings_panel import FindingsPanel, fix_command
from workbench.gui.validation_job import FindingsStore
from workbench.qa import validate_dataset, validate_record
from workbench.sample_data import write_sample

pytest.importorskip("pytestqt")
pytest_plugins = ["tests._gui_fixtures"]  # the gui_sample fixture

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


# --------------------------------------------------------------------------- fixes that delete or add a label ask first


class _Answers:
    """Stands in for ``QMessageBox.question``: records each question and gives ``answer``."""

    def __init__(self, answer: QMessageBox.StandardButton) -> None:
        self.answer = answer
        self.asked: list[tuple] = []

    def __call__(self, parent, title, text, buttons, default):
        self.asked.append((title, text, buttons, default))
        return self.answer


def _panel(qtbot, ds, findings) -> tuple[FindingsPanel, QUndoStack]:
    stack = QUndoStack()
    panel = FindingsPanel(stack, EditNotifier())
    qtbot.addWidget(panel)
    panel.set_dataset(ds)
    panel.set_store(FindingsStore(ds, findings))
    return panel, stack


def test_a_near_duplicates_delete_asks_first_and_no_keeps_the_labels(qtbot, tmp_path, monkeypatch):
    ds = open_dataset(make_yolo(tmp_path, {"a": OK + "0 0.505 0.5 0.25 0.25\n"}))
    findings = validate_dataset(ds)
    f = _only(findings, "duplicate")
    assert isinstance(f.fix, DeleteInstance) and not f.fix.safe  # a near duplicate: maybe two objects
    panel, stack = _panel(qtbot, ds, findings)
    rec = ds.records[0]
    before = _state(rec)
    no = _Answers(QMessageBox.StandardButton.No)
    monkeypatch.setattr(QMessageBox, "question", no)
    assert panel.select_finding(f)
    panel.fix_button.click()
    (title, text, buttons, default) = no.asked[0]
    assert len(no.asked) == 1 and f.message in text and "Delete the" in text
    assert default == QMessageBox.StandardButton.No and buttons & QMessageBox.StandardButton.Yes
    assert _state(rec) == before and stack.count() == 0 and not rec.dirty

    yes = _Answers(QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QMessageBox, "question", yes)
    assert panel.apply_fix(f)
    assert len(yes.asked) == 1 and len(rec.instances) == 1 and stack.count() == 1


def test_certain_and_small_fixes_apply_without_asking(qtbot, tmp_path, monkeypatch):
    ds = open_dataset(make_yolo(tmp_path, {"a": OK + OK + "0 0.95 0.5 0.2 0.2\n"}))
    findings = validate_dataset(ds)
    panel, stack = _panel(qtbot, ds, findings)
    asked = _Answers(QMessageBox.StandardButton.No)
    monkeypatch.setattr(QMessageBox, "question", asked)
    assert panel.apply_fix(_only(findings, "box_outside_image"))  # a clip (the last box: indices hold)
    assert panel.apply_fix(_only(findings, "duplicate"))  # an exact duplicate: safe
    assert asked.asked == [] and stack.count() == 2 and len(ds.records[0].instances) == 2


def test_the_findings_quick_fix_on_a_shifted_box_moves_the_box_and_keeps_the_landmarks(qtbot, tmp_path, monkeypatch):
    """The sample's train_009: two correct landmarks outside a shifted box; one quick fix, no question."""
    ds = open_dataset(write_sample(tmp_path / "sample"))
    findings = validate_dataset(ds)
    panel, stack = _panel(qtbot, ds, findings)
    asked = _Answers(QMessageBox.StandardButton.No)
    monkeypatch.setattr(QMessageBox, "question", asked)
    outside = [f for f in findings if f.kind == "keypoint_outside_box" and f.image.endswith("train_009.jpg")]
    assert len(outside) == 2
    rec = next(r for r in ds.records if r.path.name == "train_009.jpg")
    landmarks = rec.instances[0].keypoints.copy()
    assert panel.select_finding(outside[0])
    assert panel.fix_button.text() == "Fix: Move the box over its keypoints"
    panel.fix_button.click()
    assert asked.asked == [] and stack.undoText() == "Move the box over its keypoints"
    assert rec.instances[0].keypoints.tolist() == landmarks.tolist()
    assert not [g for g in validate_record(ds, rec) if g.kind == "keypoint_outside_box"]  # both cleared
    stack.undo()
    assert len([g for g in validate_record(ds, rec) if g.kind == "keypoint_outside_box"]) == 2


class _LabelsPredictor:
    """A model that sees each label of the sample as it is, except one it cannot find (train_002's
    first: a spurious label to QC) and one object nobody labeled (train_003, at a low score)."""

    def __init__(self, data: Path) -> None:
        ds = open_dataset(data)
        self.classes = list(ds.classes)
        self.preds: dict[str, list[Prediction]] = {}
        for rec in ds.records:
            preds = []
            for inst in rec.ensure_loaded().instances:
                kps = np.column_stack([inst.keypoints[:, :2], np.where(inst.keypoints[:, 2] > 0, 0.9, 0.0)])
                preds.append(Prediction(min(inst.class_id, 2), inst.box, 0.9, kps))
            self.preds[rec.path.name] = preds
        self.preds["train_002.jpg"] = self.preds["train_002.jpg"][1:]
        self.preds["train_003.jpg"].append(Prediction(1, np.array([2.0, 2.0, 34.0, 34.0]), 0.4, np.zeros((5, 3))))

    def predict_paths(self, paths, batch_size=4, conf=None, progress=None):
        return {Path(p): self.preds.get(Path(p).name, []) for p in paths}


@pytest.mark.parametrize(("kind", "image"), [("spurious_label", "train_002.jpg"), ("missing_label", "train_003.jpg")])
def test_a_qc_fix_that_deletes_or_adds_a_label_asks_first(qtbot, monkeypatch, tmp_path, gui_sample, kind, image):
    predictor = _LabelsPredictor(gui_sample)
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, predictor_factory=lambda _weights: predictor)
    panel = w.tools.label_qc_panel
    weights = tmp_path / "best.pt"
    weights.write_bytes(b"checkpoint")
    panel.set_weights(weights)
    w.tools.label_qc_dock.show()
    assert panel.find_suspects()
    qtbot.waitUntil(lambda: not panel.busy(), timeout=20000)
    rows = [panel.model.row_at(i) for i in range(panel.model.rowCount())]
    r = next(i for i, row in enumerate(rows) if row.suspect.kind == kind and row.suspect.image.endswith(image))
    suspect = rows[r].suspect
    assert isinstance(suspect.suggestion, DeleteInstance if kind == "spurious_label" else AddInstance)
    rec = next(x for x in w.ds.records if x.path.name == image)
    before, depth = _state(rec), w.undo_stack.count()

    panel.table.selectRow(r)
    no = _Answers(QMessageBox.StandardButton.No)
    monkeypatch.setattr(QMessageBox, "question", no)
    assert not panel.fix_current()
    assert len(no.asked) == 1 and suspect.message in no.asked[0][1]
    assert no.asked[0][3] == QMessageBox.StandardButton.No
    assert _state(rec) == before and w.undo_stack.count() == depth and not rows[r].fixed

    yes = _Answers(QMessageBox.StandardButton.Yes)
    monkeypatch.setattr(QMessageBox, "question", yes)
    assert panel.fix_current()
    assert len(yes.asked) == 1 and w.undo_stack.count() == depth + 1
    assert len(rec.instances) == len(before[0]) + (1 if kind == "missing_label" else -1)
    w.undo_stack.undo()
    assert _state(rec) == before
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)  # on closing


def test_a_qc_class_fix_applies_at_once(qtbot, monkeypatch, tmp_path, gui_sample):
    predictor = _LabelsPredictor(gui_sample)
    predictor.preds["train_004.jpg"][0].class_id = 2  # the injected swap: the model sees the alien
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample, predictor_factory=lambda _weights: predictor)
    panel = w.tools.label_qc_panel
    weights = tmp_path / "best.pt"
    weights.write_bytes(b"checkpoint")
    panel.set_weights(weights)
    assert panel.find_suspects()
    qtbot.waitUntil(lambda: not panel.busy(), timeout=20000)
    rows = [panel.model.row_at(i) for i in range(panel.model.rowCount())]
    r = next(i for i, row in enumerate(rows) if row.suspect.kind == "class_swap" and "train_004" in row.suspect.image)
    panel.table.selectRow(r)
    asked = _Answers(QMessageBox.StandardButton.No)
    monkeypatch.setattr(QMessageBox, "question", asked)
    assert panel.fix_current() and asked.asked == []
    rec = next(x for x in w.ds.records if x.path.name == "train_004.jpg")
    assert rec.instances[0].class_id == 2
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)

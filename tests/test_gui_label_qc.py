"""The Label QC panel: the sample's injected mistakes are ranked, clicked to, fixed undoably and saved.

No model is trained: a fake predictor (injected through the detection viewer's
``PredictorFactory``, whose runner the panel shares) answers with the sample's true
labels, drawn by ``write_sample`` without its mistakes, as a confident model would.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests._gui_window import open_window
from workbench.core.annotation import ImageRecord
from workbench.core.fix_actions import SetClass
from workbench.core.prediction import Prediction
from workbench.gui import commands
from workbench.qa.fixes import StaleFix, apply_fix
from workbench.qa.label_qc import rank_key
from workbench.sample_data import CLASSES, INJECTED_MISTAKES

pytest.importorskip("pytestqt")
pytest_plugins = ["tests._gui_fixtures"]  # the gui_sample fixture

SCORE = 0.9
# What QC calls each injected mistake (an out-of-range class id is a class the model reads otherwise).
QC_KIND = {"class_out_of_range": "class_swap"}


class TruthPredictor:
    """Stands in for train.predictor.Predictor: the true labels of each image, as confident predictions."""

    def __init__(self, truth: dict[str, list[Prediction]]) -> None:
        self.truth = truth  # by "split/name"
        self.classes = list(CLASSES)
        self.images = 0

    def predict_paths(self, paths, batch_size=4, conf=None, progress=None):
        self.images += len(paths)
        return {Path(p): self.truth.get(f"{Path(p).parent.name}/{Path(p).name}", []) for p in paths}


@pytest.fixture(scope="module")
def truth(tmp_path_factory) -> dict[str, list[Prediction]]:
    """The sample drawn without its mistakes (the drawing does not depend on them), as predictions."""
    import workbench.sample_data as sample
    from workbench.formats.registry import open_dataset

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sample, "_MISTAKE_PLAN", [])
        clean = open_dataset(str(sample.write_sample(tmp_path_factory.mktemp("clean") / "sample")))
    out = {}
    for rec in clean.records:
        preds = []
        for inst in rec.ensure_loaded().instances:
            kps = np.column_stack([inst.keypoints[:, :2], np.where(inst.keypoints[:, 2] > 0, SCORE, 0.0)])
            preds.append(Prediction(inst.class_id, inst.box, SCORE, kps))
        out[f"{rec.split}/{rec.path.name}"] = preds
    return out


@pytest.fixture
def qc_window(qtbot, monkeypatch, tmp_path, gui_sample, truth):
    predictor = TruthPredictor(truth)
    window = open_window(qtbot, monkeypatch, tmp_path, gui_sample, predictor_factory=lambda _weights: predictor)
    panel = window.tools.label_qc_panel  # shares the viewer's runner and checkpoint
    weights = tmp_path / "best.pt"
    weights.write_bytes(b"checkpoint")
    panel.set_weights(weights)
    window.tools.label_qc_dock.show()
    return window, panel, predictor


def _find(qtbot, panel) -> None:
    assert panel.find_suspects()
    qtbot.waitUntil(lambda: not panel.busy(), timeout=20000)


def _expected() -> set[tuple[str, int | None, str]]:
    return {(f"images/{m.split}/{m.image}", m.line, QC_KIND.get(m.kind, m.kind)) for m in INJECTED_MISTAKES}


def _record(window, name: str) -> tuple[int, ImageRecord]:
    return next((i, r) for i, r in enumerate(window.ds.records) if r.path.name == name)


def _select(qtbot, panel, image: str, kind: str, keypoint: int | None = None) -> int:
    """Click the row of a suspect as a user would; returns its table row."""
    suspects = [panel.model.row_at(i).suspect for i in range(panel.model.rowCount())]
    r = next(
        i
        for i, s in enumerate(suspects)
        if s.image.endswith(image) and s.kind == kind and getattr(s.suggestion, "keypoint", None) == keypoint
    )
    panel.table.scrollTo(panel.model.index(r, 2))
    rect = panel.table.visualRect(panel.model.index(r, 2))
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.table.currentIndex().row() == r
    return r


def test_injected_mistakes_rank_first_with_class_swaps_on_top(qtbot, qc_window):
    window, panel, predictor = qc_window
    _find(qtbot, panel)
    assert predictor.images == len(window.ds.records)
    rows = panel.rows.rows
    found = {(row.suspect.image, row.suspect.line, row.suspect.kind) for row in rows}
    # Every injected mistake is found, the landmark swap once per swapped point; nothing else is.
    assert found == _expected()
    assert len(rows) == len(_expected()) + 3
    # Measured on the val split it never trained on, the model judges reliably: every injected
    # mistake is a likely one, ranked by the probability that the label is wrong.
    assert "judges labels reliably" in panel.verdict.text() and panel.verdict.isVisibleTo(panel)
    assert all(row.suspect.likely for row in rows) and panel.tier.currentData() == "likely"
    assert [rank_key(row.suspect) for row in rows] == sorted(rank_key(row.suspect) for row in rows)
    assert {row.suspect.in_sample for row in rows if "/train/" in row.suspect.image} == {True}
    assert {row.suspect.in_sample for row in rows if "/val/" in row.suspect.image} == {False}
    # No other kind outranks a class swap (the missing label ties: the model is as sure of it).
    swaps = [row for row in rows if row.suspect.kind == "class_swap"]
    assert {s.suspect.image for s in swaps} >= {"images/train/train_004.jpg", "images/val/val_007.jpg"}
    assert min(s.suspect.score for s in swaps) >= max(r.suspect.score for r in rows if r.suspect.kind != "class_swap")
    assert rows[0].suspect.kind == "class_swap" and rows[0].suspect.suggestion == SetClass(rows[0].suspect.instance, 2)
    assert panel.model.rowCount() == len(rows)
    assert panel.model.data(panel.model.index(0, 1)) == "class swap · in-sample"  # train_004: trained on
    assert f"{len(rows)} likely mistakes, 0 worth a look, in 48 images" in panel.summary.text()

    # Finding again runs nothing: the shared cache has every image (the viewer draws them too).
    _find(qtbot, panel)
    assert predictor.images == len(window.ds.records) and len(panel.rows.rows) == len(rows)
    assert window.tools.prediction_viewer.raw_predictions() is not None


def test_click_jumps_and_fix_sets_the_class_undoably_and_saves(qtbot, qc_window):
    window, panel, _ = qc_window
    _find(qtbot, panel)
    index, rec = _record(window, "train_004.jpg")
    window.show_record(_record(window, "val_000.jpg")[0])

    _select(qtbot, panel, "train_004.jpg", "class_swap")
    assert window.current == index and window.current_record() is rec
    assert window.canvas.selected_instance() == 0
    assert panel.fix_button.isEnabled() and panel.fix_button.text() == "Fix: Set class to 'alien'"

    assert rec.instances[0].class_id == 0
    assert panel.fix_current()
    assert rec.instances[0].class_id == 2
    assert window.undo_stack.undoText() == "QC: Set class to 'alien'"
    row = panel.current_row()
    assert row.suspect.image.endswith("train_004.jpg") and row.fixed
    assert panel.model.data(panel.table.currentIndex().siblingAtColumn(1)).startswith("✓")
    assert not panel.fix_button.isEnabled()
    assert not any(r.suspect.image.endswith("train_004.jpg") and not r.fixed for r in panel.rows.rows)

    window.undo_stack.undo()  # the original class, and the suspect is open again
    assert rec.instances[0].class_id == 0
    qtbot.waitUntil(lambda: not panel.current_row().fixed)
    window.undo_stack.redo()
    assert rec.instances[0].class_id == 2
    qtbot.waitUntil(lambda: panel.current_row().fixed)

    assert window.save()
    label = Path(rec.label_path).read_text(encoding="utf-8").splitlines()
    assert label[0].split()[0] == "2"


def test_fixing_every_suspect_leaves_labels_the_model_agrees_with(qtbot, qc_window, truth):
    window, panel, _ = qc_window
    _find(qtbot, panel)
    n_missing = len(_record(window, "val_003.jpg")[1].instances)
    titles = []
    while panel.rows.counts():
        r = next(i for i in range(panel.model.rowCount()) if not panel.model.row_at(i).fixed)
        panel.table.selectRow(r)
        titles.append(panel.fix_button.text())
        assert panel.fix_current()
    # The mirrored landmarks take two swaps (eyes, mouth corners), each fixing two suspects.
    assert sorted(titles) == sorted(
        [
            "Fix: Set class to 'alien'",
            "Fix: Set class to 'alien'",
            "Fix: Set class to 'face'",
            "Fix: Add the missing 'face'",
            "Fix: Swap keypoint 1 (left_eye) and keypoint 2 (right_eye)",
            "Fix: Swap keypoint 4 (left_mouth) and keypoint 5 (right_mouth)",
            "Fix: Move the box to the model's",
        ]
    )
    assert all(row.fixed for row in panel.rows.rows)
    for name in ("train_004.jpg", "train_009.jpg", "train_015.jpg", "train_021.jpg", "val_003.jpg", "val_007.jpg"):
        rec = _record(window, name)[1]
        want = truth[f"{rec.split}/{name}"]
        got = sorted(rec.instances, key=lambda inst: inst.box[0])
        want = sorted(want, key=lambda p: p.box[0])
        assert [inst.class_id for inst in got] == [p.class_id for p in want], name
        for inst, p in zip(got, want, strict=True):
            np.testing.assert_allclose(inst.box, p.box, atol=0.01)
            np.testing.assert_allclose(inst.keypoints[:, :2], p.keypoints[:, :2], atol=0.01)
    assert len(_record(window, "val_003.jpg")[1].instances) == n_missing + 1
    _find(qtbot, panel)  # judged afresh: nothing left
    assert panel.rows.rows == [] and "agrees" in panel.summary.text()


def test_ignore_hides_a_suspect_until_shown(qtbot, qc_window):
    window, panel, _ = qc_window
    _find(qtbot, panel)
    n = panel.model.rowCount()
    r = _select(qtbot, panel, "train_009.jpg", "bad_box")
    key = panel.model.row_at(r).key
    assert panel.toggle_ignore_current()
    assert panel.model.rowCount() == n - 1 and panel.model.row_of(key) < 0
    assert "1 ignored" in panel.summary.text()
    # Editing the image re-judges it; the suspect is still there, still ignored.
    rec = _record(window, "train_009.jpg")[1]
    window.undo_stack.push(commands.replace_instance(rec, 0, rec.instances[0].copy(), "Touch", window.notifier))
    qtbot.wait(10)
    assert panel.model.rowCount() == n - 1 and panel.model.row_of(key) < 0
    assert any(row.key == key and row.ignored and not row.fixed for row in panel.rows.rows)
    _find(qtbot, panel)  # a new judgement keeps it ignored
    assert panel.model.rowCount() == n - 1 and panel.model.row_of(key) < 0
    panel.show_ignored.setChecked(True)
    r = panel.model.row_of(key)
    assert r >= 0 and "(ignored)" in panel.model.data(panel.model.index(r, 1))
    panel.table.selectRow(r)
    assert panel.ignore_button.text() == "Unignore" and panel.toggle_ignore_current()
    panel.show_ignored.setChecked(False)
    assert panel.model.rowCount() == n and panel.model.row_of(key) >= 0


def test_a_model_of_other_classes_is_refused(qtbot, qc_window):
    window, panel, predictor = qc_window
    predictor.classes = ["face", "robot"]
    assert panel.find_suspects()
    qtbot.waitUntil(lambda: not panel.busy(), timeout=20000)
    text = panel.summary.text()
    assert "checkpoint classes [face, robot] do not match the dataset's [face, robot, alien]" in text
    assert "Map classes" in text
    assert panel.rows.rows == [] and panel.find_button.isEnabled()
    assert not panel.map_button.isHidden()
    assert not panel.find_suspects()  # refused at once now that its classes are known: nothing runs
    assert "do not match" in panel.summary.text()
    # The user maps them (what the dialog returns): alien labels are then what the model cannot see.
    assert panel.viewer.set_class_map({"face": "face", "robot": "robot"}) == ""
    assert panel.find_suspects(), panel.summary.text()
    qtbot.waitUntil(lambda: not panel.busy(), timeout=20000)
    assert "do not match" not in panel.summary.text() and panel.job.predictions


def test_defaults_to_the_newest_runs_best_checkpoint(qtbot, monkeypatch, tmp_path, gui_sample):
    import os

    runs = gui_sample.parent / "runs"
    for age, name in ((100, "old"), (0, "new")):
        run = runs / name
        run.mkdir(parents=True)
        for f in ("results.csv", "best.pt", "last.pt"):
            (run / f).write_text("x")
        t = run.stat().st_mtime - age
        os.utime(run, (t, t))
    window = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    panel = window.tools.label_qc_panel
    assert panel.weights_path() == runs / "new" / "best.pt"
    assert window.tools.label_qc_dock.isHidden()
    toggle = window.actions["label_qc"]
    assert toggle.shortcut().toString() == "Ctrl+Shift+L"
    assert any(
        toggle in a.menu().actions()
        for a in window.menuBar().actions()
        if a.menu() and window.actions["predictions"] in a.menu().actions()
    )
    toggle.trigger()
    assert window.tools.label_qc_dock.isVisible()
    assert window.tools.label_qc_dock in window.tabifiedDockWidgets(window.docks["findings"])


def test_a_fix_refuses_labels_that_changed(qtbot, qc_window):
    window, panel, _ = qc_window
    _find(qtbot, panel)
    row = next(r for r in panel.rows.rows if r.suspect.kind == "bad_box")
    rec = window.ds.records[row.record]
    edit = apply_fix(window.ds, rec, row.suspect.suggestion)
    assert edit.title == "Move the box to the model's" and len(edit.after.instances) == len(rec.instances)
    stale = dataclasses.replace(row.suspect.suggestion, instance=len(rec.instances))
    with pytest.raises(StaleFix):
        apply_fix(window.ds, rec, stale)


def test_run_view_qc_judges_with_the_runs_checkpoint_and_jumps_to_the_top_suspect(qtbot, qc_window, tmp_path):
    from workbench.gui.training.run_view import apply_run_view

    window, panel, predictor = qc_window
    run = tmp_path / "runs" / "exp"
    run.mkdir(parents=True)
    for name in ("best.pt", "last.pt"):
        (run / name).write_bytes(b"checkpoint")
    window.tools.prediction_dock.show()  # (not the train dock: showing its form starts a torch import in a thread)
    ready = apply_run_view(window, run, "qc")  # what `workbench open DATA --run RUN --view qc` shows
    qtbot.waitUntil(ready, timeout=20000)
    assert panel.weights_path() == run / "best.pt" and predictor.images == len(window.ds.records)
    assert window.tools.label_qc_dock.isVisible() and not window.tools.prediction_dock.isVisible()
    top = panel.rows.rows[0].suspect
    assert window.ds.rel(window.ds.records[window.current].path) == top.image


def test_a_model_that_finds_nothing_is_too_weak_to_judge_and_fixes_are_off(qtbot, monkeypatch, tmp_path, gui_sample):
    """A 2-epoch model: no detections anywhere. Every label looks spurious to it, but QC says the
    model is too weak, marks nothing likely and offers no one-click fix."""
    blind = TruthPredictor({})
    window = open_window(qtbot, monkeypatch, tmp_path, gui_sample, predictor_factory=lambda _weights: blind)
    panel = window.tools.label_qc_panel
    weights = tmp_path / "best.pt"
    weights.write_bytes(b"checkpoint")
    panel.set_weights(weights)
    _find(qtbot, panel)
    rows = panel.rows.rows
    assert rows and {row.suspect.kind for row in rows} == {"spurious_label"}
    assert not any(row.suspect.likely for row in rows)
    assert "too weak to judge labels" in panel.verdict.text() and "fixes are off" in panel.verdict.text()
    assert panel.tier.currentData() == "worth a look" and panel.model.rowCount() == len(rows)
    assert panel.summary.text().startswith(f"0 likely mistakes, {len(rows)} worth a look")
    panel.table.selectRow(0)
    assert not panel.fix_button.isEnabled() and "too weak" in panel.fix_button.toolTip()
    before = [len(r.ensure_loaded().instances) for r in window.ds.records]
    assert panel.fix_current() is False
    assert [len(r.instances) for r in window.ds.records] == before and not window.undo_stack.count()
    panel.tier.setCurrentIndex(panel.tier.findData("likely"))
    assert panel.model.rowCount() == 0


# ----------------------------------------------------------------------------- k-fold from the GUI

# Stands in for `python -m workbench qc DATA --kfold K --json ...`: no training, the sample's true
# labels as every fold model's predictions, written where and as the real command writes them.
FAKE_KFOLD = """
import json, os, sys, time
from pathlib import Path
from workbench.core.prediction import Prediction
from workbench.formats import open_dataset
from workbench.qa.qc_kfold import labels_fingerprint, save_kfold_predictions
from workbench.train.config import TrainConfig, fold_settings

args = sys.argv[1:]
flag = lambda name: args[args.index(name) + 1]
with open(os.environ["WB_RUNS_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
if os.environ.get("WB_SLOW"):
    time.sleep(60)
ds = open_dataset(args[1])
truth = json.loads(Path(os.environ["WB_TRUTH"]).read_text())
preds = {r.path: [Prediction.from_dict(d) for d in truth.get(f"{r.split}/{r.path.name}", [])] for r in ds.records}
root = Path(flag("--out")) / f"qc_kfold{len(list(Path(flag('--out')).glob('qc_kfold*'))) or ''}"
root.mkdir(parents=True)
config = TrainConfig(data=args[1], epochs=int(flag("--epochs")), imgsz=int(flag("--imgsz")), weights=flag("--weights"))
save_kfold_predictions(root, ds, preds, int(flag("--kfold")), labels_fingerprint(ds, ds.records),
                       fold_settings(config, float(flag("--conf"))))
print("fold 1/2: training on 24 images, 24 held out", file=sys.stderr, flush=True)
print(json.dumps({"suspects": [], "out_of_sample": {"k": int(flag("--kfold")), "runs": str(root), "reused": False}}))
"""


@pytest.fixture
def kfold_window(qtbot, monkeypatch, tmp_path, gui_sample, truth):
    from workbench.train.config import TrainConfig

    window = open_window(qtbot, monkeypatch, tmp_path, gui_sample, predictor_factory=lambda _w: TruthPredictor({}))
    panel = window.tools.label_qc_panel
    script = tmp_path / "fake_kfold.py"
    script.write_text(FAKE_KFOLD)
    (tmp_path / "truth.json").write_text(json.dumps({k: [p.to_dict() for p in v] for k, v in truth.items()}))
    monkeypatch.setenv("WB_TRUTH", str(tmp_path / "truth.json"))
    monkeypatch.setenv("WB_RUNS_LOG", str(tmp_path / "runs.log"))
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[1]))
    panel.kfold.module_args = [str(script)]
    config = TrainConfig(data=str(gui_sample), out=str(tmp_path / "runs"), epochs=1, imgsz=64, weights="none")
    monkeypatch.setattr(panel, "_fold_config", lambda: config)
    panel.judge_with.setCurrentIndex(panel.judge_with.findData("kfold"))
    panel.folds.setValue(2)
    window.tools.label_qc_dock.show()
    return window, panel, tmp_path / "runs.log"


def _runs(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def test_kfold_from_the_gui_judges_every_image_out_of_sample_and_reuses_its_folds(qtbot, kfold_window):
    window, panel, log = kfold_window
    assert panel.folds.isVisible() and not panel.weights.isEnabled()
    _find(qtbot, panel)
    assert _runs(log) == 1 and "--kfold 2" in log.read_text() and "--epochs 1" in log.read_text()
    rows = panel.rows.rows
    assert {(row.suspect.image, row.suspect.line, row.suspect.kind) for row in rows} == _expected()
    # Every judgement is out of sample, measured over all 48 images by the fold models' predictions.
    assert {row.suspect.in_sample for row in rows} == {False}
    assert "48 images it did not train on (k-fold)" in panel.verdict.text()
    assert all(row.suspect.likely for row in rows) and panel.fixes_allowed()
    # Again with the same labels: the fold predictions are reused, nothing runs.
    _find(qtbot, panel)
    assert _runs(log) == 1 and panel.kfold.reused is not None and len(panel.rows.rows) == len(rows)
    # A label edit (saved first, as the folds train on the files): new fold models.
    _select(qtbot, panel, "train_004.jpg", "class_swap")
    assert panel.fix_current()
    _find(qtbot, panel)
    assert _runs(log) == 2 and not window.ds.dirty_records()


def test_kfold_from_the_gui_can_be_cancelled(qtbot, kfold_window, monkeypatch):
    window, panel, log = kfold_window
    monkeypatch.setenv("WB_SLOW", "1")
    assert panel.find_suspects()
    qtbot.waitUntil(lambda: _runs(log) == 1, timeout=20000)
    assert panel.busy() and panel.cancel_button.isEnabled()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.busy(), timeout=20000)
    assert panel.summary.text() == "Cancelled." and panel.find_button.isEnabled() and not panel.rows.rows

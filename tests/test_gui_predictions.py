"""The detection viewer: background prediction with a cache, live score / NMS filtering without
re-running the model, keypoints on the canvas, TP / FP / FN, and accepting predictions (undoable)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests._gui_window import open_window
from workbench.core.prediction import Prediction
from workbench.gui.predictions.overlay import MatchOverlay

pytest.importorskip("pytestqt")
pytest_plugins = ["tests._gui_fixtures"]  # the gui_sample fixture


class SpyPredictor:
    """Stands in for train.predictor.Predictor: canned predictions per image, and a call count."""

    def __init__(self, truth: dict[Path, list]) -> None:
        self.truth = truth
        self.calls = 0
        self.images = 0
        self.classes = ["face", "robot", "alien"]

    def predict_paths(self, paths, batch_size=4, conf=None, progress=None):
        self.calls += 1
        self.images += len(paths)
        return {Path(p): self.truth.get(Path(p), []) for p in paths}


def _kps(box: np.ndarray) -> np.ndarray:
    x1, y1, x2, y2 = box
    pts = [
        (x1 + 0.3 * (x2 - x1), y1 + 0.35 * (y2 - y1)),
        (x1 + 0.7 * (x2 - x1), y1 + 0.35 * (y2 - y1)),
        ((x1 + x2) / 2, (y1 + y2) / 2),
        (x1 + 0.35 * (x2 - x1), y1 + 0.75 * (y2 - y1)),
        (x1 + 0.65 * (x2 - x1), y1 + 0.75 * (y2 - y1)),
    ]
    return np.array([(x, y, 0.9) for x, y in pts])


def _canned(rec) -> list[Prediction]:
    """TP on label 0, a duplicate of it (NMS fodder), a confident FP elsewhere, a weak FP."""
    gt = rec.instances[0]
    box = gt.box.copy()
    dup = box + np.array([2.0, 2.0, 2.0, 2.0])
    w, h = rec.width, rec.height
    far = (
        np.array([2.0, 2.0, 30.0, 30.0])
        if box[0] > 40 or box[1] > 40
        else np.array([w - 32.0, h - 32.0, w - 2.0, h - 2.0])
    )
    return [
        Prediction(gt.class_id, box, 0.95, _kps(box)),
        Prediction(gt.class_id, dup, 0.6, _kps(dup)),
        Prediction(2, far, 0.8, _kps(far)),
        Prediction(1, far + 1.0, 0.05, _kps(far)),
    ]


@pytest.fixture
def viewer_window(qtbot, monkeypatch, tmp_path, gui_sample):
    factory_calls = []
    made: dict[str, SpyPredictor] = {}

    def factory(weights: Path) -> SpyPredictor:
        factory_calls.append(weights)
        return made["spy"]

    window = open_window(qtbot, monkeypatch, tmp_path, gui_sample, predictor_factory=factory)
    ds = window.ds
    truth = {rec.path: _canned(rec.ensure_loaded()) for rec in ds.records if rec.ensure_loaded().instances}
    spy = made["spy"] = SpyPredictor(truth)
    viewer = window.tools.prediction_viewer
    weights = tmp_path / "best.pt"
    weights.write_bytes(b"checkpoint")
    viewer.set_weights(weights)
    window.tools.prediction_dock.show()
    return window, viewer, spy, factory_calls


def _predict_current(qtbot, viewer) -> None:
    assert viewer.run("current") == 1
    qtbot.waitUntil(lambda: not viewer.runner.busy(), timeout=10000)


def _overlay(window) -> MatchOverlay:
    return next(i for i in window.canvas.scene().items() if isinstance(i, MatchOverlay))


def test_predictions_draw_with_keypoints_and_sliders_filter_without_rerunning(qtbot, viewer_window):
    window, viewer, spy, factory_calls = viewer_window
    rec = window.current_record()
    _predict_current(qtbot, viewer)
    assert spy.calls == 1 and len(factory_calls) == 1

    # default score 0.25, NMS 0.5: the TP and the confident FP; the duplicate is suppressed
    assert [p.score for p in viewer.shown_predictions()] == [0.95, 0.8]
    items = window.canvas.prediction_items()
    assert len(items) == 2 and all(item.keypoints is not None for item in items)
    assert items[0].keypoints.isVisible()
    counts = _overlay(window).counts()
    assert counts == {"tp": 1, "fp": 1, "fn": len(rec.instances) - 1}
    assert f"TP 1 · FP 1 · FN {len(rec.instances) - 1}" in viewer.summary.text()

    viewer.nms_slider.setValue(100)  # NMS off: the duplicate appears (an FP: its label is taken)
    assert viewer.nms_label.text() == "NMS IoU off"
    assert [p.score for p in viewer.shown_predictions()] == [0.95, 0.8, 0.6]
    viewer.score_slider.setValue(1)
    assert len(viewer.shown_predictions()) == 4 and len(window.canvas.prediction_items()) == 4
    viewer.score_slider.setValue(90)
    assert [p.score for p in viewer.shown_predictions()] == [0.95]
    assert _overlay(window).counts()["fp"] == 0
    assert spy.calls == 1  # every redraw came from the cache

    # Running again on the same image is a cache hit; another image runs the model once more.
    assert viewer.run("current") == 0 and spy.calls == 1
    window.step_image(1)
    assert viewer.shown_predictions() == []  # not predicted yet
    _predict_current(qtbot, viewer)
    assert spy.calls == 2 and len(factory_calls) == 1  # the loaded predictor is reused
    window.step_image(-1)
    assert len(viewer.shown_predictions()) == 1  # back: cached, drawn at once
    assert window.canvas.prediction_items()[0].isVisible()

    # Toggles: predictions and labels can be hidden.
    viewer.show_preds.setChecked(False)
    assert not any(item.isVisible() for item in window.canvas.prediction_items())
    viewer.show_gt.setChecked(False)
    assert all(item.opacity() == 0 for item in window.canvas.box_items())
    viewer.show_gt.setChecked(True)
    assert all(item.opacity() == 1 for item in window.canvas.box_items())


def test_split_runs_in_the_background_with_progress(qtbot, viewer_window):
    window, viewer, spy, _ = viewer_window
    n = len(window.ds.split("val"))
    with qtbot.waitSignal(viewer.runner.finished, timeout=10000):
        assert viewer.run("split:val") == n
    assert spy.images == n and viewer.progress.value() == viewer.progress.maximum()
    assert viewer.run("split:val") == 0


def test_accepting_predictions_is_undoable(qtbot, viewer_window):
    window, viewer, spy, _ = viewer_window
    rec = window.current_record()
    n = len(rec.instances)
    _predict_current(qtbot, viewer)
    fp_row = [p.score for p in viewer.shown_predictions()].index(0.8)
    viewer.list.setCurrentRow(fp_row)
    assert "FP" in viewer.list.item(fp_row).text()
    assert viewer.accept_selected()
    assert len(rec.instances) == n + 1
    added = rec.instances[-1]
    assert added.class_id == 2 and added.keypoints is not None and (added.keypoints[:, 2] == 2).all()
    assert _overlay(window).counts()["fp"] == 0  # the accepted prediction is now a TP
    assert "TP" in viewer.list.item(fp_row).text()
    assert window.undo_stack.undoText() == "Accept prediction"
    window.undo_stack.undo()
    assert len(rec.instances) == n and _overlay(window).counts()["fp"] == 1

    viewer.score_slider.setValue(1)
    viewer.nms_slider.setValue(100)
    # The TP and its duplicate overlap a label; the weak far box overlaps the confident one: one new label.
    assert viewer.accept_all()
    assert len(rec.instances) == n + 1 and rec.instances[-1].class_id == 2
    assert window.undo_stack.undoText() == "Accept prediction"
    window.undo_stack.undo()
    assert len(rec.instances) == n
    window.undo_stack.redo()
    assert len(rec.instances) == n + 1
    assert not viewer.accept_all()  # everything shown now overlaps a label


def test_classwise_nms_and_matching():
    from workbench.core.annotation import Instance
    from workbench.qa.matching import match_instances, unlabeled
    from workbench.qa.nms import classwise_nms, filter_predictions, nms

    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [0, 0, 10, 10]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert nms(boxes, scores, 0.5).tolist() == [0, 2]
    assert nms(boxes, scores, 1.0).tolist() == [0, 1, 2, 3]  # off
    assert classwise_nms(boxes, scores, np.array([0, 0, 0, 1]), 0.5).tolist() == [0, 2, 3]
    preds = [Prediction(c, b, s) for c, b, s in zip([0, 0, 0, 1], boxes, scores, strict=True)]
    assert [p.score for p in filter_predictions(preds, 0.65, 0.5)] == [0.9, 0.7]
    assert filter_predictions([], 0.1, 0.5) == []

    gt = [Instance(0, [0, 0, 10, 10]), Instance(1, [50, 50, 60, 60]), Instance(0, [80, 80, 90, 90])]
    m = match_instances(gt, preds, 0.5)
    # pred 0 takes label 0; pred 1 (same object, lower score) is a duplicate FP; pred 2 has the
    # wrong class for label 1 (FP) and label 1, 2 are missed; pred 3 (class 1) overlaps no class-1 label.
    assert m.pred_gt.tolist() == [0, -1, -1, -1]
    assert (m.tp, m.fp, m.fn) == (1, 3, 2)
    assert unlabeled(gt, preds) == []
    assert unlabeled([], preds) == [0, 2]  # 1 and 3 duplicate 0


def test_a_dataset_of_other_classes_refuses_the_open_checkpoint(qtbot, viewer_window, tmp_path, gui_sample):
    """The sample's model (face, robot, alien) stays chosen when a person dataset opens, but is refused there."""
    from tests._train_data import write_rect_dataset

    window, viewer, spy, factory_calls = viewer_window
    _predict_current(qtbot, viewer)
    assert viewer.shown_predictions() and viewer.refusal() == ""
    weights = viewer.weights_path()

    other = write_rect_dataset(tmp_path / "people", n_train=2, n_val=1, size=64, classes=("person",))
    window.open_path(str(other))
    qtbot.waitUntil(lambda: window.ds.classes == ["person"] and window.is_ready(), timeout=20000)
    assert window.session.dataset.classes == ["person"] and viewer.weights_path() == weights
    refusal = viewer.refusal()
    assert f"{weights}: checkpoint classes [face, robot, alien] do not match the dataset's [person]" in refusal
    assert refusal in viewer.summary.text() and not viewer.map_button.isHidden()
    assert viewer.run("current") == -1 and spy.calls == 1  # the old model does not run on the new dataset
    assert viewer.raw_predictions() is None and viewer.shown_predictions() == []
    assert not viewer.accept_selected() and window.current_record().instances  # nothing reaches the labels

    # Mapped by the user (what the dialog returns), it runs, and speaks the dataset's ids.
    spy.truth = {
        window.current_record().path: [Prediction(2, [1, 1, 20, 20], 0.9), Prediction(0, [30, 30, 50, 50], 0.9)]
    }
    assert viewer.set_class_map({"alien": "person", "face": "ignore", "robot": "ignore"}) == ""
    _predict_current(qtbot, viewer)
    assert [(p.class_id, p.box[0]) for p in viewer.shown_predictions()] == [(0, 1.0)]
    assert len(factory_calls) == 1  # the same loaded model, now mapped

    # Back on the sample: the map was for the person dataset; the checkpoint fits the sample by name.
    window.open_path(str(gui_sample))
    qtbot.waitUntil(lambda: window.ds.classes != ["person"] and window.is_ready(), timeout=20000)
    assert viewer.refusal() == "" and viewer.map_button.isHidden()


def test_a_checkpoint_of_other_classes_never_predicts_a_batch_even_on_its_first_load(qtbot, monkeypatch, tmp_path):
    """The classes are known only once the model is loaded, in the pool thread: it checks them there,
    before the first batch, so not one image is predicted by a model that cannot read the dataset."""
    from tests._train_data import write_rect_dataset

    spy = SpyPredictor({})
    people = write_rect_dataset(tmp_path / "people", n_train=6, n_val=2, size=64, classes=("person",))
    window = open_window(qtbot, monkeypatch, tmp_path, people, predictor_factory=lambda _w: spy)
    viewer = window.tools.prediction_viewer
    weights = tmp_path / "best.pt"
    weights.write_bytes(b"checkpoint")
    viewer.set_weights(weights)
    assert viewer.run("split:train") == 6  # not loaded yet: nothing is known to refuse
    qtbot.waitUntil(lambda: not viewer.runner.busy(), timeout=10000)
    assert spy.calls == 0 and spy.images == 0
    assert "do not match the dataset's [person]" in viewer.refusal()


def test_class_map_dialog_starts_on_same_names_and_gives_what_match_classes_takes(qtbot):
    from workbench.core.class_map import match_classes
    from workbench.gui.predictions.class_map_dialog import ClassMapDialog

    dialog = ClassMapDialog(["face", "hand", "robot"], ["person", "robot"])
    qtbot.addWidget(dialog)
    assert dialog.class_map() == {"face": "ignore", "hand": "ignore", "robot": "robot"}
    dialog.choose("face", "person")
    mapping = match_classes(["face", "hand", "robot"], ["person", "robot"], dialog.class_map())
    assert mapping.targets == (0, None, 1)
    again = ClassMapDialog(["face", "hand", "robot"], ["person", "robot"], dialog.class_map())
    qtbot.addWidget(again)
    assert again.class_map() == dialog.class_map()  # reopened on the map in use


def test_a_new_dataset_stops_the_running_job(qtbot, tmp_path):
    """The previous dataset's model never keeps running silently under a new one."""
    import threading

    from workbench.gui.predictions.runner import BATCH, PredictionRunner

    class Slow:
        classes = ["a"]
        failed: dict = {}

        def predict_paths(self, paths, batch_size=4, conf=None, progress=None):
            threading.Event().wait(0.05)
            return {p: [Prediction(0, [0, 0, 5, 5], 0.9)] for p in paths}

    weights = tmp_path / "best.pt"
    weights.write_bytes(b"checkpoint")
    runner = PredictionRunner(lambda _w: Slow())
    paths = [tmp_path / f"{i}.jpg" for i in range(40 * BATCH)]
    runner.predicted.connect(lambda _found: runner.set_dataset(None))
    with qtbot.waitSignal(runner.finished, timeout=10000):
        assert runner.run(weights, paths) == len(paths)
    assert 1 <= len(runner.cache) < len(paths) and not runner.busy()
    assert runner.wait(5000)


def test_two_runs_best_pt_are_told_apart_in_the_list(qtbot, viewer_window, tmp_path):
    import os

    from workbench.train.runs import write_results

    window, viewer, _, _ = viewer_window
    root = tmp_path / "runs"
    for i, (name, map50) in enumerate((("train", 0.42), ("train2", 0.8))):
        run = root / name
        run.mkdir(parents=True)
        (run / "best.pt").write_bytes(b"checkpoint")
        write_results(run, [{"epoch": 1, "val/mAP50-95": 0.3, "val/mAP50": map50}])
        t = 1_800_000_000 + 3600 * i
        os.utime(run / "best.pt", (t, t))
    viewer.runs_folder = lambda: root
    viewer.refresh_checkpoints()
    texts = {viewer.weights.itemData(i): viewer.weights.itemText(i) for i in range(viewer.weights.count())}
    first, second = texts[str(root / "train" / "best.pt")], texts[str(root / "train2" / "best.pt")]
    assert first != second
    assert second.startswith("runs/train2 · best.pt · ") and second.endswith(" · mAP50 0.80")
    assert first.startswith("runs/train · best.pt · ") and first.endswith(" · mAP50 0.42")
    i = viewer.weights.findData(str(root / "train2" / "best.pt"))
    assert viewer.weights.itemData(i, Qt.ItemDataRole.ToolTipRole) == str((root / "train2" / "best.pt").resolve())
    qc = window.tools.label_qc_panel.weights  # the QC dock shows the same list
    assert qc.itemText(i) == second

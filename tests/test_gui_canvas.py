"""The annotation canvas driven like a user: real mouse and key events on the real widget.

The dataset is a small YOLO pose dataset written here (5 keypoints, flip_idx
[1, 0, 2, 4, 3]). The canvas is zoomed to exactly 2x, so a drag of (40, 20) screen
pixels is exactly (20, 10) image pixels and every expected value is exact.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QUndoStack, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.core.palette import class_color
from workbench.core.prediction import Prediction
from workbench.formats import open_dataset, save_dataset
from workbench.gui.canvas import AnnotationCanvas
from workbench.gui.canvas.image_view import WHEEL_STEP
from workbench.gui.commands import EditNotifier

W, H = 320, 240
NAMES = ["face", "robot", "alien"]
# Pixel coordinates of the labels written to disk (normalized on the way out).
A0_BOX = (40.0, 40.0, 140.0, 120.0)
A0_KPS = [(60, 60, 2), (120, 60, 2), (90, 80, 2), (70, 100, 1), (0, 0, 0)]
A1_BOX = (180.0, 60.0, 300.0, 200.0)
A1_KPS = [(200, 100, 2), (280, 100, 2), (240, 130, 2), (210, 170, 2), (270, 170, 2)]
B0_BOX = (100.0, 50.0, 220.0, 190.0)
B0_KPS = [(130, 90, 2), (190, 90, 2), (160, 120, 2), (140, 160, 2), (180, 160, 2)]


def _line(cls: int, box: tuple[float, ...], kps: list[tuple[float, float, int]]) -> str:
    x1, y1, x2, y2 = box
    cols = [str(cls), (x1 + x2) / 2 / W, (y1 + y2) / 2 / H, (x2 - x1) / W, (y2 - y1) / H]
    for x, y, v in kps:
        cols += [x / W, y / H, v]
    return " ".join(c if isinstance(c, str) else f"{c:.6g}" for c in cols)


@pytest.fixture
def pose_yaml(tmp_path: Path) -> Path:
    root = tmp_path / "pose"
    labels = {"a": [_line(0, A0_BOX, A0_KPS), _line(1, A1_BOX, A1_KPS)], "b": [_line(2, B0_BOX, B0_KPS)]}
    for i, (stem, lines) in enumerate(labels.items()):
        img = np.full((H, W, 3), 40 + 60 * i, dtype=np.uint8)
        img[::16] = 200  # a grid, so a rendered frame shows the image is there
        (root / "images" / "train").mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(root / "images" / "train" / f"{stem}.png"), img)
        label = root / "labels" / "train" / f"{stem}.txt"
        label.parent.mkdir(parents=True, exist_ok=True)
        label.write_text("\n".join(lines) + "\n")
    yaml = root / "data.yaml"
    yaml.write_text(
        "path: .\ntrain: images/train\nval: images/train\nnames: [face, robot, alien]\n"
        "kpt_shape: [5, 3]\nflip_idx: [1, 0, 2, 4, 3]\n"
    )
    return yaml


class Harness:
    """The canvas with its undo stack, showing image ``a`` at exactly 2x zoom."""

    def __init__(self, qtbot, yaml: Path) -> None:
        self.ds: Dataset = open_dataset(yaml)
        self.stack = QUndoStack()
        self.notifier = EditNotifier()
        self.canvas = AnnotationCanvas(self.stack, self.notifier)
        qtbot.addWidget(self.canvas)
        self.canvas.resize(800, 600)
        self.canvas.show()
        self.rec: ImageRecord = self.ds.records[0]
        self.canvas.set_image(self.ds, self.rec, self.pixels(self.rec))
        self.canvas.set_zoom(2.0)
        self.canvas.centerOn(W / 2, H / 2)

    @staticmethod
    def pixels(rec: ImageRecord) -> np.ndarray:
        return cv2.cvtColor(cv2.imread(str(rec.path)), cv2.COLOR_BGR2RGB)

    def view(self, x: float, y: float) -> QPoint:
        return self.canvas.mapFromScene(QPointF(x, y))

    def scene(self, p: QPoint) -> tuple[float, float]:
        s = self.canvas.to_scene(QPointF(p))
        return s.x(), s.y()

    def drag(self, start: QPoint, delta: tuple[int, int], button=Qt.MouseButton.LeftButton) -> None:
        vp = self.canvas.viewport()
        QTest.mouseMove(vp, start)
        QTest.mousePress(vp, button, Qt.KeyboardModifier.NoModifier, start)
        mid = start + QPoint(delta[0] // 2, delta[1] // 2)
        QTest.mouseMove(vp, mid)
        end = start + QPoint(*delta)
        QTest.mouseMove(vp, end)
        QTest.mouseRelease(vp, button, Qt.KeyboardModifier.NoModifier, end)

    def click(self, p: QPoint) -> None:
        QTest.mouseMove(self.canvas.viewport(), p)
        QTest.mouseClick(self.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p)

    def key(self, key: Qt.Key) -> None:
        QTest.keyClick(self.canvas, key)

    def inst(self, i: int) -> Instance:
        return self.rec.instances[i]


@pytest.fixture
def h(qtbot, pose_yaml: Path) -> Harness:
    return Harness(qtbot, pose_yaml)


def _snapshot(rec: ImageRecord) -> list[Instance]:
    return [inst.copy() for inst in rec.instances]


def _same(a: list[Instance], b: list[Instance]) -> bool:
    return len(a) == len(b) and all(x.same_as(y, tol=0) for x, y in zip(a, b, strict=True))


def _undo_redo_exact(h: Harness, before: list[Instance]) -> None:
    """Undo restores the exact values before the edit, redo the exact values after it."""
    after = _snapshot(h.rec)
    h.stack.undo()
    assert _same(h.rec.instances, before)
    h.stack.redo()
    assert _same(h.rec.instances, after)


def test_loaded_labels_are_drawn_where_they_are(h: Harness) -> None:
    assert h.canvas.zoom() == pytest.approx(2.0)
    assert len(h.rec.instances) == 2
    assert np.allclose(h.inst(0).box, A0_BOX, atol=1e-3)
    hit = h.canvas.hit_at(QPointF(90, 110))  # inside box 0, away from its keypoints
    assert (hit.kind, hit.instance) == ("box", 0)
    hit = h.canvas.hit_at(QPointF(200.5, 100.5))
    assert (hit.kind, hit.instance, hit.part) == ("keypoint", 1, 0)
    assert h.canvas.hit_at(QPointF(10, 200)).kind == "none"


def test_drag_box_moves_it_and_its_keypoints_by_the_image_distance(h: Harness) -> None:
    before = _snapshot(h.rec)
    h.drag(h.view(90, 112), (40, 20))  # 2x zoom: 20 x 10 image pixels
    assert h.canvas.selected_instance() == 0
    assert np.array_equal(h.inst(0).box, before[0].box + [20, 10, 20, 10])
    placed = before[0].keypoints[:, 2] > 0
    assert np.array_equal(h.inst(0).keypoints[placed, :2], before[0].keypoints[placed, :2] + [20, 10])
    assert np.array_equal(h.inst(0).keypoints[~placed], before[0].keypoints[~placed])  # missing stays put
    assert h.inst(1).same_as(before[1], tol=0)
    assert h.stack.count() == 1 and h.stack.undoText() == "Move box"
    assert h.rec.dirty
    _undo_redo_exact(h, before)


def test_a_click_with_a_shaky_hand_does_not_move_the_box(h: Harness) -> None:
    h.drag(h.view(90, 112), (1, 1))
    assert h.canvas.selected_instance() == 0 and h.stack.count() == 0


def test_actions_without_an_image_do_nothing(qtbot) -> None:
    """Menu actions reach the canvas on the start page too, before any dataset is open."""
    canvas = AnnotationCanvas(QUndoStack(), EditNotifier())
    qtbot.addWidget(canvas)
    assert canvas.open_class_picker() is None
    for action in (
        canvas.delete_selected,
        canvas.swap_left_right,
        canvas.cycle_visibility,
        canvas.start_placing,
        canvas.draw_one_box,
        canvas.fit,
        canvas.zoom_1to1,
        canvas.refresh,
    ):
        action()
    canvas.set_selected_class(1)
    for key in (Qt.Key.Key_1, Qt.Key.Key_C, Qt.Key.Key_Delete, Qt.Key.Key_V):
        QTest.keyClick(canvas, key)
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton)
    assert canvas.selected_instance() is None


def test_drag_stops_at_the_image_border(h: Harness) -> None:
    h.drag(h.view(90, 112), (-400, 0))  # far past the left edge
    assert h.inst(0).box[0] == 0.0
    assert h.inst(0).width == pytest.approx(A0_BOX[2] - A0_BOX[0], abs=1e-3)


def test_resize_by_the_bottom_right_handle(h: Harness) -> None:
    h.click(h.view(90, 112))  # select box 0: its handles appear
    before = _snapshot(h.rec)
    x2, y2 = before[0].box[2:]
    h.drag(h.view(x2, y2), (30, 16))
    assert np.array_equal(h.inst(0).box, before[0].box + [0, 0, 15, 8])
    assert np.array_equal(h.inst(0).keypoints, before[0].keypoints)  # resizing leaves points alone
    assert h.stack.undoText() == "Resize box"
    _undo_redo_exact(h, before)


def test_resize_past_the_opposite_edge_flips_instead_of_inverting(h: Harness) -> None:
    h.click(h.view(90, 112))
    x1, y1, x2, y2 = h.inst(0).box
    left = h.view(x1, (y1 + y2) / 2)  # the left edge's middle handle
    h.drag(left, (int((x2 - x1) * 2) + 20, 0))  # 10 image pixels past the right edge
    nx1, _, nx2, _ = h.inst(0).box
    assert nx1 == pytest.approx(x2) and nx2 == pytest.approx(x2 + 10)


def test_draw_a_new_box_with_the_box_tool(h: Harness) -> None:
    before = _snapshot(h.rec)
    h.canvas.set_tool("box")
    h.canvas.set_current_class(2)
    start, end = h.view(20, 150), h.view(20, 150) + QPoint(80, 60)
    h.drag(start, (80, 60))
    assert len(h.rec.instances) == 3
    new = h.inst(2)
    sx, sy = h.scene(start)
    ex, ey = h.scene(end)
    assert np.array_equal(new.box, [sx, sy, ex, ey])
    assert new.class_id == 2
    assert new.keypoints is not None and new.keypoints.shape == (5, 3) and not new.keypoints[:, 2].any()
    assert h.canvas.selected_instance() == 2
    assert h.canvas.box_items()[2].label_text().startswith("!")  # flagged: no keypoints yet
    _undo_redo_exact(h, before)


def test_w_draws_one_box_then_returns_to_select(h: Harness) -> None:
    h.key(Qt.Key.Key_W)
    assert h.canvas.tool() == "box"
    h.drag(h.view(10, 140), (30, 30))
    assert len(h.rec.instances) == 3
    assert h.canvas.tool() == "select"
    h.drag(h.view(10, 140) + QPoint(100, 0), (30, 30))  # empty area in select mode: a pan, no box
    assert len(h.rec.instances) == 3


def test_a_click_in_the_box_tool_makes_no_box(h: Harness) -> None:
    h.canvas.set_tool("box")
    h.click(h.view(20, 200))
    assert len(h.rec.instances) == 2 and h.stack.count() == 0


def test_number_keys_set_the_class_of_the_selection(h: Harness) -> None:
    h.click(h.view(90, 112))
    before = _snapshot(h.rec)
    h.key(Qt.Key.Key_3)
    assert h.inst(0).class_id == 2
    assert h.canvas.box_items()[0].label_text() == "alien"
    h.key(Qt.Key.Key_9)  # there are only 3 classes: refused, nothing pushed
    assert h.inst(0).class_id == 2 and h.stack.count() == 1
    _undo_redo_exact(h, before)


def test_number_keys_without_selection_choose_the_drawing_class(h: Harness) -> None:
    h.key(Qt.Key.Key_Escape)
    h.key(Qt.Key.Key_2)
    assert h.canvas.current_class() == 1 and h.stack.count() == 0


def test_drag_a_keypoint(h: Harness) -> None:
    before = _snapshot(h.rec)
    h.drag(h.view(240, 130), (-12, 10))  # nose of instance 1
    expected = before[1].keypoints.copy()
    expected[2, :2] += [-6, 5]
    assert np.array_equal(h.inst(1).keypoints, expected)
    assert np.array_equal(h.inst(1).box, before[1].box)
    assert h.stack.undoText() == "Move keypoint 3 (nose)"
    _undo_redo_exact(h, before)


def test_v_cycles_the_visibility_of_the_hovered_keypoint(h: Harness) -> None:
    before = _snapshot(h.rec)
    QTest.mouseMove(h.canvas.viewport(), h.view(200, 100))  # hover left eye of instance 1
    assert h.canvas.hovered().kind == "keypoint"
    seen = []
    for _ in range(3):
        h.key(Qt.Key.Key_V)
        seen.append(h.inst(1).keypoints[0, 2])
    assert seen == [1.0, 0.0, 2.0]
    assert np.array_equal(h.inst(1).keypoints[0, :2], before[1].keypoints[0, :2])
    assert h.stack.count() == 3
    for _ in range(3):
        h.stack.undo()
    assert _same(h.rec.instances, before)


def test_f_swaps_left_and_right_points(h: Harness) -> None:
    h.click(h.view(260, 190))
    assert h.canvas.selected_instance() == 1
    before = _snapshot(h.rec)
    h.key(Qt.Key.Key_F)
    assert np.array_equal(h.inst(1).keypoints, before[1].keypoints[[1, 0, 2, 4, 3]])
    _undo_redo_exact(h, before)


def test_delete_removes_the_selection(h: Harness) -> None:
    h.click(h.view(90, 112))
    before = _snapshot(h.rec)
    h.key(Qt.Key.Key_Delete)
    assert len(h.rec.instances) == 1 and h.inst(0).same_as(before[1], tol=0)
    assert h.canvas.selected_instance() is None
    assert len(h.canvas.box_items()) == 1
    _undo_redo_exact(h, before)


def test_p_places_missing_keypoints_one_click_each(h: Harness) -> None:
    h.click(h.view(90, 112))
    h.key(Qt.Key.Key_P)
    assert h.canvas.placing() == 4  # right_mouth is the only missing point of instance 0
    before = _snapshot(h.rec)
    target = h.view(118, 101)
    h.click(target)
    x, y = h.scene(target)
    assert np.array_equal(h.inst(0).keypoints[4], [x, y, 2.0])
    assert h.canvas.placing() is None  # nothing missing any more
    _undo_redo_exact(h, before)


def test_p_then_a_number_aims_at_a_given_point(h: Harness) -> None:
    h.click(h.view(260, 190))  # instance 1: every point placed
    h.key(Qt.Key.Key_P)
    assert h.canvas.placing() == 0  # nothing missing: aims at point 1 to re-place it
    h.key(Qt.Key.Key_3)
    assert h.canvas.placing() == 2
    target = h.view(236, 140)
    h.click(target)
    x, y = h.scene(target)
    assert h.inst(1).keypoints[2].tolist() == [x, y, 2.0]
    assert h.inst(1).class_id == 1  # the number aimed; it did not change the class
    assert h.canvas.placing() is None
    h.key(Qt.Key.Key_P)
    h.key(Qt.Key.Key_Escape)
    assert h.canvas.placing() is None and h.canvas.selected_instance() == 1


def test_v_after_the_point_went_missing_still_targets_it(h: Harness) -> None:
    """A missing point is not drawn, so it cannot be hovered: V then acts on the last point touched."""
    QTest.mouseMove(h.canvas.viewport(), h.view(70, 100))  # left_mouth of instance 0, occluded
    h.key(Qt.Key.Key_V)
    assert np.allclose(h.inst(0).keypoints[3], [70, 100, 0], atol=1e-3)
    QTest.mouseMove(h.canvas.viewport(), h.view(10, 200))  # away from everything
    h.key(Qt.Key.Key_V)
    assert np.allclose(h.inst(0).keypoints[3], [70, 100, 2], atol=1e-3)


def test_escape_during_a_drag_puts_the_box_back(h: Harness) -> None:
    vp = h.canvas.viewport()
    start = h.view(90, 112)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(vp, start + QPoint(40, 40))
    assert h.canvas.box_items()[0].rect().left() == pytest.approx(60)  # live preview
    assert h.inst(0).box[0] == pytest.approx(40)  # the record is untouched while dragging
    h.key(Qt.Key.Key_Escape)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start + QPoint(40, 40))
    assert h.canvas.box_items()[0].rect().left() == pytest.approx(40)
    assert h.stack.count() == 0


def test_class_picker_filters_and_picks_with_enter(h: Harness) -> None:
    h.click(h.view(90, 112))
    h.key(Qt.Key.Key_C)
    picker = h.canvas.class_picker()
    assert picker is not None
    QTest.keyClicks(picker.filter, "rob")
    # Matches first; the typed text is also offered as a new class, last.
    assert picker.visible_names() == ["1  robot", "+ Add class 'rob'"]
    QTest.keyClick(picker.filter, Qt.Key.Key_Return)
    assert h.inst(0).class_id == 1
    assert h.canvas.class_picker() is None


def test_class_picker_arrow_keys_move_while_typing(h: Harness) -> None:
    h.click(h.view(90, 112))  # a face: its row is highlighted
    picker = h.canvas.open_class_picker()
    assert picker is not None
    QTest.keyClick(picker.filter, Qt.Key.Key_Down)
    QTest.keyClick(picker.filter, Qt.Key.Key_Down)
    QTest.keyClick(picker.filter, Qt.Key.Key_Return)
    assert h.inst(0).class_id == 2


def test_double_click_on_a_box_opens_the_picker_for_it(h: Harness) -> None:
    p = h.view(260, 190)
    QTest.mouseMove(h.canvas.viewport(), p)
    QTest.mouseDClick(h.canvas.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p)
    picker = h.canvas.class_picker()
    assert picker is not None and h.canvas.selected_instance() == 1
    assert picker.visible_names() == ["0  face", "1  robot", "2  alien"]
    assert picker.list.currentItem().text() == "1  robot"  # the box's own class is highlighted
    QTest.keyClicks(picker.filter, "2")  # an id typed as a number
    assert picker.visible_names() == ["2  alien"]
    QTest.keyClick(picker.filter, Qt.Key.Key_Escape)
    assert h.canvas.class_picker() is None and h.inst(1).class_id == 1 and h.stack.count() == 0


def test_class_picker_adds_a_new_class_in_one_undo_step(h: Harness) -> None:
    h.click(h.view(90, 112))
    picker = h.canvas.open_class_picker()
    assert picker is not None
    QTest.keyClicks(picker.filter, "unicorn")
    assert picker.visible_names()[-1] == "+ Add class 'unicorn'"
    QTest.keyClick(picker.filter, Qt.Key.Key_Enter)
    assert h.ds.classes == [*NAMES, "unicorn"] and h.inst(0).class_id == 3
    assert h.canvas.box_items()[0].label_text() == "unicorn"
    h.stack.undo()
    assert h.ds.classes == NAMES and h.inst(0).class_id == 0
    assert h.canvas.box_items()[0].label_text() == "face"


def _wheel(h: Harness, at: QPoint, notches: int) -> None:
    vp = h.canvas.viewport()
    event = QWheelEvent(
        QPointF(at),
        QPointF(vp.mapToGlobal(at)),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(vp, event)


def test_wheel_zooms_around_the_cursor_fit_and_one_to_one(h: Harness, qtbot) -> None:
    anchor = h.view(240, 130)
    x0, y0 = h.scene(anchor)
    with qtbot.waitSignal(h.canvas.zoomChanged):
        _wheel(h, anchor, 2)
    assert h.canvas.zoom() == pytest.approx(2.0 * WHEEL_STEP**240)
    # The image point under the cursor stays under it (to the scroll bars' whole pixels).
    x1, y1 = h.scene(anchor)
    assert abs(x1 - x0) <= 1 / h.canvas.zoom() and abs(y1 - y0) <= 1 / h.canvas.zoom()
    _wheel(h, anchor, -4)
    assert h.canvas.zoom() == pytest.approx(2.0 * WHEEL_STEP**-240)
    h.canvas.fit()
    vp = h.canvas.viewport().rect()
    assert h.canvas.zoom() == pytest.approx(min(vp.width() / W, vp.height() / H), rel=0.02)
    h.canvas.zoom_1to1()
    assert h.canvas.zoom() == 1.0


def test_space_or_middle_drag_pans_without_editing(h: Harness) -> None:
    h.canvas.set_zoom(6.0)
    center = h.canvas.viewport().rect().center()
    QTest.mouseMove(h.canvas.viewport(), center)
    before = _snapshot(h.rec)
    x0, y0 = h.scene(center)
    h.drag(center, (-60, 0), button=Qt.MouseButton.MiddleButton)  # the image follows the hand
    assert h.scene(center) == (pytest.approx(x0 + 10), pytest.approx(y0))
    QTest.keyPress(h.canvas, Qt.Key.Key_Space)
    h.drag(center, (0, 30))
    QTest.keyRelease(h.canvas, Qt.Key.Key_Space)
    assert h.scene(center) == (pytest.approx(x0 + 10), pytest.approx(y0 - 5))
    assert _same(h.rec.instances, before) and h.stack.count() == 0


def test_placeholder_then_pixels_keeps_zoom_and_selection(h: Harness) -> None:
    rec_b = h.ds.records[1]
    h.canvas.set_image(h.ds, rec_b, None)
    h.canvas.set_zoom(2.5)
    h.canvas.select_instance(0)
    h.canvas.set_pixels(h.pixels(rec_b))
    assert h.canvas.zoom() == pytest.approx(2.5)
    assert h.canvas.selected_instance() == 0


def test_a_reduced_decode_is_stretched_over_the_full_image(h: Harness) -> None:
    """A viewer may decode big photos at screen size; labels stay in full-resolution pixels."""
    half = cv2.resize(h.pixels(h.rec), (W // 2, H // 2))
    h.canvas.set_pixels(half)
    assert h.canvas.sceneRect() == QRectF(0, 0, W, H)
    assert h.canvas.bounds() == (W, H)
    hit = h.canvas.hit_at(QPointF(90, 110))
    assert (hit.kind, hit.instance) == ("box", 0)
    h.drag(h.view(90, 112), (40, 20))
    assert np.allclose(h.inst(0).box, np.add(A0_BOX, [20, 10, 20, 10]), atol=1e-3)


def test_edits_saved_and_reloaded_match_the_label_file(h: Harness, pose_yaml: Path) -> None:
    label_b = h.ds.records[1].label_path
    text_b = label_b.read_bytes()
    h.drag(h.view(90, 112), (40, 20))  # move instance 0
    h.key(Qt.Key.Key_2)  # it becomes a robot
    h.drag(h.view(240, 130), (-12, 10))  # move the nose of instance 1
    QTest.mouseMove(h.canvas.viewport(), h.view(280, 100))
    h.key(Qt.Key.Key_V)  # its right eye becomes occluded
    h.click(h.view(260, 190))
    h.key(Qt.Key.Key_F)
    edited = _snapshot(h.rec)
    written = save_dataset(h.ds)
    assert written == [h.rec.label_path]  # the untouched image's file is not rewritten
    assert label_b.read_bytes() == text_b
    again = open_dataset(pose_yaml)
    reloaded = again.records[0].ensure_loaded().instances
    assert len(reloaded) == len(edited)
    for got, want in zip(reloaded, edited, strict=True):
        want = want.copy()
        want.keypoints[want.keypoints[:, 2] == 0] = 0  # a missing point is written as 0 0 0
        assert got.same_as(want, tol=1e-4)
    lines = h.rec.label_path.read_text().splitlines()
    assert [ln.split()[0] for ln in lines] == ["1", "1"]
    assert lines[1].split()[5 + 3 * 1 + 2] == "2" and lines[1].split()[5 + 2] == "1"  # swapped eyes
    assert all(len(ln.split()) == 5 + 5 * 3 for ln in lines)


def test_predictions_are_drawn_but_never_edited(h: Harness) -> None:
    preds = [Prediction(1, np.array([30.0, 30.0, 150.0, 130.0]), 0.87, np.array([[60, 60, 0.9]] * 5))]
    h.canvas.set_predictions(preds)
    assert len(h.canvas.prediction_items()) == 1 and h.canvas.prediction_items()[0].isVisible()
    assert h.canvas.prediction_items()[0].label_text() == "robot 0.87"
    assert h.canvas.hit_at(QPointF(35, 125)).kind == "none"  # inside the prediction, outside the label
    h.canvas.set_predictions_visible(False)
    assert not h.canvas.prediction_items()[0].isVisible()
    h.canvas.set_predictions(None)
    assert h.canvas.prediction_items() == []


def test_geometry_rules() -> None:
    from workbench.gui.canvas.geometry import clamp_translation, first_missing, next_visibility

    # A box already sticking out of the image may move back in, never further out.
    assert clamp_translation(np.array([-5.0, 10, 20, 30]), -3, 0, (100, 100)) == (0, 0)
    assert clamp_translation(np.array([-5.0, 10, 20, 30]), 4, 0, (100, 100)) == (4, 0)
    assert clamp_translation(np.array([10.0, 10, 20, 30]), 500, -500, (100, 100)) == (80, -10)
    assert [next_visibility(v) for v in (2, 1, 0)] == [1, 0, 2]
    assert [next_visibility(v, with_occluded=False) for v in (2, 0)] == [0, 2]  # yolov5-face: no "occluded"
    assert first_missing(Instance(0, np.zeros(4), None), 5) == 0
    assert first_missing(Instance(0, np.zeros(4), np.array([[1, 1, 2], [0, 0, 0], [2, 2, 1]])), 3) == 1


def test_rendered_frame_shows_boxes_in_their_class_color(h: Harness, tmp_path: Path) -> None:
    h.canvas.fit()
    image = h.canvas.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    image.save(str(tmp_path / "canvas.png"))
    for inst in h.rec.instances:
        x1, y1, x2, y2 = inst.box
        p = h.view(x1, (y1 + y2) / 2)  # on the left edge, away from the keypoints
        # The outline is 2 screen pixels wide; one of the pixels at the edge is the class color.
        colors = {image.pixelColor(p.x() + dx, p.y()).getRgb()[:3] for dx in (-1, 0, 1)}
        assert class_color(inst.class_id) in colors


def test_thousands_of_boxes_stay_usable(qtbot, h: Harness) -> None:
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, [W - 20, H - 20], size=(3000, 2))
    h.rec.set_instances([Instance(int(i % 3), np.r_[p, p + 15], None) for i, p in enumerate(xy)])
    t0 = time.perf_counter()
    h.canvas.refresh()
    h.canvas.fit()
    h.canvas.grab()
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    for p in xy[:200]:
        h.canvas.hit_at(QPointF(*(p + 7)))
    hit = (time.perf_counter() - t0) / 200
    assert build < 3.0 and hit < 0.01, (build, hit)

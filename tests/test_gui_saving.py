"""Saving: only changed files, autosave on switch and timer, the close prompt, and kill-safety."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QMessageBox

from tests._gui_window import open_window
from workbench.formats import open_dataset
from workbench.gui.saving import SaveController

pytest.importorskip("pytestqt")
pytest_plugins = ["tests._gui_fixtures"]  # the gui_sample fixture


def _edit_class(w, record_index: int = 0) -> None:
    from workbench.gui import commands

    rec = w.ds.records[record_index]
    old = rec.instances[0].class_id
    w.undo_stack.push(commands.set_class(rec, [0], (old + 1) % w.ds.nc, w.notifier))


def test_autosave_on_image_switch_writes_only_the_edited_file(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    labels = [r.label_path for r in w.ds.records]
    mtimes = {p: p.stat().st_mtime_ns for p in labels}
    before = labels[0].read_text()
    _edit_class(w)
    assert w.isWindowModified() and w.saver.dirty
    w.actions["next_image"].trigger()
    assert not w.isWindowModified() and w.current == 1
    assert labels[0].read_text() != before
    assert [p for p in labels if p.stat().st_mtime_ns != mtimes[p]] == [labels[0]]


def test_autosave_timer(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    _edit_class(w)
    w.saver.timer.setInterval(30)
    qtbot.waitUntil(lambda: not w.isWindowModified(), timeout=3000)
    assert (
        open_dataset(gui_sample).records[0].ensure_loaded().instances[0].class_id
        == w.ds.records[0].instances[0].class_id
    )


@pytest.mark.parametrize(
    "answer, closes, saved",
    [
        (QMessageBox.StandardButton.Cancel, False, False),
        (QMessageBox.StandardButton.Save, True, True),
        (QMessageBox.StandardButton.Discard, True, False),
    ],
)
def test_close_with_unsaved_edits_prompts(qtbot, monkeypatch, tmp_path, gui_sample, answer, closes, saved):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    _edit_class(w)
    before = w.ds.records[0].label_path.read_text()
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[1]) or answer)
    assert w.close() is closes
    assert asked == ["Unsaved edits"]
    assert (w.ds.records[0].label_path.read_text() != before) is saved
    if not closes:
        assert w.isVisible() and w.isWindowModified()
        w.save()


def test_clean_window_closes_without_asking(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: pytest.fail("asked although nothing changed"))
    assert w.close()


def test_failed_save_keeps_edits_and_says_why(qtbot):
    def broken(ds):
        raise PermissionError(13, "Permission denied", "/data/labels/a.txt")

    stack = QUndoStack()
    saver = SaveController(stack, autosave_seconds=0, saver=broken)
    saver.ds = object()
    stack.resetClean()  # "an edit happened"
    assert saver.dirty
    with qtbot.waitSignal(saver.failed) as blocker:
        assert saver.save() is False
    assert "/data/labels/a.txt" in blocker.args[0] and "Permission denied" in blocker.args[0]
    assert not stack.isClean()


def _snapshot(paths: list[Path]) -> dict[Path, tuple[bytes, int]]:
    return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in paths}


def _dataset_files(w) -> list[Path]:
    labels = [r.label_path for r in w.ds.records if r.label_path is not None and r.label_path.exists()]
    return [*labels, w.ds.config_file]


def test_discard_undoes_to_the_saved_state_and_the_timer_under_the_prompt_writes_nothing(
    qtbot, monkeypatch, tmp_path, gui_sample
):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    files = _dataset_files(w)
    before = _snapshot(files)
    rec = w.ds.records[0]
    read_class = rec.instances[0].class_id
    _edit_class(w)
    w.saver.timer.setInterval(10)

    def slow_prompt(*a, **k):
        qtbot.wait(300)  # the user reads the prompt; the event loop (and the timer) keep running
        return QMessageBox.StandardButton.Discard

    monkeypatch.setattr(QMessageBox, "question", slow_prompt)
    assert w.close()
    qtbot.wait(100)  # the timer of a closed window must not save the discarded edit either
    assert _snapshot(files) == before
    # Memory matches the files again: nothing is dirty, the edit is undone.
    assert not w.saver.dirty and rec.instances[0].class_id == read_class


def test_failed_save_in_the_window_says_which_file_and_autosave_says_it_in_the_status_bar(
    qtbot, monkeypatch, tmp_path, gui_sample
):
    import errno

    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    rec = w.ds.records[0]
    before = rec.label_path.read_bytes()
    _edit_class(w)
    edited = rec.instances[0].class_id

    def disk_full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("workbench.core.atomic._replace_with", disk_full)
    boxes = []
    monkeypatch.setattr(QMessageBox, "critical", lambda parent, title, text, *a: boxes.append(text))
    assert w.save() is False
    assert len(boxes) == 1 and str(rec.label_path) in boxes[0] and "No space left" in boxes[0]
    assert w.isWindowModified() and rec.instances[0].class_id == edited
    assert rec.label_path.read_bytes() == before
    # An autosave that fails says so in the status bar, without a box every minute.
    assert w.saver.autosave() is False
    assert len(boxes) == 1 and str(rec.label_path) in w.statusBar().currentMessage()
    monkeypatch.undo()  # the disk has room again: the edit is still there to save
    assert w.save() and not w.isWindowModified()
    assert open_dataset(gui_sample).records[0].ensure_loaded().instances[0].class_id == edited


# --------------------------------------------------------------------------- kill safety

_CHILD = """
import sys
from workbench.formats import open_dataset, save_dataset
ds = open_dataset(sys.argv[1])
rec = ds.records[0].ensure_loaded()
a = [i.copy() for i in rec.instances]
b = [i.copy() for i in a]
for inst in b:
    inst.class_id = 1
print("ready", flush=True)
k = 0
while True:
    rec.set_instances(b if k % 2 == 0 else a)
    save_dataset(ds)
    k += 1
"""


def _big_dataset(root: Path, n: int = 4000) -> Path:
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    cv2.imwrite(str(root / "images" / "big.png"), np.zeros((480, 640, 3), np.uint8))
    rng = np.random.default_rng(0)
    lines = [f"0 {x:.6f} {y:.6f} 0.050000 0.050000" for x, y in rng.uniform(0.1, 0.9, (n, 2))]
    (root / "labels" / "big.txt").write_text("\n".join(lines) + "\n")
    (root / "data.yaml").write_text("path: .\ntrain: images\nval: images\nnames: [a, b]\n")
    return root / "data.yaml"


def test_kill_during_saves_leaves_old_or_new_file(tmp_path):
    """SIGKILL a process that saves a 4000-line label file in a loop; the file always parses whole."""
    data = _big_dataset(tmp_path / "ds")
    n = 4000
    rng = random.Random(1)
    seen = set()
    repo = Path(__file__).resolve().parents[1]
    for _ in range(5):
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(data)], stdout=subprocess.PIPE, cwd=repo)
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.0, 0.15))
        child.send_signal(signal.SIGKILL)
        child.wait()
        rec = open_dataset(data).records[0].ensure_loaded()
        assert not rec.findings, rec.findings[:3]
        classes = {inst.class_id for inst in rec.instances}
        assert len(rec.instances) == n and classes in ({0}, {1}), (len(rec.instances), classes)
        seen.add(classes.pop())
    # Leftover temp files of a killed write are harmless but must not look like labels.
    assert not [p for p in (tmp_path / "ds" / "labels").iterdir() if p.suffix == ".txt" and p.name != "big.txt"]
    assert seen  # at least one state observed; usually both


def test_saving_keeps_untouched_lines_byte_for_byte_and_edit_plus_undo_writes_nothing(
    qtbot, monkeypatch, tmp_path, gui_sample
):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    rec = w.ds.records[0]
    label = rec.label_path
    # Hand-written text: six decimals with trailing zeros, CRLF, an unparseable line in the middle.
    lines = label.read_text().splitlines()
    padded = [" ".join(f"{float(t):.6f}" if "." in t else t for t in line.split()) for line in lines]
    original = "\r\n".join(padded[:1] + ["this line does not parse"] + padded[1:]) + "\r\n"
    label.write_bytes(original.encode())
    w.close_dataset()  # this window must not autosave over the hand-written file
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    rec = w.ds.records[0]
    rec.ensure_loaded()
    mtime = label.stat().st_mtime_ns
    _edit_class(w)
    w.undo_stack.undo()
    assert w.saver.save()
    assert label.read_bytes() == original.encode() and label.stat().st_mtime_ns == mtime  # nothing written
    _edit_class(w)  # line 1 changes; everything else stays as written
    assert w.saver.save()
    new, old = label.read_bytes().decode().split("\r\n"), original.split("\r\n")
    assert new[0].split()[0] == str(rec.instances[0].class_id)
    assert [float(v) for v in new[0].split()[1:]] == [float(v) for v in old[0].split()[1:]]
    assert new[1] == "this line does not parse"  # stays where it was
    assert new[2:] == old[2:]  # untouched lines byte for byte, CRLF included


def test_add_class_then_undo_leaves_data_yaml_alone_and_a_real_change_keeps_comments(
    qtbot, monkeypatch, tmp_path, gui_sample
):
    text = gui_sample.read_text()
    commented = "# my dataset, do not reformat\n" + text + "extra_key: kept  # a comment\n"
    gui_sample.write_text(commented)
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    from workbench.gui import commands

    w.undo_stack.push(commands.AddClassCommand(w.ds, "zebra", w.notifier))
    assert w.saver.dirty and w.isWindowModified()
    w.undo_stack.undo()
    assert not w.saver.dirty and not w.isWindowModified()
    w.saver.save()
    assert gui_sample.read_text() == commented
    w.undo_stack.push(commands.AddClassCommand(w.ds, "zebra", w.notifier))
    assert w.saver.save()
    after = gui_sample.read_text()
    assert "# my dataset, do not reformat" in after and "extra_key: kept  # a comment" in after
    assert "zebra" in after and open_dataset(gui_sample).classes[-1] == "zebra"


def test_autosave_waits_while_a_modal_dialog_is_open(qtbot, monkeypatch, tmp_path, gui_sample):
    from PySide6.QtWidgets import QDialog

    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    label = w.ds.records[0].label_path
    before = label.read_bytes()
    _edit_class(w)
    dialog = QDialog(w)
    dialog.setModal(True)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.isVisible())
    assert w.saver.autosave() and label.read_bytes() == before and w.saver.dirty
    dialog.close()
    assert w.saver.autosave() and label.read_bytes() != before

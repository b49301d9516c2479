"""The session: what is open and current, as plain Python (no QApplication here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.gui.session import Session


def _dataset(n: int, root: Path) -> Dataset:
    records = []
    for i in range(n):
        rec = ImageRecord(path=root / f"img{i}.jpg", width=64, height=48)
        rec.instances = [Instance(class_id=0, box=np.array([1.0, 2.0, 10.0, 12.0]))]
        records.append(rec)
    return Dataset(root=root, classes=["cat"], records=records)


class _Log:
    def __init__(self, session: Session) -> None:
        self.events: list[tuple] = []
        session.dataset_changed.connect(lambda ds, path: self.events.append(("dataset", ds, path)))
        session.record_changed.connect(lambda i, rec: self.events.append(("record", i, rec)))
        session.selection_changed.connect(lambda sel: self.events.append(("selection", sel)))
        session.checkpoint_changed.connect(lambda p: self.events.append(("checkpoint", p)))


def test_session_module_imports_no_qt() -> None:
    # Loaded as a file: workbench.gui's package init installs Qt workarounds; the session needs none.
    code = (
        "import importlib.util, sys; spec = importlib.util.spec_from_file_location('s', "
        f"{str(Path(__file__).parents[1] / 'workbench' / 'gui' / 'session.py')!r}); "
        "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
        "assert not [k for k in sys.modules if k.startswith('PySide6')], 'Qt imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_open_select_and_switch_fire_each_event_once(tmp_path) -> None:
    s = Session()
    log = _Log(s)
    ds = _dataset(3, tmp_path)
    s.open_dataset(ds, tmp_path / "data.yaml")
    assert log.events == [("dataset", ds, str(tmp_path / "data.yaml"))]
    assert s.record is None and s.index is None

    assert s.set_index(1)
    assert s.record is ds.records[1]
    s.set_selection(0)
    s.set_selection(0)  # no change, no event
    assert log.events[1:] == [("record", 1, ds.records[1]), ("selection", 0)]

    log.events.clear()
    assert s.set_index(1)  # already current: nothing happens
    assert log.events == []
    assert s.set_index(2)  # a new image drops the old image's selection first
    assert log.events == [("selection", None), ("record", 2, ds.records[2])]
    assert s.selection is None


def test_out_of_range_index_is_refused_and_nothing_changes(tmp_path) -> None:
    s = Session()
    assert not s.set_index(0)  # no dataset
    s.open_dataset(_dataset(2, tmp_path), tmp_path)
    log = _Log(s)
    assert not s.set_index(2) and not s.set_index(-1)
    assert s.index is None and log.events == []
    s.set_selection(3)  # no current image: nothing can be selected
    assert s.selection is None and log.events == []


def test_a_new_dataset_resets_image_and_selection(tmp_path) -> None:
    s = Session()
    first, second = _dataset(2, tmp_path), _dataset(1, tmp_path)
    s.open_dataset(first, "a")
    s.set_index(1)
    s.set_selection(0)
    log = _Log(s)
    s.open_dataset(second, "b")
    assert log.events == [("selection", None), ("record", None, None), ("dataset", second, "b")]
    assert s.index is None and s.selection is None
    s.close_dataset()
    assert s.dataset is None and s.dataset_path is None and log.events[-1] == ("dataset", None, None)


def test_checkpoint_changes_once_and_empty_means_none(tmp_path) -> None:
    s = Session()
    log = _Log(s)
    s.set_checkpoint(tmp_path / "best.pt")
    s.set_checkpoint(str(tmp_path / "best.pt"))
    s.set_checkpoint("")
    assert log.events == [("checkpoint", tmp_path / "best.pt"), ("checkpoint", None)]


def test_a_callback_can_disconnect_itself_while_the_event_runs() -> None:
    s = Session()
    seen: list[object] = []

    def once(p: object) -> None:
        seen.append(p)
        s.checkpoint_changed.disconnect(once)

    s.checkpoint_changed.connect(once)
    s.checkpoint_changed.connect(seen.append)
    s.set_checkpoint("a.pt")
    s.set_checkpoint("b.pt")
    assert seen == [Path("a.pt"), Path("a.pt"), Path("b.pt")]

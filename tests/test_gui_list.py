"""The image list: filters, counts, 100k rows, thumbnails off the UI thread, the decode cache."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap

from tests._gui_window import open_window
from workbench.core.annotation import Dataset, ImageRecord, Instance
from workbench.gui.image_cache import ImageCache, decode_scale_for
from workbench.gui.image_list import ImageFilter, ImageListModel, RecordFacts, scan_facts
from workbench.gui.thumbnails import ThumbnailLoader

pytest.importorskip("pytestqt")
pytest_plugins = ["tests._gui_fixtures"]


def _names(model: ImageListModel) -> list[str]:
    return [model.index(r).data() for r in range(model.rowCount())]


def _tiny_dataset(tmp_path: Path) -> Dataset:
    recs = []
    for i, (split, classes, labeled) in enumerate(
        [
            ("train", [0, 0], True),
            ("train", [1], True),
            ("train", [], False),
            ("val", [2, 0], True),
            ("val", [], True),
        ]
    ):
        r = ImageRecord(path=tmp_path / f"img_{i}.jpg", split=split, has_labels=labeled)
        r.instances = [Instance(c, np.array([0, 0, 5, 5])) for c in classes]
        recs.append(r)
    return Dataset(root=tmp_path, classes=["a", "b", "c"], records=recs)


def test_filters_and_counts(qtbot, tmp_path):
    ds = _tiny_dataset(tmp_path)
    model = ImageListModel()
    model.set_dataset(ds)
    assert model.rowCount() == 5
    model.set_facts(scan_facts(ds, [0, 2, 0, 1, 0]))
    assert model.facts.totals(3) == [3, 1, 1]
    cases = [
        (ImageFilter(split="val"), ["img_3.jpg", "img_4.jpg"]),
        (ImageFilter(class_id=0), ["img_0.jpg", "img_3.jpg"]),
        (ImageFilter(has_findings=True), ["img_1.jpg", "img_3.jpg"]),
        (ImageFilter(unlabeled=True), ["img_2.jpg", "img_4.jpg"]),  # an empty label file has no boxes either
        (ImageFilter(text="IMG_1"), ["img_1.jpg"]),
        (ImageFilter(split="train", class_id=1), ["img_1.jpg"]),
    ]
    for flt, expected in cases:
        model.apply_filter(flt)
        assert _names(model) == expected, flt
    # An edit updates facts (and the totals) for that record only.
    ds.records[2].instances = [Instance(2, np.array([0, 0, 5, 5]))]
    model.update_record(2, 0)
    assert model.facts.totals(3) == [3, 1, 2]


def test_unscanned_records_are_not_hidden(qtbot, tmp_path):
    ds = _tiny_dataset(tmp_path)
    model = ImageListModel()
    model.set_dataset(ds)
    model.apply_filter(ImageFilter(class_id=2, has_findings=True))
    assert model.rowCount() == 5  # nothing known yet: nothing disappears before the scan


def test_list_widget_filters_and_neighbours(qtbot, monkeypatch, tmp_path, gui_sample):
    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    lst = w.image_list
    lst.findings_check.setChecked(True)
    shown = _names(lst.model)
    assert "train_021.jpg" in shown and "train_009.jpg" in shown and len(shown) < 48
    assert lst.count_label.text() == f"{len(shown)} of 48"
    lst.findings_check.setChecked(False)
    lst.split_box.setCurrentIndex(lst.split_box.findData("val"))
    assert all(n.startswith("val_") for n in _names(lst.model)) and lst.model.rowCount() == 12
    lst.class_box.setCurrentIndex(lst.class_box.findData(2))
    assert 0 < lst.model.rowCount() < 12
    lst.split_box.setCurrentIndex(0)
    lst.class_box.setCurrentIndex(0)
    current = w.current
    lst.search.setFocus()
    qtbot.keyClicks(lst.search, "val_01")  # letters go to the search box, not to the A/D/N shortcuts
    assert lst.search.text() == "val_01" and w.current == current
    assert _names(lst.model) == ["val_010.jpg", "val_011.jpg"]
    first = lst.model.record_index(0)
    assert lst.neighbour(first, 1) == lst.model.record_index(1) and lst.neighbour(first, -1) is None
    lst.view.setCurrentIndex(lst.model.index(1))  # clicking a row shows it
    assert w.ds.records[w.current].path.name == "val_011.jpg"
    lst.grid_button.click()
    assert lst.model.show_thumbnails and lst.view.viewMode() == lst.view.ViewMode.IconMode


def test_hundred_thousand_rows_filter_fast(qtbot, tmp_path):
    n = 100_000
    folder = Path("/data/frames")  # never touched: listing and filtering must not hit the disk
    ds = Dataset(
        root=folder,
        classes=["a"],
        records=[
            ImageRecord(path=folder / f"frame_{i:06d}.jpg", split="train" if i % 5 else "val", loaded=False)
            for i in range(n)
        ],
    )
    model = ImageListModel()
    t = time.perf_counter()
    model.set_dataset(ds)
    model.apply_filter(ImageFilter(text="frame_0999"))
    model.apply_filter(ImageFilter(split="val"))
    elapsed = time.perf_counter() - t
    assert model.rowCount() == n // 5
    assert not any(r.loaded for r in ds.records[:100])  # listing never loads labels
    assert elapsed < 1.0, f"100k-row reset + 2 filters took {elapsed:.2f} s"
    facts = RecordFacts.empty(n)
    assert facts.totals(1) == [0]


def _jpeg(path: Path, w: int = 800, h: int = 600) -> Path:
    img = np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)
    cv2.imwrite(str(path), img)
    return path


def test_thumbnails_are_made_off_thread_and_cached_on_disk(qtbot, tmp_path):
    img = _jpeg(tmp_path / "a.jpg")
    loader = ThumbnailLoader(size=64, folder=tmp_path / "thumbs")
    assert loader.get(img) is None  # a miss never blocks
    with qtbot.waitSignal(loader.thumbnailReady, timeout=5000) as blocker:
        pass
    assert blocker.args == [str(img)]
    pix = loader.get(img)
    assert pix is not None and max(pix.width(), pix.height()) == 64
    cached = list((tmp_path / "thumbs").rglob("*.jpg"))
    assert len(cached) == 1
    again = ThumbnailLoader(size=64, folder=tmp_path / "thumbs")  # a new session reads the disk cache
    cached[0].write_bytes(cv2.imencode(".jpg", np.full((48, 64, 3), 255, np.uint8))[1].tobytes())
    again.get(img)
    qtbot.waitSignal(again.thumbnailReady, timeout=5000).wait()
    assert again.get(img).toImage().pixelColor(5, 5).red() == 255  # the cached file, not a re-decode


def test_image_cache_decodes_in_pool_and_reduces_large_images(qtbot, tmp_path):
    img = _jpeg(tmp_path / "big.jpg", 1600, 1200)
    assert decode_scale_for((1600, 1200), (1000, 700)) == 1.0
    assert decode_scale_for((4000, 3000), (1000, 700)) == 0.25
    assert decode_scale_for((4000, 3000), (1900, 1000)) == 0.5
    cache = ImageCache(capacity_mb=64)
    assert cache.get(img, 0.5) is None
    with qtbot.waitSignal(cache.imageReady, timeout=5000) as blocker:
        pass
    decoded = blocker.args[1]
    assert decoded.rgb.shape == (600, 800, 3) and decoded.scale == 0.5
    assert cache.get(img, 0.5) is decoded and cache.get(img, 0.25) is decoded  # finer serves coarser
    assert cache.peek(str(img), 1.0) is None
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    cache.get(bad)
    with qtbot.waitSignal(cache.imageReady, timeout=5000) as blocker:
        pass
    assert blocker.args[1].error and "bad.jpg" in blocker.args[1].error


def test_the_grid_opens_at_the_current_image_scrolls_rows_per_notch_and_fits_portraits(
    qtbot, monkeypatch, tmp_path, gui_sample
):
    from PySide6.QtGui import QIcon

    from workbench.gui.image_list import GRID_CELL, GRID_ICON

    w = open_window(qtbot, monkeypatch, tmp_path, gui_sample)
    lst = w.image_list
    w.show_record(40)
    lst.grid_button.click()
    qtbot.waitUntil(lambda: lst.view.viewport().rect().intersects(lst.view.visualRect(lst.view.currentIndex())))
    assert lst.view.verticalScrollBar().value() > 0  # not the top of the grid
    bar = lst.view.verticalScrollBar()
    assert bar.singleStep() >= GRID_CELL.height() // 2  # a wheel notch (3 steps) moves rows, not pixels
    # A portrait thumbnail is an icon the view fits into its icon size, clear of the caption.
    portrait = QPixmap(60, 128)
    monkeypatch.setattr(lst.model.thumbnails, "get", lambda _path: portrait)
    decoration = lst.model.data(lst.model.index(0), Qt.ItemDataRole.DecorationRole)
    assert isinstance(decoration, QIcon)
    fitted = decoration.actualSize(GRID_ICON)
    assert fitted.height() <= GRID_ICON.height() and fitted.width() < fitted.height()

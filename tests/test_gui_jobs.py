"""The background-job helper: results arrive on the GUI thread, failures as messages,
cancelled and orphaned jobs deliver nothing, and no job is left behind."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QObject, QThread, QThreadPool
from PySide6.QtWidgets import QApplication

from workbench.gui.jobs import pending_jobs, run_in_pool


@pytest.fixture
def pool(qtbot):
    before = pending_jobs()  # jobs of earlier tests may still be delivering; they only go away
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    yield pool
    assert pool.waitForDone(5000)
    qtbot.waitUntil(lambda: pending_jobs() <= before, timeout=2000)  # this test's jobs all delivered


def _on_gui_thread() -> bool:
    return QThread.currentThread() is QApplication.instance().thread()


def test_result_is_computed_in_the_pool_and_delivered_on_the_gui_thread(qtbot, pool):
    got = []
    job = run_in_pool(
        lambda a, b: (a + b, threading.current_thread() is threading.main_thread()),
        2,
        3,
        on_done=lambda value: got.append((value, _on_gui_thread())),
        pool=pool,
    )
    assert not got  # never delivered inside the call, even when the pool is quick
    qtbot.waitUntil(lambda: job.done, timeout=5000)
    assert got == [((5, False), True)]


def test_an_exception_arrives_as_a_message(qtbot, pool):
    errors, results = [], []

    def boom() -> None:
        raise ValueError("bad size")

    run_in_pool(boom, on_done=results.append, on_error=errors.append, pool=pool)
    job = run_in_pool(boom, on_error=errors.append, describe=lambda e: f"boom.txt: {e}", pool=pool)
    qtbot.waitUntil(lambda: job.done, timeout=5000)
    assert errors == ["ValueError: bad size", "boom.txt: bad size"] and not results


def test_a_generator_streams_its_values_in_order_then_its_return_value(qtbot, pool):
    got = []

    def count(n: int):
        yield from range(n)
        return "end"

    job = run_in_pool(count, 5, on_yield=got.append, on_done=got.append, pool=pool)
    qtbot.waitUntil(lambda: job.done, timeout=5000)
    assert got == [0, 1, 2, 3, 4, "end"]


def test_a_cancelled_job_never_runs_and_delivers_nothing(qtbot, pool):
    gate = threading.Event()
    ran, got = [], []
    blocker = run_in_pool(gate.wait, 5, pool=pool)  # holds the only thread
    queued = run_in_pool(lambda: ran.append(1) or "stale", on_done=got.append, pool=pool)
    queued.cancel()
    gate.set()
    qtbot.waitUntil(lambda: blocker.done and queued.done, timeout=5000)
    assert not ran and not got


def test_cancelling_a_running_job_drops_its_result_and_stops_a_generator(qtbot, pool):
    started, release = threading.Event(), threading.Event()
    got, produced = [], []

    def slow():
        yield "first"
        started.set()
        release.wait(5)
        for i in range(100):
            produced.append(i)
            yield i

    job = run_in_pool(slow, on_yield=got.append, on_done=got.append, pool=pool)
    qtbot.waitUntil(lambda: got == ["first"], timeout=5000)
    assert started.wait(5)
    job.cancel()
    release.set()
    qtbot.waitUntil(lambda: job.done, timeout=5000)
    assert got == ["first"]  # nothing after the cancel, not even the return value
    assert len(produced) <= 1  # the generator stopped at its next yield


def test_a_job_that_outlives_its_owner_delivers_nothing(qtbot, pool):
    owner = QObject()
    gate = threading.Event()
    got = []
    job = run_in_pool(gate.wait, 5, on_done=got.append, owner=owner, pool=pool)
    shiboken6.delete(owner)  # the widget closed while the job ran
    gate.set()
    qtbot.waitUntil(lambda: job.done, timeout=5000)
    assert not got


# ---------------------------------------------------------------------- the sites keep what they need


def test_opening_reports_a_dataset_error_as_it_is_and_a_reader_bug_by_name(qtbot, tmp_path, monkeypatch):
    from workbench.gui import opening

    opener = opening.DatasetOpener()
    missing = tmp_path / "nothing.yaml"
    with qtbot.waitSignal(opener.failed, timeout=5000) as blocker:
        opener.open(missing)
    assert blocker.args[0] == str(missing) and "nothing.yaml" in blocker.args[1]
    assert "could not be opened" not in blocker.args[1] and not opener.busy

    def broken(path: str):
        raise KeyError("names")

    monkeypatch.setattr(opening, "open_dataset", broken)
    with qtbot.waitSignal(opener.failed, timeout=5000) as blocker:
        opener.open(missing)
    assert blocker.args[1] == f"{missing}: could not be opened (KeyError: 'names')"
    assert opener._pool.waitForDone(5000)


def test_a_validator_bug_still_gives_the_window_its_dataset(qtbot, sample_yaml, monkeypatch):
    from workbench.formats import open_dataset
    from workbench.gui import validation_job

    ds = open_dataset(sample_yaml)

    def broken(ds, workers=None):
        raise RuntimeError("checker crashed")

    monkeypatch.setattr(validation_job, "validate_dataset", broken)
    job = validation_job.ValidationJob()
    with qtbot.waitSignal(job.finished, timeout=10000) as blocker:
        job.start(ds)
    result = blocker.args[0]
    assert result.ds is ds and result.error == "validation failed: RuntimeError: checker crashed"
    assert result.store.all() == validation_job.sort_findings(ds.findings) and job.running == 0
    assert job.wait(5000)


def test_devices_fall_back_to_the_cpu_when_torch_fails(qtbot, monkeypatch):
    from workbench.gui.training import devices

    def broken():
        raise OSError("libcuda.so: cannot open shared object file")

    monkeypatch.setattr(devices, "list_devices", broken)
    query = devices.DeviceQuery()
    with qtbot.waitSignal(query.found, timeout=5000) as blocker:
        query.start()
    assert blocker.args == [[devices.CPU]]
    assert QThreadPool.globalInstance().waitForDone(5000)


class _SlowPredictor:
    classes = ["a"]

    def __init__(self) -> None:
        self.failed: dict = {}

    def predict_paths(self, paths, batch_size=4, conf=None, progress=None):
        threading.Event().wait(0.1)
        self.failed = {paths[0]: "unreadable"}
        return {p: [] for p in paths}


def test_prediction_runner_cancel_stops_after_the_batch_and_still_finishes(qtbot, tmp_path):
    from workbench.gui.predictions.runner import BATCH, PredictionRunner

    weights = tmp_path / "best.pt"
    weights.write_bytes(b"checkpoint")
    paths = [tmp_path / f"{i}.jpg" for i in range(20 * BATCH)]  # 2 s of work: a cancel arrives long before
    runner = PredictionRunner(lambda _w: _SlowPredictor())
    batches, loaded = [], []
    runner.predictorLoaded.connect(loaded.append)
    runner.predicted.connect(lambda found: (batches.append(found), runner.cancel()))
    with qtbot.waitSignal(runner.finished, timeout=10000) as blocker:
        assert runner.run(weights, paths) == len(paths)
    failed, error = blocker.args
    assert error == "" and not runner.busy() and len(loaded) == 1
    assert 1 <= len(batches) < 20 and len(runner.cache) == BATCH * len(batches)
    assert len(failed) == len(batches)  # the failures of the batches done (one per batch here)

    def no_model(_weights: Path):
        raise RuntimeError("not a checkpoint")

    other = tmp_path / "other.pt"
    other.write_bytes(b"junk")
    runner.factory = no_model
    with qtbot.waitSignal(runner.finished, timeout=10000) as blocker:
        runner.run(other, paths)
    assert blocker.args == [{}, f"{other}: RuntimeError: not a checkpoint"] and not runner.busy()
    assert runner.wait(5000)


def test_image_cache_clear_drops_decodes_of_the_old_dataset(qtbot, tmp_path):
    import cv2
    import numpy as np

    from workbench.gui.image_cache import ImageCache

    img = tmp_path / "a.jpg"
    cv2.imwrite(str(img), np.zeros((40, 60, 3), np.uint8))
    cache = ImageCache(capacity_mb=8, threads=1)
    ready = []
    cache.imageReady.connect(lambda path, decoded: ready.append(path))
    assert cache.get(img) is None
    cache.clear()  # another dataset opened before the decode was delivered
    assert cache.wait(5000)
    qtbot.wait(50)
    assert not ready and cache.peek(str(img), 1.0) is None
    with qtbot.waitSignal(cache.imageReady, timeout=5000):
        assert cache.get(img) is None  # asked again: decoded again, not stuck behind the dropped one
    assert cache.peek(str(img), 1.0) is not None

"""The background-job helper: results arrive on the GUI thread, failures as messages,
cancelled and orphaned jobs deliver nothing, and no job is left behind."""

from __future__ import annotations

import threading

import pytest
import shiboken6
from PySide6.QtCore import QObject, QThread, QThreadPool
from PySide6.QtWidgets import QApplication

from workbench.gui.jobs import pending_jobs, run_in_pool


@pytest.fixture
def pool(qtbot):
    pool = QThreadPool()
    pool.setMaxThreadCount(1)
    yield pool
    assert pool.waitForDone(5000)
    qtbot.waitUntil(lambda: pending_jobs() == 0, timeout=2000)  # every job's last delivery ran


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

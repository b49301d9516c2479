"""One way to run work off the UI thread and get its result back on it.

``run_in_pool(fn, *args, on_done=...)`` runs ``fn(*args)`` in a ``QThreadPool`` and calls
``on_done(result)`` on the GUI thread; an exception becomes ``on_error(message)`` there
instead of a dead pool thread. A generator function streams: each value it yields arrives
through ``on_yield`` (in order, before ``on_done`` gets its return value), which is how
the thumbnail loader and the prediction runner post results one at a time.

The returned :class:`Job` can be cancelled. A cancelled job that has not started never
runs, a generator stops at its next ``yield``, and nothing more is delivered: the result
of a job for a dataset or a path that is no longer current is dropped here, so a callback
never has to ask whether it is still wanted. Nothing is delivered to an ``owner`` whose
C++ object is gone either (its window closed while the job ran).

Why not superqt's ``thread_worker`` (the library napari uses): its workers wrap every run
in ``warnings.catch_warnings()`` and replace ``warnings.showwarning``, process-wide state
that is not thread-safe, and the thumbnail and image pools run several jobs at once; and
its ``start()`` uses the global pool, while the image cache and thumbnails need their
own pools with priorities and thread limits. What they need fits in this module.

How a result crosses threads: the pool thread emits a signal of one relay QObject that
lives on the GUI thread for the whole session, and the queued connection runs the
delivery there. One relay, never deleted, rather than one QObject per job: a worker that
outlives the widget that started it then emits on a live object (emitting on a deleted
one raises in the pool thread, which each site used to catch or not), and no QObject is
ever freed by the garbage collector on some other thread. Callbacks' return values are dropped (see ``_void`` in
``gui/actions.py``: PySide6 mishandles the reference count of a value returned to a void
signal).
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Generator
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, Signal

_YIELDED, _DONE, _FAILED, _DROPPED = range(4)

# Jobs whose last delivery has not yet run on the GUI thread (only touched there).
_live: set[Job] = set()
_log = logging.getLogger(__name__)


def error_message(e: Exception) -> str:
    """The default ``describe``: the exception's type and text, e.g. ``ValueError: bad size``."""
    return f"{type(e).__name__}: {e}"


def pending_jobs() -> int:
    """Jobs started and not yet delivered (tests check that none are left behind)."""
    return len(_live)


class _Relay(QObject):
    posted = Signal(object, int, object)  # the job, what kind of delivery, its value

    def __init__(self) -> None:
        super().__init__()
        # Queued even when emitted on the GUI thread: a callback never runs inside the caller.
        self.posted.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def _deliver(self, job: Job, kind: int, value: object) -> None:
        job._deliver(kind, value)


_relay: _Relay | None = None


def _the_relay() -> _Relay:
    """The relay, made on first use and moved to the application's thread, where deliveries run."""
    global _relay
    if _relay is None:
        _relay = _Relay()
        app = QCoreApplication.instance()
        if app is not None:
            _relay.moveToThread(app.thread())
    return _relay


class _Runnable(QRunnable):
    """What the pool runs; holds the job until ``run`` returns."""

    def __init__(self, job: Job) -> None:
        super().__init__()
        self._job = job

    def run(self) -> None:
        self._job._run()


class Job:
    """A handle on one background job: ``cancel()`` it, ask whether it is ``done``."""

    def __init__(
        self,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        on_done: Callable[[Any], object] | None,
        on_yield: Callable[[Any], object] | None,
        on_error: Callable[[str], object] | None,
        describe: Callable[[Exception], str],
        owner: QObject | None,
    ) -> None:
        self._fn, self._args = fn, args
        self._on_done, self._on_yield, self._on_error = on_done, on_yield, on_error
        self._describe, self._owner = describe, owner
        self._cancelled = threading.Event()
        self._post = _the_relay().posted.emit
        self.done = False  # the last delivery ran (or was dropped) on the GUI thread

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Deliver nothing more; skip the work if it has not started, stop a generator at its next yield."""
        self._cancelled.set()

    # ------------------------------------------------------------------ pool thread
    def _run(self) -> None:
        if self.cancelled:
            self._post(self, _DROPPED, None)
            return
        try:
            result = self._fn(*self._args)
            if inspect.isgenerator(result):
                result = self._stream(result)
        except Exception as e:  # noqa: BLE001 - any failure of the work becomes a message, not a dead thread
            _log.debug("background job %r failed", self._fn, exc_info=True)  # the message has no traceback
            self._post(self, _FAILED, self._describe(e))  # described here: the traceback stays in this thread
            return
        self._post(self, _DROPPED if self.cancelled else _DONE, result)

    def _stream(self, gen: Generator[Any, None, Any]) -> object:
        """Post each yielded value; the generator's return value, or None once cancelled."""
        try:
            while not self.cancelled:
                try:
                    item = next(gen)
                except StopIteration as stop:
                    return stop.value
                self._post(self, _YIELDED, item)
            return None
        finally:
            gen.close()

    # ------------------------------------------------------------------ GUI thread
    def _deliver(self, kind: int, value: object) -> None:
        if kind != _YIELDED:
            self.done = True
            _live.discard(self)
        if self.cancelled or kind == _DROPPED:
            return
        if self._owner is not None and not shiboken6.isValid(self._owner):
            return  # the widget that wanted it is gone
        callback = {_YIELDED: self._on_yield, _DONE: self._on_done, _FAILED: self._on_error}[kind]
        if callback is not None:
            callback(value)
        elif kind == _FAILED:
            _log.error("a background job failed: %s", value)  # nobody asked, but a bug must not vanish


def run_in_pool(
    fn: Callable[..., Any],
    *args: Any,
    on_done: Callable[[Any], object] | None = None,
    on_yield: Callable[[Any], object] | None = None,
    on_error: Callable[[str], object] | None = None,
    describe: Callable[[Exception], str] = error_message,
    owner: QObject | None = None,
    pool: QThreadPool | None = None,
    priority: int = 0,
) -> Job:
    """Run ``fn(*args)`` in ``pool`` (default: the global one); call from the GUI thread.

    ``on_done(result)``, ``on_yield(item)`` (when ``fn`` is a generator function) and
    ``on_error(describe(exception))`` run on the GUI thread, and not at all once the job
    is cancelled or ``owner`` is deleted. ``priority`` orders the queued jobs of one pool
    (higher first).
    """
    job = Job(fn, args, on_done, on_yield, on_error, describe, owner)
    _live.add(job)
    (pool or QThreadPool.globalInstance()).start(_Runnable(job), priority)
    return job

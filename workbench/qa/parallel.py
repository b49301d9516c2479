"""Running a per-record function over many records on all CPU cores.

Reading a header and parsing a label file is pure-Python work, so threads only
fight over the GIL; forked worker processes inherit the opened dataset for free and
send back only what the function returns (small, picklable results, never the
parsed records). Forking is done only when it is safe: on a platform that has it,
from the main thread of a process with no other thread and no Qt loaded (a GUI's
threads would not survive a fork, so from a GUI this quietly runs in-process).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from workbench.core.annotation import Dataset
from workbench.core.gc_pause import paused_gc

T = TypeVar("T")

# Below this many records the fork costs more than it saves.
MIN_RECORDS_TO_FORK = 2000
CHUNKS_PER_WORKER = 4

_forked: tuple[Dataset, Callable[[Dataset, int], Any]] | None = None


def map_records(
    ds: Dataset, fn: Callable[[Dataset, int], T], indices: list[int], workers: int | None = None
) -> list[T]:
    """``[fn(ds, i) for i in indices]``, in forked worker processes when that pays.

    ``fn`` must be a module-level function returning something picklable. Records
    loaded by a worker stay unloaded in this process.
    """
    n = worker_count(workers, len(indices))
    if n <= 1:
        with paused_gc():
            return [fn(ds, i) for i in indices]
    global _forked
    size = -(-len(indices) // (n * CHUNKS_PER_WORKER))
    chunks = [indices[k : k + size] for k in range(0, len(indices), size)]
    _forked = (ds, fn)
    try:
        with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context("fork")) as pool:
            results: list[T] = []
            for part in pool.map(_run_chunk, chunks):
                results.extend(part)
    except BrokenProcessPool:
        # A worker was killed (out of memory, a signal): slower, but finish the job here.
        results = [fn(ds, i) for i in indices]
    finally:
        _forked = None
    return results


def _run_chunk(indices: list[int]) -> list[Any]:
    assert _forked is not None
    ds, fn = _forked
    with paused_gc():
        return [fn(ds, i) for i in indices]


def available_cpus() -> int:
    """CPUs this process may run on (a container or ``taskset`` may allow fewer than the machine has)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(workers: int | None, n_records: int) -> int:
    """How many processes to use: ``workers`` if given, else one per CPU for a large dataset."""
    if workers is not None:
        n = workers
    elif n_records < MIN_RECORDS_TO_FORK:
        return 1
    else:
        n = available_cpus()
    if n <= 1 or not _fork_is_safe():
        return 1
    return min(n, n_records)


def _fork_is_safe() -> bool:
    """Only a single-threaded process without Qt forks: a fork copies locks held by other
    threads (Qt's pool threads are invisible to ``threading``) and the child can hang on them."""
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and threading.current_thread() is threading.main_thread()
        and threading.active_count() == 1
        and not any(name.startswith(("PySide6", "PyQt")) for name in sys.modules)
    )

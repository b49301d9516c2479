"""The training worker process: ``python -m workbench.train.worker CONFIG_JSON``.

The GUI never trains in its own process: a CUDA OOM, a segfault in a native library
or a stuck data loader must not take the labels and the window down with it. This
module is the other end of that pipe. It runs ``engine.train`` with a callback that
writes every event as one JSON line on stdout (flushed at once), and it treats a line
``stop`` on stdin (or stdin closing: the supervisor is gone) as the stop button.

Whatever goes wrong ends with exactly one ``end`` event: an exception becomes
``{"type": "end", "reason": "error", ...}`` and a non-zero exit code, so the
supervisor can always tell a clean end from a crash (no end line at all).

The run folder's iteration record (``iterations.jsonl``) is not written here: the engine
streams it for every run (``train.run_log``), so a worker killed mid-epoch leaves it too.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from workbench.train.events import EndEvent, EndReason, Event

STOP_LINE = "stop"

EXIT_OK = 0
EXIT_FAILED = 1  # error, nan or oom: the end event says which
EXIT_BAD_INPUT = 2  # the config or the dataset cannot be used


class EventWriter:
    """The engine callback: one JSON line per event on ``stream``; remembers the end."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.ended: EndEvent | None = None
        self._lock = threading.Lock()

    def on_event(self, event: Event) -> None:
        if isinstance(event, EndEvent):
            if self.ended is not None:
                return  # the engine reports an exception, then raises it: one end line only
            self.ended = event
        line = json.dumps(event.to_dict(), allow_nan=True, default=str)
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()


class StopRequest:
    """Set by a ``stop`` line on the stdin file descriptor, by stdin closing, or by a stop file appearing.

    The watcher reads the raw descriptor with ``os.read``, never ``sys.stdin``: a forked
    data-loader worker closes ``sys.stdin`` as it starts, and would deadlock on the
    buffer lock a thread blocked in ``sys.stdin.readline`` holds at the fork.
    """

    def __init__(self, stdin_fd: int | None, stop_file: Path | None = None) -> None:
        self._event = threading.Event()
        self._stop_file = stop_file
        if stdin_fd is not None:
            threading.Thread(target=self._watch, args=(stdin_fd,), daemon=True, name="stop-watch").start()

    def _watch(self, fd: int) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(fd, 1024)
            except OSError:
                chunk = b""
            if not chunk:
                break  # EOF: whoever started us is gone; end cleanly rather than train orphaned
            pending += chunk
            *lines, pending = pending.split(b"\n")
            if any(line.strip().lower() == STOP_LINE.encode() for line in lines):
                break
        self._event.set()

    def set(self) -> None:
        self._event.set()

    def __call__(self) -> bool:
        if self._stop_file is not None and self._stop_file.exists():
            self._event.set()
        return self._event.is_set()


def load_config(arg: str) -> Any:
    """The TrainConfig from a JSON file (or inline JSON text starting with ``{``)."""
    from workbench.train.config import TrainConfig

    text = arg if arg.lstrip().startswith("{") else Path(arg).read_text(encoding="utf-8")
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{arg}: expected a JSON object with the training options")
    return TrainConfig.from_dict(data)


def run_worker(config_arg: str, out: TextIO, stdin_fd: int | None, stop_file: Path | None = None) -> int:
    """Train as the config says, streaming events to ``out``; returns the exit code."""
    writer = EventWriter(out)
    try:
        config = load_config(config_arg)
    except (OSError, ValueError, TypeError) as e:
        writer.on_event(EndEvent(EndReason.ERROR, f"cannot read the training options {config_arg}: {e}"))
        return EXIT_BAD_INPUT
    from workbench.formats.base import DatasetError
    from workbench.train.engine import train

    should_stop = StopRequest(stdin_fd, stop_file)
    code = EXIT_OK
    try:
        result = train(config, [writer], should_stop)
        if not EndReason(result.reason).clean:
            code = EXIT_FAILED
    except DatasetError as e:
        writer.on_event(EndEvent(EndReason.ERROR, str(e)))
        code = EXIT_BAD_INPUT
    except Exception as e:  # noqa: BLE001 - the process boundary: everything becomes an end event
        writer.on_event(EndEvent(EndReason.ERROR, f"{type(e).__name__}: {e}"))
        code = EXIT_FAILED
    return code


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    stop_file = None
    if "--stop-file" in args:
        i = args.index("--stop-file")
        stop_file = Path(args[i + 1])
        del args[i : i + 2]
    if len(args) != 1:
        print("usage: python -m workbench.train.worker CONFIG_JSON [--stop-file PATH]", file=sys.stderr)
        return EXIT_BAD_INPUT
    # Events own stdout; anything a library prints goes to stderr instead of corrupting the stream.
    sys.stdout.flush()
    events = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)  # native libraries write to fd 1 too
    sys.stdout = sys.stderr
    try:
        return run_worker(args[0], events, os.dup(0), stop_file)
    finally:
        events.flush()


if __name__ == "__main__":
    sys.exit(main())

"""Supervises the training worker process from Qt and turns its JSON lines into signals.

Training runs in ``workbench _worker`` (``train/worker.py``; ``core.child_command``), never
in the GUI process: whatever happens there (CUDA OOM, NaN, a segfault, the OOM
killer), the window and the labels in it survive, and the end of the run always
reaches the user as an :class:`EndEvent` with a message: the worker's own one, or one
made up here from the exit code and the last lines of its stderr.

QProcess delivers output through the event loop, so reading never blocks the UI.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from workbench.core.child_command import WORKER_COMMAND, workbench_command
from workbench.train.config import TrainConfig
from workbench.train.events import EndEvent, EndReason, Event, event_from_dict

STDERR_TAIL = 25  # lines of the worker's stderr quoted when it dies without an end event
STOP_GRACE_MS = 20000  # how long Stop waits for the current iteration and checkpoint before killing


def _package_root() -> str:
    import workbench

    return str(Path(workbench.__file__).resolve().parents[1])


class TrainingSupervisor(QObject):
    """One worker process at a time: start, stop (graceful, then kill), and its events."""

    eventReceived = Signal(object)  # every Event, in order (the end one included)
    ended = Signal(object)  # the EndEvent, exactly once per start (made up if the worker had none)
    runningChanged = Signal(bool)
    outputLine = Signal(str)  # stderr and stray stdout text of the worker, for the log pane

    def __init__(self, parent: QObject | None = None, stop_grace_ms: int = STOP_GRACE_MS) -> None:
        super().__init__(parent)
        self.stop_grace_ms = stop_grace_ms
        self._proc: QProcess | None = None
        self._stdout = b""
        self._stderr = b""
        self._stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL)
        self._end: EndEvent | None = None
        self._config_file: Path | None = None
        self._stop_requested = False
        self._killed_after_stop = False
        self.last_run_dir: str = ""
        self.config: TrainConfig | None = None
        # The program and the arguments before the config file: `workbench _worker` (a
        # benchmark may point them at a script that replays events faster than any real run).
        self.program, self.worker_args = workbench_command(WORKER_COMMAND)

    # ------------------------------------------------------------------ control
    def is_running(self) -> bool:
        return self._proc is not None

    def start(self, config: TrainConfig) -> bool:
        """Start a worker for ``config``; False when one is already running."""
        if self._proc is not None:
            return False
        fd, name = tempfile.mkstemp(prefix="workbench-train-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(config.to_dict(), f)
        self._config_file = Path(name)
        self.config = config
        self._stdout, self._stderr, self._end = b"", b"", None
        self._stderr_tail.clear()
        self._stop_requested = self._killed_after_stop = False

        proc = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        root = _package_root()
        old = env.value("PYTHONPATH", "")
        env.insert("PYTHONPATH", root + (os.pathsep + old if old else ""))
        env.insert("PYTHONUNBUFFERED", "1")
        proc.setProcessEnvironment(env)
        proc.setProgram(self.program)
        proc.setArguments([*self.worker_args, name])
        proc.readyReadStandardOutput.connect(self._read_stdout)
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.finished.connect(self._on_finished)
        proc.errorOccurred.connect(self._on_error)
        self._proc = proc
        proc.start()
        self.runningChanged.emit(True)
        return True

    def resume(self, run_dir: str | Path, device: str = "auto", workers: int = 2) -> bool:
        """Continue a run from its ``last.pt``: same data and schedule, possibly another device."""
        return self.start(TrainConfig(resume=str(run_dir), device=device, workers=workers))

    def stop(self) -> None:
        """Ask the worker to stop after the current iteration; kill it if it has not within the grace time."""
        if self._proc is None or self._stop_requested:
            return
        self._stop_requested = True
        self._proc.write(b"stop\n")
        proc = self._proc
        QTimer.singleShot(self.stop_grace_ms, lambda: self._kill_if_still(proc))

    def kill(self) -> None:
        """End the worker at once (the run keeps its last completed epoch's checkpoint)."""
        if self._proc is not None:
            self._proc.kill()

    def wait_finished(self, msecs: int = 30000) -> bool:
        """Block until the worker exits (for shutdown); True when it did."""
        proc = self._proc
        return proc is None or proc.waitForFinished(msecs)

    def _kill_if_still(self, proc: QProcess) -> None:
        if self._proc is proc and proc.state() != QProcess.ProcessState.NotRunning:
            self._killed_after_stop = True
            proc.kill()

    # ------------------------------------------------------------------ output
    def _read_stdout(self) -> None:
        if self._proc is None:
            return
        self._stdout += bytes(self._proc.readAllStandardOutput().data())
        *lines, self._stdout = self._stdout.split(b"\n")
        for raw in lines:
            self._handle_line(raw.decode("utf-8", errors="replace").strip())

    def _handle_line(self, line: str) -> None:
        if not line:
            return
        try:
            data = json.loads(line)
            event = event_from_dict(data) if isinstance(data, dict) else None
        except (ValueError, TypeError):
            event = None
        if event is None:
            self.outputLine.emit(line)
            return
        self._deliver(event)

    def _deliver(self, event: Event) -> None:
        if isinstance(event, EndEvent):
            if self._end is not None:
                return
            self._end = event
            if event.run_dir:
                self.last_run_dir = event.run_dir
        self.eventReceived.emit(event)

    def _read_stderr(self) -> None:
        if self._proc is None:
            return
        self._stderr += bytes(self._proc.readAllStandardError().data())
        *lines, self._stderr = self._stderr.split(b"\n")
        for raw in lines:
            text = raw.decode("utf-8", errors="replace").rstrip()
            if text:
                self._stderr_tail.append(text)
                self.outputLine.emit(text)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._proc is not None:
            self._deliver(
                EndEvent(
                    EndReason.ERROR,
                    f"could not start the training process ({self.program}): {self._proc.errorString()}",
                )
            )
            self._finish()

    def _on_finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        self._read_stderr()
        for tail in (self._stdout, self._stderr):
            if tail.strip():
                self._handle_line(tail.decode("utf-8", errors="replace").strip())
        self._stdout = self._stderr = b""
        if self._end is None:
            self._deliver(self._crash_event(exit_code, status))
        self._finish()

    def _crash_event(self, exit_code: int, status: QProcess.ExitStatus) -> EndEvent:
        """The end event a worker that died without one would have sent."""
        run_dir = self.last_run_dir if self.config is not None and self.config.resume else ""
        kept = "the last completed epoch's checkpoint (last.pt) in the run folder is kept"
        if self._killed_after_stop:
            return EndEvent(
                EndReason.STOPPED,
                f"the training process did not stop within {self.stop_grace_ms / 1000:.0f} s and was killed; {kept}",
                run_dir,
            )
        if status == QProcess.ExitStatus.CrashExit:
            how = "was killed or crashed"
            if sys.platform != "win32" and exit_code in (9, 137):
                how = "was killed (by a kill, or by the system for lack of memory)"
        else:
            how = f"exited with code {exit_code} without reporting why"
        tail = "\n".join(self._stderr_tail)
        return EndEvent(
            EndReason.ERROR,
            f"the training process {how}; {kept}. Your labels are untouched."
            + (f"\nLast output:\n{tail}" if tail else ""),
            run_dir,
        )

    def _finish(self) -> None:
        assert self._end is not None
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.deleteLater()
        if self._config_file is not None:
            self._config_file.unlink(missing_ok=True)
            self._config_file = None
        self.runningChanged.emit(False)
        self.ended.emit(self._end)

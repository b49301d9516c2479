"""How this installation starts `workbench ...` as a child process.

The GUI starts training (and k-fold QC) in a child process so a crash there cannot take
the window and its labels down. Installed from source, the child is this interpreter
with ``-m workbench``; in the PyInstaller app ``sys.executable`` is the app itself, which
knows nothing of ``-m`` and takes the command line directly. One function decides, so
every child the GUI starts works in both.
"""

from __future__ import annotations

import sys

WORKER_COMMAND = "_worker"  # the hidden `workbench _worker CONFIG_JSON`: the training worker's entry


def workbench_command(*args: str) -> tuple[str, list[str]]:
    """(program, arguments) that run ``workbench ARGS...`` in a child process."""
    if getattr(sys, "frozen", False):
        return sys.executable, list(args)
    return sys.executable, ["-m", "workbench", *args]

"""Entry point of the `workbench` command.

Each command lives in its own module under ``workbench.cli`` with ``add_parser(sub)``
and ``run(args) -> int``. Modules import torch or Qt inside ``run`` only, so
``workbench validate`` starts fast on a machine where the GUI could not even load.
With no command, the GUI opens (the last dataset, or the start page).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from workbench import __version__
from workbench.core.child_command import WORKER_COMMAND

COMMANDS = ["open", "validate", "convert", "sample", "train", "eval", "predict", "qc", "export"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Label QA, fine-tuning and detection review for object and landmark detectors.",
    )
    parser.add_argument("--version", action="version", version=f"workbench {__version__}")
    parser.add_argument(
        "--screenshot", metavar="PATH", help="with no command: render the main window to a PNG and exit"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"workbench.cli.{name}_cmd")
        p = module.add_parser(sub)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == [WORKER_COMMAND]:
        # The GUI's training worker (not listed in --help): the same entry in the installed
        # program and the frozen app, whose executable cannot run `python -m`.
        from workbench.train.worker import main as worker_main

        return worker_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "_run", None)
    if run is None:
        # No command: the GUI, on the last dataset or the start page.
        module = importlib.import_module("workbench.cli.open_cmd")
        args.data = None
        for name, default in module.DEFAULTS.items():
            if not hasattr(args, name):
                setattr(args, name, default)
        run = module.run
    from workbench.formats.base import DatasetError

    try:
        return int(run(args) or 0)
    except DatasetError as e:
        print(f"workbench: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("workbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

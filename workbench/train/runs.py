"""The run folder: ``last.pt``, ``best.pt``, ``results.csv`` (one row per epoch), ``config.yaml``
(and ``iterations.jsonl``, streamed by ``run_log``).

Every file is written atomically so the GUI can read a run while it trains, and a crash
never leaves half a CSV.
"""

from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path
from typing import Any

import yaml

from workbench.core.atomic import atomic_write_text
from workbench.core.safe_yaml import safe_load_file
from workbench.formats.base import DatasetError

RESULTS = "results.csv"
CONFIG = "config.yaml"
LAST = "last.pt"
BEST = "best.pt"


class NoCheckpointError(DatasetError):
    """A run folder with neither checkpoint (no epoch completed yet, or not a run folder at all).

    A ``DatasetError``: the CLI prints its message as one line and exits 2, like any unusable input.
    """


def run_checkpoint(run_dir: str | Path) -> Path:
    """The checkpoint a run folder stands for when one model is asked of it: ``best.pt`` (its best
    validation fitness), else ``last.pt`` (a run that never validated better, or stopped before
    the copy). The one place that choice is made, for predict, qc, eval and the GUI's views.
    """
    folder = Path(run_dir)
    for name in (BEST, LAST):
        if (folder / name).is_file():
            return folder / name
    raise NoCheckpointError(
        f"{folder}: this run folder holds no {BEST} or {LAST} (a run writes them after each completed "
        "epoch); train first (workbench train) or pass a checkpoint file"
    )


def new_run_dir(out: str | Path, name: str = "train") -> Path:
    """``out/name``, or ``out/name2``, ``out/name3``... so no run overwrites another."""
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    candidate, n = root / name, 1
    while candidate.exists():
        n += 1
        candidate = root / f"{name}{n}"
    candidate.mkdir()
    return candidate


def write_config(run_dir: Path, config: dict[str, Any]) -> Path:
    path = Path(run_dir) / CONFIG
    atomic_write_text(path, yaml.safe_dump(config, sort_keys=False))
    return path


def read_config(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / CONFIG
    try:
        data = safe_load_file(path)
    except yaml.YAMLError as e:  # a ValueError for callers, like the size and alias limits
        raise ValueError(f"{path}: not valid YAML ({getattr(e, 'problem', None) or e})") from None
    return data if isinstance(data, dict) else {}


def write_results(run_dir: Path, rows: list[dict[str, Any]]) -> Path:
    """Rewrite ``results.csv`` with every row so far (columns: union of keys, first-seen order)."""
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(v) for k, v in row.items()})
    path = Path(run_dir) / RESULTS
    atomic_write_text(path, buf.getvalue())
    return path


def _fmt(v: Any) -> Any:
    return f"{v:.6g}" if isinstance(v, float) else v


def read_results(run_dir: str | Path) -> list[dict[str, Any]]:
    """The rows of ``results.csv`` with numbers as int/float; empty when there is none yet."""
    path = Path(run_dir) / RESULTS
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as f:
        return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _number(v: str | None) -> Any:
    if v is None or v == "":
        return None
    try:
        return int(v)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and any((path / n).is_file() for n in (RESULTS, LAST, CONFIG))


def list_runs(runs_root: str | Path, *more: str | Path) -> list[Path]:
    """Run folders directly under ``runs_root`` (and each of ``more``), newest first."""
    runs = []
    for folder in dict.fromkeys(Path(r) for r in (runs_root, *more)):
        if folder.is_dir():
            runs.extend(p for p in folder.iterdir() if is_run_dir(p))
    return sorted(runs, key=lambda p: p.stat().st_mtime, reverse=True)


def dataset_folder(data: str | Path) -> Path:
    """The folder a dataset lives in: the folder itself, a config's folder, or the folder above
    ``annotations/`` for a COCO json kept there."""
    p = Path(data)
    folder = p if p.is_dir() else p.parent
    return folder.parent if folder.name.lower() == "annotations" else folder


def default_runs_folder(data: str | Path) -> Path:
    """Where the GUI's runs go by default: ``<dataset>-runs`` beside the dataset folder.

    Never inside it: a dataset that is copied, zipped, versioned or converted stays exactly
    the user's files (checkpoints are tens of MB each). Beside a dataset in a folder the user
    cannot write (a read-only share), the user's data folder takes them:
    ``$XDG_DATA_HOME/workbench/runs/<dataset>``.
    """
    folder = dataset_folder(data).resolve()
    parent = folder.parent
    if parent != folder and os.access(parent, os.W_OK):
        return parent / f"{folder.name}-runs"
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "workbench" / "runs" / folder.name


def legacy_runs_folder(data: str | Path) -> Path:
    """``runs/`` inside the dataset folder, where earlier versions put runs (still listed)."""
    return dataset_folder(data) / "runs"


def checkpoint_metric(path: str | Path) -> tuple[str, float] | None:
    """The val mAP50 of the epoch a run's ``best.pt`` / ``last.pt`` holds, from ``results.csv``.

    ``best.pt`` is the epoch of best fitness (keypoint AP for keypoint runs, else mAP50-95, as
    the engine chooses it: the first epoch that reached it), ``last.pt`` the last validated
    epoch. The CSV beside it is a few lines; the checkpoint itself (the weights) is never
    read. None outside a run folder or before the first validation.
    """
    from workbench.train.events import VAL_PREFIX
    from workbench.train.metrics import KPT_AP, MAP50, MAP50_95

    p = Path(path)
    try:
        rows = [r for r in read_results(p.parent) if isinstance(r.get(VAL_PREFIX + MAP50), (int, float))]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not rows:
        return None
    if p.name == BEST:
        fit = VAL_PREFIX + (KPT_AP if any(VAL_PREFIX + KPT_AP in r for r in rows) else MAP50_95)
        row = max(rows, key=lambda r: r.get(fit) if isinstance(r.get(fit), (int, float)) else -1.0)
    else:
        row = rows[-1]
    return MAP50, float(row[VAL_PREFIX + MAP50])


def checkpoint_label(path: str | Path) -> tuple[str, str]:
    """(text, tooltip) for a checkpoint in a list: ``runs/train2 · best.pt · 2026-12-03 14:02 · mAP50 0.80``.

    Two runs both write ``best.pt``; the run folder, the file's date and its validation mAP
    tell them apart, and the tooltip holds the full path.
    """
    p = Path(path)
    parts = [f"{p.parent.parent.name}/{p.parent.name}" if p.parent.parent.name else p.parent.name or ".", p.name]
    try:
        parts.append(time.strftime("%Y-%m-%d %H:%M", time.localtime(p.stat().st_mtime)))
    except OSError:
        pass
    metric = checkpoint_metric(p)
    if metric is not None:
        parts.append(f"{metric[0]} {metric[1]:.2f}")
    return " · ".join(parts), str(p.resolve() if p.exists() else p)

"""The training loop: one entry point, ``train(config, callbacks, should_stop)``.

Shaped like torchvision's references/detection/engine.py: ``train_one_epoch`` is one
training step you can read top to bottom; evaluation is delegated to pycocotools. Around
it: run folder, checkpoints, resume, and one event stream (``events``) for every consumer.
What the run folder records from that stream (``iterations.jsonl``) is a default callback
(``run_log.run_folder_callbacks``), installed for every run whoever starts it.
"""

from __future__ import annotations

import math
import random
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from workbench.core.annotation import Dataset, ImageRecord
from workbench.core.input_range import InputRange, InputRangeError
from workbench.core.input_range import resolve as resolve_input_range
from workbench.core.keypoints import KeypointSchema
from workbench.formats.base import DatasetError
from workbench.train import ddp
from workbench.train.checkpoint import CheckpointError, make_checkpoint, read_checkpoint, save_checkpoint
from workbench.train.config import TrainConfig
from workbench.train.data import DetectionDataset, ImageReadError, collate
from workbench.train.device import DeviceError, resolve_device
from workbench.train.evaluate import evaluate_model, fitness
from workbench.train.events import (
    TOTAL_LOSS,
    TRAIN_PREFIX,
    VAL_PREFIX,
    EndEvent,
    EndReason,
    EpochEvent,
    Event,
    IterationEvent,
    LogEvent,
    emit,
)
from workbench.train.models import ModelError, ModelSpec, backbone_trunk, build_model, default_model, get_spec
from workbench.train.run_log import run_folder_callbacks
from workbench.train.runs import BEST, LAST, new_run_dir, read_results, write_config, write_results
from workbench.train.schedule import make_optimizer, make_scheduler
from workbench.train.weights import (
    WeightsError,
    load_matching,
    model_from_checkpoint,
    pretrained_state,
    state_from_file,
)


@dataclass
class RunResult:
    """How a run ended, why (``EndReason``) and what to tell the user."""

    run_dir: Path | None
    reason: EndReason
    message: str = ""
    best_fitness: float | None = None
    epochs_done: int = 0
    metrics: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.reason = EndReason(self.reason)


class StopTraining(Exception):
    """Leaves the loop early with a reason and a message for the user."""

    def __init__(self, reason: EndReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class TrainSetupError(Exception):
    """The run cannot start: no training images, classes that do not match a resumed run...

    Its message is one line that names the dataset or the run and what to do: the CLI
    prints it as it is (exit 2), the GUI's train panel shows it.
    """


class NoLabelsError(TrainSetupError):
    """The training images hold no instance the model could learn: training would only teach "nothing here"."""


@dataclass
class Run:
    """Everything ``_fit`` needs, built once by ``_setup``."""

    config: TrainConfig
    run_dir: Path
    device: torch.device
    dist: ddp.DistInfo
    spec: ModelSpec
    classes: list[str]
    schema: KeypointSchema | None
    model: nn.Module  # unwrapped
    frozen_bn: bool
    train_loader: DataLoader
    val_records: list
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    use_amp: bool
    start_epoch: int = 0
    best_fitness: float | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    # The training images, relative to the dataset root: stored in every checkpoint so label
    # QC can tell an in-sample judgement (the model learned this label) from an honest one.
    trained_on: list[str] = field(default_factory=list)
    # How raw pixels become the model's input (core.input_range); stored in every checkpoint.
    input_range: InputRange = field(default_factory=InputRange)


def _input_range(config: TrainConfig, resume_ckpt: dict[str, Any] | None, train_records: list) -> InputRange:
    """The run's input mapping: the resumed checkpoint's, else resolved once from the setting
    over the training images (``auto`` computes a fixed range here). ``config.input_range``
    then holds the resolved choice, so config.yaml says what the model saw."""
    if resume_ckpt is not None:
        return InputRange.from_dict(resume_ckpt.get("input_range"))
    try:
        chosen = resolve_input_range(config.input_range, [r.path for r in train_records])
    except InputRangeError as e:
        raise TrainSetupError(f"{config.data}: {e}") from None
    config.input_range = [chosen.lo, chosen.hi] if chosen.mode == "fixed" else chosen.mode
    return chosen


# Bad input, not bugs: they end the run with their message (which names the file) instead
# of a traceback.
_SETUP_ERRORS: tuple[type[Exception], ...] = (
    TrainSetupError,
    ModelError,
    WeightsError,
    DeviceError,
    CheckpointError,
    DatasetError,
    ImageReadError,
    ValueError,
)


def train(
    config: TrainConfig,
    callbacks: Iterable[Any] | None = None,
    should_stop: Callable[[], bool] | None = None,
    *,
    default_callbacks: bool = True,
) -> RunResult:
    """Train (or resume) as ``config`` says; events go to ``callbacks`` (see ``events.emit``).

    ``should_stop`` is polled every iteration: a GUI's stop button ends the run cleanly,
    keeping the checkpoint of the last completed epoch. Bad input (dataset, weights, device,
    an undecodable image) ends with reason ``error`` and a message; anything else is a bug:
    an ``end`` event with the traceback, then the exception.

    Once the run folder is known, ``run_log.run_folder_callbacks`` receive the events first
    (the iteration record, streamed to ``iterations.jsonl``); ``default_callbacks=False``
    leaves them out, for a caller that keeps its own record.
    """
    cbs = list(callbacks or [])
    run: Run | None = None
    dinfo = ddp.DistInfo()
    defaults: list[Any] = []
    try:
        dinfo = ddp.setup(resolve_device(config.device).type)
        run = _setup(config, dinfo, cbs)
        if default_callbacks and dinfo.is_main:
            defaults = run_folder_callbacks(run.run_dir, run.start_epoch)
            cbs[:0] = defaults
        result = _fit(run, cbs, should_stop)
    except _SETUP_ERRORS as e:
        result = RunResult(run.run_dir if run else None, EndReason.ERROR, str(e))
    except Exception as e:
        _emit_main(
            dinfo,
            cbs,
            EndEvent(
                EndReason.ERROR,
                f"{e.__class__.__name__}: {e}\n{traceback.format_exc()}",
                str(run.run_dir) if run else "",
            ),
        )
        raise
    finally:
        for cb in defaults:
            close = getattr(cb, "close", None)
            if close is not None:
                close()
        ddp.cleanup(dinfo)
    _emit_main(dinfo, cbs, EndEvent(result.reason, result.message, str(result.run_dir or ""), result.best_fitness))
    return result


def _emit_main(dinfo: ddp.DistInfo, cbs: list[Any], event: Event) -> None:
    if dinfo.is_main:
        emit(cbs, event)


# ----------------------------------------------------------------------------- setup


def _resume_checkpoint(resume: str) -> Path:
    p = Path(resume)
    return p / LAST if p.is_dir() else p


def _seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _count_outside(records: list[ImageRecord], nc: int) -> int:
    """Labels the model cannot learn (class id past its head): skipped, but said out loud."""
    unique = {id(rec): rec for rec in records}.values()  # val may be the train records themselves
    return sum(1 for rec in unique for inst in rec.ensure_loaded().instances if not 0 <= inst.class_id < nc)


def _select(ds: Dataset, images: list[str], data: str) -> list[ImageRecord]:
    """The records of ``images`` (a config's explicit image list), in that order; empty when none is given.

    Every listed image must be in the dataset: a list from another dataset, or a stale one after
    images were removed, must not silently train on less than it says.
    """
    if not images:
        return []
    by_path = {r.path.resolve(): r for r in ds.records}
    picked, missing = [], []
    for name in images:
        rec = by_path.get((ds.root / name).resolve())  # an absolute name replaces the root
        if rec is None:
            missing.append(name)
        else:
            picked.append(rec)
    if missing:
        raise TrainSetupError(
            f"{data}: {len(missing)} of the {len(images)} listed images are not in this dataset (e.g. {missing[0]})"
        )
    return picked


def absolute_paths(config: TrainConfig) -> TrainConfig:
    """``data`` and a ``weights`` file as absolute paths: what config.yaml and the checkpoints store,
    so that a run resumes (and says what it learned from) from any working directory."""
    if config.data:
        config.data = str(Path(config.data).expanduser().absolute())
    weights = (config.weights or "").strip()
    if weights and weights.lower() not in ("default", "none"):
        config.weights = str(Path(weights).expanduser().absolute())
    return config


def _same_dataset(given: str, stored: str) -> bool:
    """The same dataset: one resolved path, or a folder and the config file inside it."""
    a, b = Path(given).expanduser().resolve(), Path(stored).expanduser().resolve()
    return a == b or (a.is_dir() and b.parent == a) or (b.is_dir() and a.parent == b)


def _resumed_config(config: TrainConfig, checkpoint: dict[str, Any]) -> TrainConfig:
    """The run's own config, with only where it runs (device, workers) taken from ``config``.

    A dataset given along with the resume must be the run's: continuing a run on other data
    would mix two trainings under one name, so a different one is refused, naming both.
    """
    last = _resume_checkpoint(config.resume)
    missing = [k for k in ("config", "optimizer", "scheduler") if not checkpoint.get(k)]
    missing += [] if isinstance(checkpoint.get("epoch"), int) else ["epoch"]
    if missing or not isinstance(checkpoint["config"], dict):
        raise TrainSetupError(
            f"cannot resume from {last}: it holds no {', '.join(missing) or 'config'} (a "
            "checkpoint for predicting only?); pass the run folder whose last.pt `workbench "
            "train` wrote, or use the file as --weights for a new run"
        )
    resumed = TrainConfig.from_dict(checkpoint["config"])
    stored = resumed.data
    if config.data and stored and not _same_dataset(config.data, stored):
        if Path(stored).expanduser().exists():
            raise TrainSetupError(
                f"cannot resume {last.parent} with {config.data}: that run trains on {stored}; "
                f"pass {stored} as DATA, or start a new run (without --resume) on {config.data}"
            )
        # The run's dataset is not where it was (moved, or an older run that stored it relative to
        # another working directory): the given one takes its place; the class check below still
        # refuses a dataset of other classes.
        resumed.data = config.data
    elif not stored:
        resumed.data = config.data
    resumed.resume, resumed.device, resumed.workers = config.resume, config.device, config.workers
    return absolute_paths(resumed)


def _learnable_instances(records: list[ImageRecord], nc: int) -> int:
    return sum(1 for rec in records for inst in rec.ensure_loaded().instances if 0 <= inst.class_id < nc)


def _setup(config: TrainConfig, dinfo: ddp.DistInfo, cbs: list[Any]) -> Run:
    from workbench.formats.registry import open_dataset

    resume_ckpt = None
    if config.resume:
        resume_ckpt = read_checkpoint(_resume_checkpoint(config.resume))
        config = _resumed_config(config, resume_ckpt)
    config.check()
    device = ddp.device_for(dinfo, resolve_device(config.device))
    _seed(config.seed + dinfo.rank)

    ds = open_dataset(config.data)
    classes = list(ds.classes)
    model_name = config.model or default_model(ds.keypoints is not None)
    spec = get_spec(model_name)
    if spec.keypoints and ds.keypoints is None:
        raise ModelError(
            f"{model_name} predicts keypoints but {config.data} has none (no kpt_shape); "
            f"choose a box model such as {default_model(False)}"
        )
    schema = ds.keypoints if spec.keypoints else None
    if (
        schema is not None
        and config.augment
        and schema.flip_idx
        and sorted(schema.flip_idx) != list(range(schema.num_keypoints))
    ):
        raise TrainSetupError(
            f"{config.data}: flip_idx {list(schema.flip_idx)} is not a permutation of "
            f"0..{schema.num_keypoints - 1} (one entry per keypoint: the index of its mirror "
            "image); fix flip_idx in the dataset's config, or train with --no-augment (no flips)"
        )
    train_records = _select(ds, config.train_images, config.data) or ds.split(config.train_split)
    if not train_records:
        raise TrainSetupError(f"{config.data}: no images in the '{config.train_split}' split")
    if not _learnable_instances(train_records, len(classes)):
        raise NoLabelsError(
            f"{config.data}: no labeled instances in the {len(train_records)} training image(s), "
            "nothing to learn; label some objects first (workbench open) or check that the "
            "label files sit where the format expects them"
        )
    val_records = _select(ds, config.val_images, config.data) or ds.split(config.val_split)
    if not val_records:
        val_records = train_records
        _emit_main(dinfo, cbs, LogEvent(f"no '{config.val_split}' split: validating on the training images", "warning"))

    input_range = _input_range(config, resume_ckpt, train_records)
    if resume_ckpt is not None:
        run_dir = _resume_checkpoint(config.resume).parent
        if list(resume_ckpt["classes"]) != classes:
            raise TrainSetupError(
                f"cannot resume {run_dir}: it was trained on classes {resume_ckpt['classes']} "
                f"but {config.data} has {classes}"
            )
        model = model_from_checkpoint(resume_ckpt)
        frozen_bn = bool(resume_ckpt.get("frozen_bn", False))
    else:
        model, frozen_bn = _initial_model(config, spec, len(classes), schema, dinfo, cbs)
        run_dir = new_run_dir(config.out, config.name) if dinfo.is_main else Path(config.out) / config.name
        config.model = model_name
        config = absolute_paths(config)
    model.to(device)

    dataset = DetectionDataset(
        train_records,
        schema,
        spec.label_offset,
        True,
        config.augment,
        num_classes=len(classes),
        input_range=input_range,
    )
    outside = _count_outside(train_records + val_records, len(classes))
    if outside:
        _emit_main(
            dinfo,
            cbs,
            LogEvent(
                f"{outside} label(s) have a class id outside 0..{len(classes) - 1} and are left out of training "
                "and evaluation: `workbench validate` lists them with file and line",
                "warning",
            ),
        )
    sampler = (
        DistributedSampler(dataset, seed=config.seed)
        if dinfo.enabled
        else RandomSampler(dataset, generator=torch.Generator().manual_seed(config.seed))
    )
    loader = DataLoader(
        dataset,
        batch_size=config.batch,
        sampler=sampler,
        num_workers=config.workers,
        collate_fn=collate,
        pin_memory=device.type == "cuda",
        persistent_workers=config.workers > 0,
    )

    use_amp = config.amp and device.type == "cuda"
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, config.optimizer, config.base_lr, config.momentum, config.weight_decay)
    scheduler = make_scheduler(
        optimizer,
        epochs=config.epochs,
        steps_per_epoch=_steps_per_epoch(config, loader),
        warmup_epochs=config.warmup_epochs,
        kind=config.scheduler,
        final=config.lr_final,
        step_epochs=config.step_epochs,
    )
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
    run = Run(
        config,
        run_dir,
        device,
        dinfo,
        spec,
        classes,
        schema,
        model,
        frozen_bn,
        loader,
        val_records,
        optimizer,
        scheduler,
        scaler,
        use_amp,
        trained_on=[ds.rel(r.path) or str(r.path) for r in train_records],
        input_range=input_range,
    )
    if resume_ckpt is not None:
        optimizer.load_state_dict(resume_ckpt["optimizer"])
        scheduler.load_state_dict(resume_ckpt["scheduler"])
        if resume_ckpt.get("scaler"):
            scaler.load_state_dict(resume_ckpt["scaler"])
        run.start_epoch = int(resume_ckpt["epoch"]) + 1
        run.best_fitness = resume_ckpt.get("best_fitness")
        run.rows = [r for r in read_results(run_dir) if int(r.get("epoch", 0)) <= run.start_epoch]
        _emit_main(
            dinfo,
            cbs,
            LogEvent(
                f"resuming {run_dir} at epoch {run.start_epoch + 1}/{config.epochs}"
                if run.start_epoch < config.epochs
                else f"{run_dir} has already finished its {config.epochs} epochs; nothing to resume"
            ),
        )
    elif dinfo.is_main:
        write_config(run_dir, config.to_dict())
    _emit_main(
        dinfo,
        cbs,
        LogEvent(
            f"{model_name} on {device}: {len(train_records)} training / {len(val_records)} validation images, "
            f"{len(classes)} classes"
            + (f", {schema.num_keypoints} keypoints" if schema else "")
            + (f", {dinfo.world_size} processes" if dinfo.enabled else "")
            + f"; run folder {run_dir}"
        ),
    )
    return run


def _initial_model(
    config: TrainConfig, spec: ModelSpec, nc: int, schema: KeypointSchema | None, dinfo: ddp.DistInfo, cbs: list[Any]
) -> tuple[nn.Module, bool]:
    """The model with its starting weights, and whether its BatchNorm is frozen."""
    k = schema.num_keypoints if schema else None
    weights = (config.weights or "default").strip()
    if weights.lower() == "none":
        frozen = bool(config.frozen_bn)
        return build_model(spec.name, nc, k, config.imgsz, frozen_bn=frozen, options=config.model_options), frozen
    if weights.lower() == "default":
        state, source = pretrained_state(spec.weights), f"torchvision {spec.weights}.DEFAULT"
    else:
        state, _ = state_from_file(weights)
        source = weights
    frozen = spec.frozen_bn if config.frozen_bn is None else config.frozen_bn
    model = build_model(spec.name, nc, k, config.imgsz, frozen_bn=frozen, options=config.model_options)
    report = load_matching(model, state, source)
    if not report.loaded:
        raise WeightsError(f"{source}: no tensor fits {spec.name} (is it a checkpoint of another architecture?)")
    lines = report.summary_lines()
    _emit_main(dinfo, cbs, LogEvent(lines[0], details=lines[1:] + [f"loaded: {p}" for p in _short(report.loaded)]))
    return model, frozen


def _short(keys: list[str]) -> list[str]:
    from workbench.train.weights import group_prefixes

    return group_prefixes(keys, depth=2)


def _iterations_per_epoch(config: TrainConfig, loader: DataLoader) -> int:
    n = len(loader)
    return min(n, config.max_iterations_per_epoch) if config.max_iterations_per_epoch > 0 else n


def _steps_per_epoch(config: TrainConfig, loader: DataLoader) -> int:
    return math.ceil(_iterations_per_epoch(config, loader) / max(1, config.accumulate))


# ----------------------------------------------------------------------------- the loop


def _fit(run: Run, cbs: list[Any], should_stop: Callable[[], bool] | None) -> RunResult:
    cfg = run.config
    wrapped: nn.Module | None = None
    frozen_state: bool | None = None
    last_metrics: dict[str, float] = {}
    epoch = run.start_epoch - 1
    try:
        for epoch in range(run.start_epoch, cfg.epochs):
            freeze = epoch < cfg.freeze_backbone_epochs
            if freeze != frozen_state:
                for p in backbone_trunk(run.model).parameters():
                    p.requires_grad_(not freeze)
                # DDP records which parameters train when it wraps the model.
                wrapped, frozen_state = ddp.wrap(run.model, run.dist, run.device), freeze
            if isinstance(run.train_loader.sampler, DistributedSampler):
                run.train_loader.sampler.set_epoch(epoch)
            losses = train_one_epoch(wrapped, run, epoch, cbs, should_stop)
            last_metrics = _end_of_epoch(run, epoch, losses, cbs)
            if should_stop is not None and ddp.any_rank(run.dist, [should_stop()], run.device)[0]:
                if epoch + 1 < cfg.epochs:
                    raise StopTraining(
                        EndReason.STOPPED,
                        f"stopped after epoch {epoch + 1}/{cfg.epochs}; "
                        f"`--resume {run.run_dir}` continues from epoch {epoch + 2}",
                    )
    except StopTraining as e:
        return RunResult(run.run_dir, e.reason, e.message, run.best_fitness, len(run.rows), last_metrics)
    except torch.OutOfMemoryError:
        if run.device.type == "cuda":
            torch.cuda.empty_cache()
        smaller = max(1, cfg.batch // 2)
        return RunResult(
            run.run_dir,
            EndReason.OOM,
            f"out of GPU memory at epoch {epoch + 1} with batch {cfg.batch} at imgsz {cfg.imgsz}: "
            f"try --batch {smaller}"
            + (" or a smaller --imgsz" if cfg.batch == 1 else "")
            + f" (or --accumulate {max(1, cfg.accumulate) * 2} to keep the effective batch)",
            run.best_fitness,
            len(run.rows),
            last_metrics,
        )
    return RunResult(
        run.run_dir,
        EndReason.FINISHED,
        f"finished {cfg.epochs} epochs; best fitness {(run.best_fitness or 0.0):.4f}; weights in {run.run_dir / BEST}",
        run.best_fitness,
        len(run.rows),
        last_metrics,
    )


def train_one_epoch(
    model: nn.Module, run: Run, epoch: int, cbs: list[Any], should_stop: Callable[[], bool] | None
) -> dict[str, float]:
    """One pass over the training data; returns the mean of each loss component."""
    cfg, device, optimizer = run.config, run.device, run.optimizer
    n_iter = _iterations_per_epoch(cfg, run.train_loader)
    accumulate = max(1, cfg.accumulate)
    sums: dict[str, float] = {}
    model.train()
    optimizer.zero_grad(set_to_none=True)
    tick = time.perf_counter()
    for i, (images, targets) in enumerate(run.train_loader):
        if i >= n_iter:
            break
        images = [im.to(device, non_blocking=True) for im in images]
        targets = [
            {k: v.to(device, non_blocking=True) for k, v in t.items() if isinstance(v, torch.Tensor)} for t in targets
        ]
        lr = optimizer.param_groups[0]["lr"]

        with torch.autocast(device.type, enabled=run.use_amp):
            loss_dict = model(images, targets)
            loss = sum(loss_dict.values())

        loss_value = float(loss.detach())
        stop = should_stop() if (should_stop is not None and run.dist.is_main) else False
        bad, stop = ddp.any_rank(run.dist, [not math.isfinite(loss_value), stop], device)
        if bad:
            raise StopTraining(EndReason.NAN, _nan_message(run, epoch, i, loss_dict))
        if stop:
            raise StopTraining(EndReason.STOPPED, _stopped_message(run, epoch))

        run.scaler.scale(loss / accumulate).backward()
        if (i + 1) % accumulate == 0 or i + 1 == n_iter:
            if cfg.clip_grad > 0:
                run.scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
            run.scaler.step(optimizer)
            run.scaler.update()
            optimizer.zero_grad(set_to_none=True)
            run.scheduler.step()

        losses = {k: float(v.detach()) for k, v in loss_dict.items()}
        losses[TOTAL_LOSS] = loss_value
        # Under DDP each rank saw other images: log their mean, as torchvision's reduce_dict does.
        losses = ddp.mean_over_ranks(run.dist, losses, device)
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + v
        now = time.perf_counter()
        ips = len(images) * run.dist.world_size / max(now - tick, 1e-9)
        tick = now
        _emit_main(run.dist, cbs, IterationEvent(epoch, i, n_iter, losses, lr, ips))
    return {k: v / max(1, n_iter) for k, v in sums.items()}


def _nan_message(run: Run, epoch: int, i: int, loss_dict: dict[str, torch.Tensor]) -> str:
    parts = ", ".join(f"{k}={float(v.detach()):.4g}" for k, v in loss_dict.items())
    last = run.run_dir / LAST
    kept = (
        f"the last good checkpoint is {last} (epoch {len(run.rows)})"
        if last.is_file()
        else "no checkpoint had been written yet"
    )
    return (
        f"loss is not finite at epoch {epoch + 1}, iteration {i + 1} ({parts}); training stopped and "
        f"{kept}. Try a lower --lr (now {run.config.base_lr:g}), more warmup, or check the labels."
    )


def _stopped_message(run: Run, epoch: int) -> str:
    done = len(run.rows)
    if done:
        return (
            f"stopped during epoch {epoch + 1}; {run.run_dir / LAST} holds epoch {done}, "
            f"`--resume {run.run_dir}` continues from epoch {done + 1}"
        )
    return f"stopped during epoch {epoch + 1}, before any epoch completed; nothing was saved"


def _end_of_epoch(run: Run, epoch: int, losses: dict[str, float], cbs: list[Any]) -> dict[str, float]:
    """Validate, write last.pt / best.pt / results.csv, emit the epoch event (rank 0 only)."""
    cfg = run.config
    metrics: dict[str, float] = {}
    if run.dist.is_main:
        if (epoch + 1) % max(1, cfg.val_every) == 0 or epoch + 1 == cfg.epochs:
            result = evaluate_model(
                run.model,
                run.spec,
                run.val_records,
                run.classes,
                run.schema,
                run.device,
                cfg.batch,
                0,
                run.input_range,
            )
            metrics = result["metrics"]
        fit = fitness(metrics, run.schema is not None) if metrics else None
        is_best = fit is not None and (run.best_fitness is None or fit > run.best_fitness)
        if is_best:
            run.best_fitness = fit
        row: dict[str, Any] = {"epoch": epoch + 1}
        row.update({TRAIN_PREFIX + k: v for k, v in losses.items()})
        row["lr"] = run.optimizer.param_groups[0]["lr"]
        row.update({VAL_PREFIX + k: v for k, v in metrics.items()})
        run.rows.append(row)
        ckpt = make_checkpoint(
            model_state=run.model.state_dict(),
            model_name=run.spec.name,
            classes=run.classes,
            keypoints=run.schema.to_dict() if run.schema else None,
            imgsz=cfg.imgsz,
            frozen_bn=run.frozen_bn,
            model_options=cfg.model_options,
            epoch=epoch,
            best_fitness=run.best_fitness,
            config=cfg.to_dict(),
            metrics=metrics,
            trained_on=run.trained_on,
            input_range=run.input_range.to_dict(),
            optimizer=run.optimizer.state_dict(),
            scheduler=run.scheduler.state_dict(),
            scaler=run.scaler.state_dict() if run.use_amp else None,
        )
        best = [run.run_dir / BEST] if is_best or not (run.run_dir / BEST).exists() else []
        save_checkpoint(run.run_dir / LAST, ckpt, *best)
        write_results(run.run_dir, run.rows)
        emit(
            cbs,
            EpochEvent(
                epoch,
                cfg.epochs,
                {**{TRAIN_PREFIX + k: v for k, v in losses.items()}, **metrics},
                run.best_fitness,
                is_best,
            ),
        )
    ddp.barrier(run.dist)
    return metrics

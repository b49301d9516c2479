"""Multi-GPU with torchrun: DistributedDataParallel, a DistributedSampler, rank 0 writes.

``torchrun --nproc_per_node=N -m workbench train ...`` sets RANK/WORLD_SIZE/LOCAL_RANK; the
engine calls ``setup()`` and gets back which process it is. NCCL on GPUs, gloo on CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    initialized_here: bool = False  # we created the process group, so we destroy it

    @property
    def enabled(self) -> bool:
        return self.world_size > 1 or dist.is_initialized()

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def setup(device_type: str) -> DistInfo:
    """Join the process group torchrun describes (or the one already initialized)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    if not (dist.is_available() and launched_by_torchrun()):
        return DistInfo()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend)
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, initialized_here=True)


def device_for(info: DistInfo, device: torch.device) -> torch.device:
    """Under torchrun each process takes the GPU of its local rank."""
    if info.enabled and device.type == "cuda":
        return torch.device("cuda", info.local_rank)
    return device


def wrap(model: torch.nn.Module, info: DistInfo, device: torch.device) -> torch.nn.Module:
    if not info.enabled:
        return model
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def any_rank(info: DistInfo, flags: list[bool], device: torch.device) -> list[bool]:
    """Each flag true if it is true on any rank (a NaN on one rank, a stop on rank 0), so
    every rank leaves the loop at the same iteration instead of hanging in an all-reduce."""
    if not info.enabled:
        return flags
    t = torch.tensor([1 if f else 0 for f in flags], device=device if device.type == "cuda" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]


def mean_over_ranks(info: DistInfo, values: dict[str, float], device: torch.device) -> dict[str, float]:
    """Each value averaged over the ranks (torchvision's ``reduce_dict``): rank 0 logs the loss of
    the whole global batch, not of its own shard. Every rank must call it with the same keys."""
    if not info.enabled or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device if device.type == "cuda" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    t /= max(1, dist.get_world_size())
    means = dict(zip(keys, t.tolist(), strict=True))
    return {k: means[k] for k in values}  # the caller's order (the total loss last)


def cleanup(info: DistInfo) -> None:
    if info.initialized_here and dist.is_initialized():
        dist.destroy_process_group()

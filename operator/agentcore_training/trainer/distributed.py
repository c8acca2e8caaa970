"""Data-parallel runs under torchrun: the process group and the collectives the trainer uses.

`torch.distributed.run` sets WORLD_SIZE, RANK and the rendezvous variables; with a world of
more than one the group is started here (gloo on CPU, NCCL on CUDA). The collectives are
torch.distributed's own: the gradients are summed with all_reduce (each rank's loss is
normalised by the whole batch's token count, so the sum is the 1-rank gradient).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import torch
import torch.distributed as dist

ENV_WORLD_SIZE = "WORLD_SIZE"
ENV_RANK = "RANK"


def launched_world_size() -> int:
    """The world size torchrun launched this process in (1 when not launched by it)."""
    value = os.environ.get(ENV_WORLD_SIZE, "")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def init_from_env(device: torch.device | None = None) -> bool:
    """Start the process group when launched in a world of more than one; True if there
    is one (started here or before)."""
    if dist.is_initialized():
        return True
    if launched_world_size() <= 1:
        return False
    cuda = device is not None and device.type == "cuda"
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    return True


def active() -> bool:
    """Whether this process is one rank of a world of more than one."""
    return dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def sum_floats(values: list[float], device: torch.device) -> list[float]:
    """Each value summed over the ranks (float64, so sums of counts stay exact)."""
    if not active():
        return values
    tensor = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
    return [float(v) for v in tensor.tolist()]


def sum_gradients(params: Iterable[torch.Tensor]) -> None:
    """Every parameter's gradient summed over the ranks, in place (a missing gradient
    counts as zero, so that every rank makes the same calls). One all_reduce of the
    gradients laid end to end rather than one per parameter: fewer round trips."""
    if not active():
        return
    grads: list[torch.Tensor] = []
    for param in params:
        if not param.requires_grad:
            continue
        if param.grad is None:
            param.grad = torch.zeros_like(param)
        grads.append(param.grad)
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    offset = 0
    for grad in grads:
        grad.copy_(flat[offset : offset + grad.numel()].view_as(grad))
        offset += grad.numel()

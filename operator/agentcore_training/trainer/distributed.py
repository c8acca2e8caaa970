"""Data-parallel runs under torchrun: the process group and the collectives the trainer uses.

`torch.distributed.run` sets WORLD_SIZE, RANK and the rendezvous variables; with a world of
more than one the group is started here (gloo on CPU, NCCL on CUDA). The collectives are
torch.distributed's own: the gradients are summed with all_reduce (each rank's loss is
normalised by the whole batch's token count, so the sum is the 1-rank gradient).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import timedelta
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import nn

ENV_WORLD_SIZE = "WORLD_SIZE"
ENV_RANK = "RANK"
ENV_LOCAL_RANK = "LOCAL_RANK"
COLLECTIVE_TIMEOUT = timedelta(hours=6)
"""How long a rank waits in a collective: rank 0 may wait for the operator's handshake or
evaluate alone while the others wait. A hung run is the stall watchdog's to end (rank 0
reports progress), so this only has to be longer than any honest wait."""

T = TypeVar("T")


def launched_world_size() -> int:
    """The world size torchrun launched this process in (1 when not launched by it)."""
    value = os.environ.get(ENV_WORLD_SIZE, "")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def local_rank() -> int:
    """This process's index in its pod (torchrun's LOCAL_RANK; 0 when not launched by it)."""
    value = os.environ.get(ENV_LOCAL_RANK, "")
    return int(value) if value.isdigit() else 0


def init_from_env(device: torch.device | None = None) -> bool:
    """Start the process group when launched in a world of more than one; True if there
    is one (started here or before). On CUDA each rank takes the GPU of its LOCAL_RANK and
    NCCL carries the collectives; on the CPU gloo does."""
    if dist.is_initialized():
        return True
    if launched_world_size() <= 1:
        return False
    cuda = device.type == "cuda" if device is not None else torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(local_rank() % torch.cuda.device_count())
    dist.init_process_group(backend="nccl" if cuda else "gloo", timeout=COLLECTIVE_TIMEOUT)
    return True


def finish_together() -> bool:
    """Hold every rank at the end until rank 0 has finished the run's tail (its final
    evaluation, checkpoint and output): a pod of a multi-pod run that ended first would
    count as its index done, and a rank 0 failing in the tail could then never meet the
    world again. False on rank 0 when a peer left first (its work is done: it goes on);
    on the other ranks that failure is raised, and their pod fails."""
    if not active():
        return True
    try:
        dist.barrier()
    except RuntimeError:  # gloo's and NCCL's errors (DistBackendError is one)
        if is_main():
            return False
        raise
    return True


def close() -> None:
    """End the process group (at the end of a run, so that no rank leaves one behind)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def active() -> bool:
    """Whether this process is one rank of a world of more than one."""
    return dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def is_main() -> bool:
    """Rank 0 (or the only process): the one that owns the ledger, reports and checkpoints."""
    return rank() == 0


def broadcast_object(value: T) -> T:
    """Rank 0's `value`, on every rank (what the others pass is ignored)."""
    if not active():
        return value
    box: list[object] = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]  # type: ignore[return-value]


def gather_objects(value: T) -> list[T]:
    """Every rank's `value`, in rank order, on every rank."""
    if not active():
        return [value]
    boxes: list[object] = [None] * world_size()
    dist.all_gather_object(boxes, value)
    return boxes  # type: ignore[return-value]


def broadcast_module(module: nn.Module) -> None:
    """Rank 0's trainable weights into every rank's `module`, in place: the ranks start
    from the same weights (what DistributedDataParallel does at construction). Frozen
    weights (a LoRA base) are the same files on every rank and stay as loaded."""
    if not active():
        return
    with torch.no_grad():
        for param in module.parameters():
            if param.requires_grad:
                dist.broadcast(param.data, src=0)


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

"""Data-parallel runs: which part of an iteration's batch each rank takes. Pure.

A GRPO group (the trajectories of one query) never spans ranks, so the advantages stay
local: a rank takes whole queries. The global batch is the same whatever the number of
ranks: the ranks' shares, in rank order, are the batch.
"""

from __future__ import annotations

from collections.abc import Sequence


def rank_slice(batch_size: int, rank: int, world_size: int) -> slice:
    """The positions of a batch of `batch_size` queries that `rank` of `world_size` takes:
    contiguous, in rank order, sizes differing by at most one (the first ranks take the
    extra ones). A rank beyond the batch's size takes none."""
    if world_size < 1:
        raise ValueError(f"world size must be at least 1, not {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
    base, extra = divmod(batch_size, world_size)
    start = rank * base + min(rank, extra)
    return slice(start, start + base + (1 if rank < extra else 0))


def rank_share(picks: Sequence[int], rank: int, world_size: int) -> list[int]:
    """The queries of `picks` (one iteration's batch) that `rank` rolls out."""
    return list(picks[rank_slice(len(picks), rank, world_size)])

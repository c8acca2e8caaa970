"""The rank split of a data-parallel run: whole queries per rank, the same global batch."""

from __future__ import annotations

import pytest

from agentcore_training.trainer.ranks import rank_share, rank_slice


@pytest.mark.parametrize("batch_size", [1, 2, 3, 4, 7, 8, 33])
@pytest.mark.parametrize("world_size", [1, 2, 3, 4, 8])
def test_the_shares_in_rank_order_are_the_batch(batch_size: int, world_size: int) -> None:
    picks = [(17 * i + 5) % 101 for i in range(batch_size)]
    shares = [rank_share(picks, rank, world_size) for rank in range(world_size)]
    assert [q for share in shares for q in share] == picks
    sizes = [len(share) for share in shares]
    assert max(sizes) - min(sizes) <= 1
    assert sizes == sorted(sizes, reverse=True)  # the first ranks take the extra ones


def test_one_rank_takes_the_whole_batch() -> None:
    assert rank_share([4, 0, 9], 0, 1) == [4, 0, 9]


def test_two_ranks_split_a_batch_in_halves() -> None:
    assert rank_share([4, 0, 9, 2], 0, 2) == [4, 0]
    assert rank_share([4, 0, 9, 2], 1, 2) == [9, 2]
    assert rank_slice(5, 0, 2) == slice(0, 3)
    assert rank_slice(5, 1, 2) == slice(3, 5)


def test_a_rank_beyond_the_batch_takes_nothing() -> None:
    assert rank_share([3], 1, 2) == []


@pytest.mark.parametrize(("rank", "world_size"), [(2, 2), (-1, 2), (0, 0)])
def test_bad_ranks_are_refused(rank: int, world_size: int) -> None:
    with pytest.raises(ValueError, match=r"rank|world size"):
        rank_slice(4, rank, world_size)

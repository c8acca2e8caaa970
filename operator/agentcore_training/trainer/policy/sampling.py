"""Sampling by given uniforms, so that a trajectory's tokens depend on its own noise only.

A batched `torch.multinomial` draws from one generator for every row: which token a row
gets depends on the rows beside it. Data-parallel ranks each roll out a part of the batch,
so a row's randomness must be its own: each GRPO group gets a seed, its uniforms come from
a generator of that seed, and a row's token at step t is the inverse CDF of its
distribution at its uniform of step t. The same seed and group give the same tokens in
any batch, on any rank.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

SEED_BOUND = 2**62


def group_seeds(generator: torch.Generator, count: int) -> list[int]:
    """One seed per group of an iteration's batch, drawn from the run's generator (whose
    state checkpoints carry): every rank draws the same ones."""
    drawn: list[int] = torch.randint(0, SEED_BOUND, (count,), generator=generator).tolist()
    return drawn


def group_noise(seed: int, group_size: int, steps: int, width: int) -> torch.Tensor:
    """Uniforms [steps, group_size, width] of one group: step s, member m, token t."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((steps, group_size, width), generator=generator)


def rollout_noise(seeds: Sequence[int], group_size: int, width: int) -> torch.Tensor:
    """Uniforms [len(seeds) * group_size, width] of a single-turn rollout, group by group."""
    if not seeds:
        return torch.zeros((0, width))
    return torch.cat([group_noise(seed, group_size, 1, width)[0] for seed in seeds])


def sample_with_noise(probs: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """Row i's token: the first whose cumulative probability exceeds uniforms[i] (scaled
    by the row's total, which float sums leave slightly off 1). A token of probability 0
    is never taken."""
    cdf = probs.cumsum(dim=-1)
    target = (uniforms.to(cdf.device, cdf.dtype) * cdf[:, -1])[:, None]
    token = torch.searchsorted(cdf, target, right=True)[:, 0]
    return token.clamp(max=probs.shape[-1] - 1)


class NoiseSampler:
    """A transformers logits processor that samples each row's token with its uniform
    (temperature applied here) and leaves only that token: greedy decoding then takes it.
    Duck-typed (transformers calls it), so that this module needs no transformers."""

    def __init__(self, noise: torch.Tensor, temperature: float, *, start: int) -> None:
        self.noise = noise
        self.temperature = temperature
        self.start = start
        """The prompt's width: the step is how many tokens were appended since."""

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        step = int(input_ids.shape[1]) - self.start
        probs = torch.softmax(scores.float() / self.temperature, dim=-1)
        token = sample_with_noise(probs, self.noise[:, step])
        only = torch.full_like(scores, float("-inf"))
        return only.scatter_(1, token[:, None].to(scores.device), 0.0)

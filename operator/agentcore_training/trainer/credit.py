"""Credit assignment of multi-step trajectories (pure Python: no torch).

A trajectory of T steps (actions) with outcome reward R gives step t (1-based) the return

    G_t = gamma^(T - t) * R          (the last step gets R, the first gamma^(T-1) * R)

and every step's return is normalised within the group, over all steps of the group's
trajectories:

    A_t = (G_t - mean(G)) / (std(G) + 1e-4)     (sample std; 0 when all G are equal)

Every token of step t's action gets A_t. With T = 1 for every trajectory (single turn)
this is exactly the outcome-level GRPO advantage of `grpo.group_advantages`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

ADVANTAGE_EPS = 1e-4


def step_returns(reward: float, steps: int, gamma: float) -> list[float]:
    """[gamma^(T-1) R, ..., gamma R, R] for a trajectory of T = `steps` steps."""
    return [gamma ** (steps - t) * reward for t in range(1, steps + 1)]


def step_advantages(
    rewards: Sequence[float], steps: Sequence[int], group_size: int, gamma: float
) -> list[list[float]]:
    """The advantage of every step of every trajectory (laid out group after group)."""
    if len(rewards) != len(steps) or len(rewards) % group_size:
        raise ValueError("rewards and steps must be whole groups of the same length")
    advantages: list[list[float]] = []
    for start in range(0, len(rewards), group_size):
        returns = [
            step_returns(rewards[i], steps[i], gamma) for i in range(start, start + group_size)
        ]
        flat = [g for trajectory in returns for g in trajectory]
        if len(flat) < 2 or max(flat) == min(flat):
            advantages.extend([0.0] * len(trajectory) for trajectory in returns)
            continue
        mean = sum(flat) / len(flat)
        std = math.sqrt(sum((g - mean) ** 2 for g in flat) / (len(flat) - 1))
        advantages.extend(
            [(g - mean) / (std + ADVANTAGE_EPS) for g in trajectory] for trajectory in returns
        )
    return advantages

"""An iteration's figures over the whole batch, whichever ranks rolled it out.

Each data-parallel rank rolls out its share; the ledger and the metrics are of the whole
batch, so every rank's figures are gathered (in rank order, which is batch order) and
merged before rank 0 charges and reports them. A single process merges its own alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from agentcore_training.trainer import distributed
from agentcore_training.trainer.grpo import zero_std_fraction
from agentcore_training.trainer.ledger import Usage
from agentcore_training.trainer.rollout import EpisodeStats, RolloutBatch


@dataclass(frozen=True)
class BatchFigures:
    """What the ledger and the metrics need of a batch (plain numbers: cheap to gather)."""

    rewards: list[float]
    completion_lengths: list[int]
    prompt_tokens: int
    completion_tokens: int
    episodes: EpisodeStats
    group_size: int

    @classmethod
    def of(cls, batch: RolloutBatch) -> BatchFigures:
        return cls(
            rewards=[float(r) for r in batch.rewards.tolist()],
            completion_lengths=[int(n) for n in batch.completion_lengths.tolist()],
            prompt_tokens=batch.prompt_tokens,
            completion_tokens=batch.completion_tokens,
            episodes=batch.stats,
            group_size=batch.group_size,
        )

    @classmethod
    def merge(cls, parts: Sequence[BatchFigures]) -> BatchFigures:
        """The parts laid end to end, counts summed: the figures of the whole batch."""
        return cls(
            rewards=[r for p in parts for r in p.rewards],
            completion_lengths=[n for p in parts for n in p.completion_lengths],
            prompt_tokens=sum(p.prompt_tokens for p in parts),
            completion_tokens=sum(p.completion_tokens for p in parts),
            episodes=EpisodeStats(
                trajectories=sum(p.episodes.trajectories for p in parts),
                steps=sum(p.episodes.steps for p in parts),
                tool_calls=sum(p.episodes.tool_calls for p in parts),
                tool_errors=sum(p.episodes.tool_errors for p in parts),
                truncated=sum(p.episodes.truncated for p in parts),
            ),
            group_size=parts[0].group_size,
        )

    @property
    def usage(self) -> Usage:
        """The tokens and tool calls of the batch (its time is the ledger's clock)."""
        return Usage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            tool_calls=self.episodes.tool_calls,
        )

    @property
    def reward_tensor(self) -> torch.Tensor:
        return torch.tensor(self.rewards, dtype=torch.float32)

    @property
    def avg_reward(self) -> float:
        return float(self.reward_tensor.mean())

    @property
    def std_reward(self) -> float:
        return float(self.reward_tensor.std(correction=0))

    @property
    def mean_completion_length(self) -> float:
        return float(torch.tensor(self.completion_lengths).float().mean())

    @property
    def frac_zero_std_groups(self) -> float:
        return zero_std_fraction(self.reward_tensor, self.group_size)


def gathered(batch: RolloutBatch) -> BatchFigures:
    """The figures of the whole batch: this rank's share merged with the others'."""
    return BatchFigures.merge(distributed.gather_objects(BatchFigures.of(batch)))

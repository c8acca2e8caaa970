"""Sampling trajectories and laying them out for the update.

A batch is left-padded prompts followed by right-padded completions. Per-token
`loss_mask` and `advantages` say which tokens are the policy's actions and how good they
were; single-turn trajectories have one action (the completion). Multi-step environments
(`episodes.py`) use the same layout, with the environment's tokens at mask 0.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from agentcore_training.trainer.budget import SpendGate
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.grpo import group_advantages
from agentcore_training.trainer.policy.protocol import Policy
from agentcore_training.trainer.policy.sampling import rollout_noise
from agentcore_training.trainer.queries import Query
from agentcore_training.trainer.rewards import Reward
from agentcore_training.trainer.tokenizer import TextCodec


@dataclass(frozen=True)
class EpisodeStats:
    """Counts over the trajectories of one batch."""

    trajectories: int
    steps: int
    tool_calls: int = 0
    tool_errors: int = 0
    truncated: int = 0
    """Trajectories cut at maxStepsPerTrajectory (or at the model's context) unanswered."""

    @property
    def mean_steps(self) -> float:
        return self.steps / max(self.trajectories, 1)

    @property
    def tool_calls_per_trajectory(self) -> float:
        return self.tool_calls / max(self.trajectories, 1)

    @property
    def tool_error_rate(self) -> float:
        """Errors per tool call; 0 when there was no call."""
        return self.tool_errors / self.tool_calls if self.tool_calls else 0.0

    @property
    def frac_truncated(self) -> float:
        return self.truncated / max(self.trajectories, 1)


@dataclass(frozen=True)
class RolloutBatch:
    """Trajectories of one iteration, group after group (group size = n per query)."""

    input_ids: torch.Tensor
    """[N, T] prompt (left-padded) then completion (right-padded) token ids."""
    attention_mask: torch.Tensor
    """[N, T] 1 for real tokens."""
    loss_mask: torch.Tensor
    """[N, T] 1 for tokens the policy chose (its actions), 0 for prompt, padding, env."""
    advantages: torch.Tensor
    """[N, T] the advantage of each token (0 where loss_mask is 0)."""
    rewards: torch.Tensor
    """[N] the outcome reward of each trajectory."""
    completion_lengths: torch.Tensor
    """[N] policy tokens in each trajectory (EOS included)."""
    prompt_tokens: int
    completion_tokens: int
    texts: list[str]
    group_size: int
    episodes: EpisodeStats | None = None
    """Step and tool counts; None means single turn (one step, no tool, no cut)."""

    @property
    def stats(self) -> EpisodeStats:
        if self.episodes is not None:
            return self.episodes
        count = int(self.rewards.shape[0])
        return EpisodeStats(trajectories=count, steps=count)


def encode_prompts(codec: TextCodec, queries: Sequence[Query]) -> list[list[int]]:
    """Token ids of every prompt (a chat template's user turn, when on), once, at start."""
    encoded = []
    for index, query in enumerate(queries):
        ids = codec.encode_prompt(query.query)
        if not ids:
            raise BadInputError(f"query {index}: encodes to no tokens")
        encoded.append(ids)
    return encoded


def left_pad(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        if sequence:
            ids[row, width - len(sequence) :] = torch.tensor(sequence, dtype=torch.long)
            mask[row, width - len(sequence) :] = 1
    return ids, mask


def completion_mask(completions: torch.Tensor, eos_id: int) -> torch.Tensor:
    """1 up to and including the first EOS of each row, 0 after it."""
    is_eos = completions == eos_id
    # Tokens strictly after the first EOS are those with an EOS before them.
    eos_before = (is_eos.long().cumsum(dim=1) - is_eos.long()) > 0
    return (~eos_before).long()


@torch.no_grad()
def sample_rollout(
    policy: Policy,
    reward: Reward,
    queries: Sequence[Query],
    prompts: Sequence[Sequence[int]],
    *,
    group_size: int,
    max_new_tokens: int,
    temperature: float,
    generator: torch.Generator,
    gate: SpendGate | None = None,
    seeds: Sequence[int] | None = None,
) -> RolloutBatch:
    """Sample `group_size` completions of each query, score them, and lay them out.

    With `seeds` (one per query) each group samples with its own uniforms
    (`policy/sampling.py`), not with `generator`: its completions do not depend on the
    other queries of the batch, so a rank rolling out a part of it samples the same.

    `gate` is asked before the generation whether its worst case stays within the budget
    (it raises BudgetStop otherwise) and told what it used after.
    """
    codec = policy.codec
    repeated = [prompt for prompt in prompts for _ in range(group_size)]
    device = policy.device
    prompt_ids, prompt_mask = left_pad(repeated, codec.pad_id)
    prompt_ids, prompt_mask = prompt_ids.to(device), prompt_mask.to(device)
    prompt_tokens = int(prompt_mask.sum())
    if gate is not None:
        gate.before_generation(len(repeated), prompt_tokens, max_new_tokens)
    started = time.monotonic()
    completions = policy.generate(
        prompt_ids,
        prompt_mask,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        generator=generator,
        noise=None if seeds is None else rollout_noise(seeds, group_size, max_new_tokens),
    )
    comp_mask = completion_mask(completions, codec.eos_id)
    if gate is not None:
        gate.after_generation(
            time.monotonic() - started,
            len(repeated),
            int(completions.shape[1]),
            prompt_tokens,
            int(comp_mask.sum()),
        )
    texts = [codec.decode(row.tolist()) for row in completions]
    scored = [reward(text, queries[index // group_size]) for index, text in enumerate(texts)]
    rewards = torch.tensor(scored, dtype=torch.float32, device=device)
    advantages = group_advantages(rewards, group_size)
    input_ids = torch.cat([prompt_ids, completions], dim=1)
    attention_mask = torch.cat([prompt_mask, comp_mask], dim=1)
    loss_mask = torch.cat([torch.zeros_like(prompt_mask), comp_mask], dim=1).float()
    lengths = comp_mask.sum(dim=1)
    return RolloutBatch(
        input_ids=input_ids,
        attention_mask=attention_mask,
        loss_mask=loss_mask,
        advantages=advantages[:, None] * loss_mask,
        rewards=rewards,
        completion_lengths=lengths,
        prompt_tokens=prompt_tokens,
        completion_tokens=int(lengths.sum()),
        texts=texts,
        group_size=group_size,
    )

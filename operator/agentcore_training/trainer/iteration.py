"""One GRPO iteration: sample a batch, roll out, check the budget, update, charge, measure."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import torch

from agentcore_training.api.status import EpochMetrics, Metrics
from agentcore_training.trainer.episodes import sample_episodes
from agentcore_training.trainer.grpo import zero_std_fraction
from agentcore_training.trainer.jsonlog import log
from agentcore_training.trainer.ledger import Usage
from agentcore_training.trainer.rollout import sample_rollout
from agentcore_training.trainer.update import policy_update

if TYPE_CHECKING:
    from agentcore_training.trainer.trainer import Trainer


def batch_indices(cursor: int, batch_size: int, n_queries: int, seed: int) -> list[int]:
    """The queries at positions cursor .. cursor+batch_size of a reshuffled-per-epoch order.

    A pure function of (cursor, seed): the data position is one integer in a checkpoint.
    """
    picks: list[int] = []
    order: list[int] = []
    current_epoch = -1
    for position in range(cursor, cursor + batch_size):
        epoch, offset = divmod(position, n_queries)
        if epoch != current_epoch:
            generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
            order = torch.randperm(n_queries, generator=generator).tolist()
            current_epoch = epoch
        picks.append(order[offset])
    return picks


def run_iteration(trainer: Trainer) -> None:
    """One iteration; raises BudgetStop (nothing updated, the cursor back) when a part of
    it could cross the budget: the running check of `budget.py`."""
    config = trainer.config
    gate = trainer.gate
    started = time.monotonic()
    picks = batch_indices(trainer.cursor, config.batch_size, len(trainer.queries), config.seed)
    if trainer.environment.multi_step:
        batch = sample_episodes(
            trainer.policy,
            trainer.environment,
            trainer.reward,
            [trainer.queries[i] for i in picks],
            group_size=config.n_trajectories_per_query,
            max_steps=trainer.max_steps,
            max_new_tokens=config.max_new_tokens,
            temperature=config.temperature,
            gamma=config.gamma,
            generator=trainer.sampling,
            gate=gate,
        )
    else:
        # single_turn: one batched generation, the completion is the answer.
        batch = sample_rollout(
            trainer.policy,
            trainer.reward,
            [trainer.queries[i] for i in picks],
            [trainer.prompts[i] for i in picks],
            group_size=config.n_trajectories_per_query,
            max_new_tokens=config.max_new_tokens,
            temperature=config.temperature,
            generator=trainer.sampling,
            gate=gate,
        )
    if gate is not None:
        gate.check("update", gate.update_reserve())
    update_started = time.monotonic()
    trainer.cursor += config.batch_size
    # Lines of the queries file: the log shows what was trained on, to check against the split.
    query_indices = [trainer.train_index[i] for i in picks]
    trainer.sampled.update(query_indices)
    stats = policy_update(
        trainer.policy,
        trainer.reference,
        trainer.optimizer,
        batch,
        inner_epochs=trainer.options.inner_epochs,
        clip_epsilon=config.clip_epsilon,
        kl_coef=config.kl_coef,
        temperature=config.temperature,
        micro_batch_size=trainer.options.micro_batch_size,
    )
    if trainer.rates is not None:
        trainer.rates.saw_update(time.monotonic() - update_started)
    seconds = time.monotonic() - started
    trainer.loop_seconds += seconds
    trainer.iteration += 1
    episodes = batch.stats
    trainer._charge(
        "iteration",
        Usage(
            prompt_tokens=batch.prompt_tokens,
            completion_tokens=batch.completion_tokens,
            tool_calls=episodes.tool_calls,
        ),
    )
    avg_reward = float(batch.rewards.mean())
    trainer.metrics = Metrics(
        avg_reward=avg_reward,
        std_reward=float(batch.rewards.std(correction=0)),
        loss=stats.loss,
        kl=stats.kl,
        clip_ratio=stats.clip_ratio,
        entropy=stats.entropy,
        mean_completion_length=float(batch.completion_lengths.float().mean()),
        frac_zero_std_groups=zero_std_fraction(batch.rewards, batch.group_size),
        mean_steps_per_trajectory=episodes.mean_steps,
        tool_calls_per_trajectory=episodes.tool_calls_per_trajectory,
        tool_error_rate=episodes.tool_error_rate,
        frac_truncated=episodes.frac_truncated,
        tokens=trainer.ledger.usage.prompt_tokens + trainer.ledger.usage.completion_tokens,
        iteration_seconds=round(seconds, 6),
        epochs=[
            EpochMetrics(
                loss=e.loss, kl=e.kl, clip_ratio=e.clip_ratio, grad_norm=round(e.grad_norm, 6)
            )
            for e in stats.epochs
        ],
    )
    trainer.rewards.append(avg_reward)
    trainer.window.append(avg_reward)
    trainer.history.add(trainer.iteration, avg_reward)
    log(
        "info",
        "iteration",
        iteration=trainer.iteration,
        totalIterations=config.n_iterations,
        costUsd=format(trainer.ledger.spent, "f"),
        gradNorm=round(stats.grad_norm, 6),
        queryIndices=query_indices,
        metrics=trainer.metrics.to_snake(),
    )

"""One GRPO iteration: sample a batch, roll out (each rank its share), check the budget,
update, charge, measure."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

import torch

from agentcore_training.api.status import EpochMetrics, Metrics
from agentcore_training.trainer import distributed
from agentcore_training.trainer.batch_figures import gathered
from agentcore_training.trainer.budget import BudgetStop, SpendGate
from agentcore_training.trainer.episodes import sample_episodes
from agentcore_training.trainer.jsonlog import log
from agentcore_training.trainer.policy.sampling import group_seeds
from agentcore_training.trainer.ranks import rank_slice
from agentcore_training.trainer.rollout import RolloutBatch, sample_rollout
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


def agreed(trainer: Trainer, check: Callable[[SpendGate], None]) -> None:
    """Rank 0 runs the budget `check` on its gate (it owns the ledger); every rank raises
    the BudgetStop it raised, so that all ranks stop or none does."""
    verdict: tuple[str, Decimal, Decimal] | None = None
    if trainer.main and trainer.gate is not None:
        try:
            check(trainer.gate)
        except BudgetStop as stop:
            verdict = (stop.phase, stop.projected, stop.budget)
    verdict = distributed.broadcast_object(verdict)
    if verdict is not None:
        raise BudgetStop(*verdict)


def _check_rollout(trainer: Trainer, picks: list[int], share: slice) -> None:
    """The agreed check before a data-parallel rollout: the whole batch's worst case."""
    config = trainer.config
    group = config.n_trajectories_per_query
    if trainer.environment.multi_step:
        prompt_tokens = trainer.shape.worst_case_usage(0.0).prompt_tokens
    else:
        prompt_tokens = group * sum(len(trainer.prompts[i]) for i in picks)
    agreed(
        trainer,
        lambda gate: gate.before_parallel_rollout(
            rows=len(picks) * group,
            slowest_rows=(share.stop - share.start) * group,  # rank 0's is the largest
            prompt_tokens=prompt_tokens,
            max_new_tokens=config.max_new_tokens,
            steps=trainer.max_steps,
            multi_step=trainer.environment.multi_step,
        ),
    )


def _rollout(
    trainer: Trainer, picks: list[int], seeds: list[int], gate: SpendGate | None
) -> RolloutBatch:
    config = trainer.config
    if trainer.environment.multi_step:
        return sample_episodes(
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
            seeds=seeds,
        )
    # single_turn: one batched generation, the completion is the answer.
    return sample_rollout(
        trainer.policy,
        trainer.reward,
        [trainer.queries[i] for i in picks],
        [trainer.prompts[i] for i in picks],
        group_size=config.n_trajectories_per_query,
        max_new_tokens=config.max_new_tokens,
        temperature=config.temperature,
        generator=trainer.sampling,
        gate=gate,
        seeds=seeds,
    )


def run_iteration(trainer: Trainer) -> None:
    """One iteration; raises BudgetStop (nothing updated, the cursor back) when a part of
    it could cross the budget: the running check of `budget.py`.

    Under torchrun each rank rolls out its share of the batch (whole groups,
    `ranks.py`), with the groups' own seeds, so the batch is the one a single process
    samples; the budget checks are rank 0's, agreed by all (`agreed`)."""
    config = trainer.config
    gate = trainer.gate
    parallel = trainer.world > 1
    started = time.monotonic()
    picks = batch_indices(trainer.cursor, config.batch_size, len(trainer.queries), config.seed)
    seeds = group_seeds(trainer.sampling, len(picks))
    share = rank_slice(len(picks), trainer.rank, trainer.world)
    if parallel:
        _check_rollout(trainer, picks, share)
    rollout_started = time.monotonic()
    batch = _rollout(trainer, picks[share], seeds[share], None if parallel else gate)
    figures = gathered(batch)
    if parallel:
        if trainer.main and gate is not None:
            rows = int(batch.rewards.shape[0])
            steps = max(1, int(batch.completion_lengths.max()))
            gate.rates.saw_generation(time.monotonic() - rollout_started, rows, steps)
            gate.used(figures.usage)
        agreed(trainer, lambda g: g.check("update", g.update_reserve()))
    elif gate is not None:
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
    episodes = figures.episodes
    trainer._charge("iteration", figures.usage)
    avg_reward = figures.avg_reward
    trainer.metrics = Metrics(
        avg_reward=avg_reward,
        std_reward=figures.std_reward,
        loss=stats.loss,
        kl=stats.kl,
        clip_ratio=stats.clip_ratio,
        entropy=stats.entropy,
        mean_completion_length=figures.mean_completion_length,
        frac_zero_std_groups=figures.frac_zero_std_groups,
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
    if not trainer.main:
        return  # the figures are rank 0's to log, with the ledger's
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

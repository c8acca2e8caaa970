"""Held-out evaluation: score the policy on queries it never trains on.

The same rollouts as training (single turn or the environment's episodes), on the held-out
queries only, `samplesPerQuery` answers each, greedy by default. The sampling generator is
the evaluation's own, seeded by (seed, iteration): an evaluation never moves the training's
random stream, so a run with evaluations trains on exactly the batches it would without.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import torch

from agentcore_training.api.contract import checkpoint_id
from agentcore_training.api.evaluation import EvaluationMetrics, EvaluationRecord
from agentcore_training.api.evaluation_spec import Decoding, EvaluationSpec
from agentcore_training.api.spec import GRPOConfig, TrainingJobSpec
from agentcore_training.trainer.budget import SpendGate
from agentcore_training.trainer.environments.factory import EnvironmentFactory
from agentcore_training.trainer.episodes import sample_episodes
from agentcore_training.trainer.evaluation_book import EvaluationBook, Scores
from agentcore_training.trainer.evaluation_split import HeldOutSet
from agentcore_training.trainer.jsonlog import log
from agentcore_training.trainer.ledger import Ledger, Usage
from agentcore_training.trainer.policy.protocol import Policy
from agentcore_training.trainer.queries import Query
from agentcore_training.trainer.rewards import Reward
from agentcore_training.trainer.rollout import EpisodeStats, RolloutBatch, sample_rollout

GREEDY_TEMPERATURE = 1e-6
"""Sampling at this temperature is argmax up to exact ties of the logits (softmax is
computed stably, so nothing overflows): greedy decoding through the one generate()."""


@dataclass(frozen=True)
class Outcome:
    """One evaluation: the figures, the per-query scores, and what it used."""

    metrics: EvaluationMetrics
    scores: Scores
    usage: Usage
    seconds: float


def decoding_temperature(evaluation: EvaluationSpec, config: GRPOConfig) -> float:
    return GREEDY_TEMPERATURE if evaluation.decoding is Decoding.GREEDY else config.temperature


def evaluate(
    policy: Policy,
    environment: EnvironmentFactory,
    reward: Reward,
    queries: Sequence[Query],
    prompts: Sequence[Sequence[int]],
    *,
    evaluation: EvaluationSpec,
    config: GRPOConfig,
    max_steps: int,
    iteration: int,
    gate: SpendGate | None = None,
) -> Outcome:
    """Score `samplesPerQuery` answers of every held-out query, `batchSize` queries at a time.

    `gate` is asked before every generation, as in training (raises BudgetStop)."""
    started = time.monotonic()
    samples = evaluation.samples_per_query
    temperature = decoding_temperature(evaluation, config)
    generator = torch.Generator().manual_seed(config.seed * 1_000_033 + iteration + 17)
    success: list[float] = []
    rewards: list[float] = []
    totals = EpisodeStats(trajectories=0, steps=0)
    prompt_tokens = completion_tokens = 0
    for start in range(0, len(queries), config.batch_size):
        chunk = list(queries[start : start + config.batch_size])
        batch: RolloutBatch
        if environment.multi_step:
            batch = sample_episodes(
                policy,
                environment,
                reward,
                chunk,
                group_size=samples,
                max_steps=max_steps,
                max_new_tokens=config.max_new_tokens,
                temperature=temperature,
                gamma=config.gamma,
                generator=generator,
                gate=gate,
            )
        else:
            batch = sample_rollout(
                policy,
                reward,
                chunk,
                list(prompts[start : start + config.batch_size]),
                group_size=samples,
                max_new_tokens=config.max_new_tokens,
                temperature=temperature,
                generator=generator,
                gate=gate,
            )
        grouped = batch.rewards.view(len(chunk), samples)
        hits = (grouped >= evaluation.success_threshold).float()
        success += [float(x) for x in hits.mean(dim=1)]
        rewards += [float(x) for x in grouped.mean(dim=1)]
        stats = batch.stats
        totals = EpisodeStats(
            trajectories=totals.trajectories + stats.trajectories,
            steps=totals.steps + stats.steps,
            tool_calls=totals.tool_calls + stats.tool_calls,
            tool_errors=totals.tool_errors + stats.tool_errors,
            truncated=totals.truncated + stats.truncated,
        )
        prompt_tokens += batch.prompt_tokens
        completion_tokens += batch.completion_tokens
    count = max(len(success), 1)
    metrics = EvaluationMetrics(
        success_rate=sum(success) / count,
        mean_reward=sum(rewards) / count,
        mean_steps=totals.mean_steps,
        tool_calls_per_trajectory=totals.tool_calls_per_trajectory,
        tool_accuracy=(1.0 - totals.tool_error_rate) if totals.tool_calls else None,
    )
    return Outcome(
        metrics=metrics,
        scores=Scores(success=success, reward=rewards),
        usage=Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            tool_calls=totals.tool_calls,
        ),
        seconds=time.monotonic() - started,
    )


class Evaluations:
    """The run's evaluations: when they are due, what they may cost, and the book of them."""

    def __init__(
        self,
        spec: TrainingJobSpec,
        held_out: HeldOutSet,
        prompts: Sequence[Sequence[int]],
        *,
        max_steps: int,
    ) -> None:
        self.spec = spec.evaluation
        self.config = spec.config
        self.queries = held_out.queries
        self.prompts = prompts
        self.max_steps = max_steps
        self.enabled = bool(held_out.queries)
        self.book = EvaluationBook(
            metric=self.spec.metric,
            held_out_queries=len(held_out.queries),
            binary=self.spec.samples_per_query == 1,
        )
        if not self.enabled:
            self.book.skipped(
                "evaluation is off: spec.evaluation.heldOutFraction holds out no query and "
                "there are no evaluation queries"
            )

    def due(self, iteration: int) -> bool:
        """After this iteration (not the last: the end evaluates anyway)?"""
        return (
            self.enabled
            and 0 < iteration < self.config.n_iterations
            and iteration % self.spec.interval == 0
        )

    def estimate(self, prior_iteration: Callable[[], Decimal]) -> Decimal:
        """What one evaluation may cost: 1.5x the dearest so far; before any, the worst case
        of a training iteration scaled to the evaluation's trajectories (generation only is
        cheaper, so this is cautious)."""
        if not self.enabled:
            return Decimal(0)
        if self.book.dearest_usd is not None:
            return self.book.dearest_usd * Decimal("1.5")
        samples = len(self.queries) * self.spec.samples_per_query
        per_iteration = self.config.batch_size * self.config.n_trajectories_per_query
        return prior_iteration() * Decimal(samples) / Decimal(per_iteration)

    def run(
        self,
        policy: Policy,
        environment: EnvironmentFactory,
        reward: Reward,
        *,
        iteration: int,
        ledger: Ledger,
        charge: Callable[[Usage], None],
        pending_usd: Decimal,
        prior_iteration: Callable[[], Decimal],
        gate: SpendGate | None = None,
    ) -> EvaluationRecord | None:
        """Evaluate now if the estimate fits the budget; else say so in the book. None if not
        run. `gate` is the running check inside it (BudgetStop, the book unchanged)."""
        if not self.enabled:
            return None
        if self.book.baseline is None and iteration > 0:
            return None  # no baseline to compare with: the message says why
        estimate = pending_usd + self.estimate(prior_iteration)
        if not ledger.can_afford(estimate):
            what = "the baseline evaluation" if iteration == 0 else "the evaluation"
            self.book.skipped(
                f"skipped {what} at iteration {iteration}: it could cost up to "
                f"{estimate} USD and {ledger.budget - ledger.spent} USD are left"
            )
            log("warning", "evaluation_skipped", iteration=iteration, reason=self.book.message)
            return None
        before = ledger.spent
        outcome = evaluate(
            policy,
            environment,
            reward,
            self.queries,
            self.prompts,
            evaluation=self.spec,
            config=self.config,
            max_steps=self.max_steps,
            iteration=iteration,
            gate=gate,
        )
        charge(outcome.usage)
        record = self.book.add(
            iteration=iteration,
            checkpoint_id=checkpoint_id(iteration),
            metrics=outcome.metrics,
            scores=outcome.scores,
            duration_ms=round(outcome.seconds * 1000),
            cost_usd=ledger.spent - before,
        )
        comparison = record.comparison
        log(
            "info",
            "evaluation",
            iteration=iteration,
            checkpointId=record.checkpoint_id,
            queries=record.queries_evaluated,
            metrics=record.metrics.to_snake(),
            pValue=None if comparison is None else comparison.p_value,
            costUsd=format(record.cost_usd, "f"),
        )
        return record

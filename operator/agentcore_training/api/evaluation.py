"""Held-out evaluation results: what the trainer reports and status.evaluation shows."""

from __future__ import annotations

from pydantic import Field

from agentcore_training.api.base import ApiModel
from agentcore_training.api.money import Money

EVALUATION_HISTORY_MAX_POINTS = 100


class EvaluationMetrics(ApiModel):
    """One evaluation over the held-out queries."""

    success_rate: float = Field(
        ge=0, le=1, description="Fraction of answers whose reward reached successThreshold."
    )
    mean_reward: float = Field(description="Mean reward of the answers.")
    mean_steps: float = Field(ge=0, description="Mean environment steps per answer.")
    tool_calls_per_trajectory: float = Field(ge=0, description="Mean tool calls per answer.")
    tool_accuracy: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Fraction of tool calls without a tool error (none when no tool was called).",
    )


class BaselineComparison(ApiModel):
    """An evaluation against the baseline's, paired over the same held-out queries."""

    success_rate_improvement: float = Field(description="successRate minus the baseline's.")
    avg_reward_improvement: float = Field(description="meanReward minus the baseline's.")
    success_p_value: float = Field(
        ge=0, le=1, description="Exact McNemar test of the per-query successes (two-sided)."
    )
    reward_p_value: float = Field(
        ge=0, le=1, description="Sign-flip permutation test of the per-query mean rewards."
    )
    p_value: float = Field(ge=0, le=1, description="The p-value of spec.evaluation.metric.")
    statistically_significant: bool = Field(description="pValue < 0.05.")


class EvaluationRecord(ApiModel):
    """One evaluation: when, of which checkpoint, its figures and how they compare."""

    iteration: int = Field(ge=0, description="Iterations trained before it (0: the baseline).")
    checkpoint_id: str | None = Field(
        default=None, description="The checkpoint of the evaluated weights.", max_length=253
    )
    metrics: EvaluationMetrics = Field(description="The held-out figures.")
    comparison: BaselineComparison | None = Field(
        default=None, description="Against the baseline (none for the baseline itself)."
    )
    queries_evaluated: int = Field(ge=0, description="Held-out queries scored.")
    duration_ms: int = Field(ge=0, description="Wall-clock milliseconds it took.")
    cost_usd: Money = Field(description="What it cost on the ledger, in US dollars.")


class EvaluationHistory(ApiModel):
    """The held-out curve, bounded, for plots."""

    iterations: list[int] = Field(
        default_factory=list,
        description="Iteration of each evaluation.",
        max_length=EVALUATION_HISTORY_MAX_POINTS,
    )
    success_rate: list[float] = Field(
        default_factory=list,
        description="Held-out success rate at each of them.",
        max_length=EVALUATION_HISTORY_MAX_POINTS,
    )
    mean_reward: list[float] = Field(
        default_factory=list,
        description="Held-out mean reward at each of them.",
        max_length=EVALUATION_HISTORY_MAX_POINTS,
    )


class EvaluationStatus(ApiModel):
    """Held-out evaluation of the run: the baseline, the latest and the best."""

    held_out_queries: int = Field(default=0, ge=0, description="Queries in the held-out set.")
    metric: str = Field(
        default="success_rate", description="spec.evaluation.metric.", max_length=32
    )
    baseline: EvaluationRecord | None = Field(
        default=None, description="The untrained policy, before iteration 1."
    )
    latest: EvaluationRecord | None = Field(default=None, description="The latest evaluation.")
    best: EvaluationRecord | None = Field(
        default=None, description="The best by metric: its checkpoint is bestCheckpointId."
    )
    history: EvaluationHistory | None = Field(default=None, description="The held-out curve.")
    cost_usd: Money | None = Field(
        default=None, description="US dollars all evaluations cost (part of status.cost)."
    )
    message: str | None = Field(
        default=None,
        description="Why an evaluation is off or was skipped, if it was.",
        max_length=1024,
    )

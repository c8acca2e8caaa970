"""The schemas of training.evaluate: its params and its result (the original's names)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from agentcore_training.rpc.schemas import (
    UUID_PATTERN,
    JobStatus,
    ParamsModel,
    ResultModel,
    ResultMoney,
    namespace_field,
    result_field,
)


class EvaluateParams(ParamsModel):
    """Params of training.evaluate."""

    job_id: str = Field(
        pattern=UUID_PATTERN, description="The job's id: the TrainingJob's metadata.uid, a UUID."
    )
    checkpoint_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=253,
        description=(
            "The checkpoint whose evaluation to return (ckpt-000010, or a best_checkpoint_id); "
            "omitted: the latest evaluation (the final weights' once the job has finished)."
        ),
    )
    namespace: str | None = namespace_field(
        "Only look for the job in this namespace (optional: job ids are unique cluster-wide)."
    )


_CURVE_ONLY = " Null for an evaluation known only from the curve."


class EvaluationFigures(ResultModel):
    """One held-out evaluation's figures (status.evaluation's metrics in snake_case)."""

    success_rate: float = Field(
        description="Fraction of answers whose reward reached spec.evaluation.successThreshold."
    )
    mean_reward: float = Field(description="Mean reward of the answers.")
    mean_steps: float | None = Field(
        default=None, description="Mean environment steps per answer." + _CURVE_ONLY
    )
    tool_calls_per_trajectory: float | None = Field(
        default=None, description="Mean tool calls per answer." + _CURVE_ONLY
    )
    tool_accuracy: float | None = Field(
        default=None,
        description="Fraction of tool calls without a tool error (null when none was called)."
        + _CURVE_ONLY,
    )


class BaselineComparisonResult(ResultModel):
    """An evaluation against the baseline's, paired over the same held-out queries."""

    success_rate_improvement: float = Field(description="success_rate minus the baseline's.")
    avg_reward_improvement: float = Field(description="mean_reward minus the baseline's.")
    p_value: float | None = Field(
        description="The paired test of spec.evaluation.metric (success_p_value or "
        "reward_p_value)." + _CURVE_ONLY
    )
    statistically_significant: bool | None = Field(description="p_value < 0.05." + _CURVE_ONLY)
    success_p_value: float | None = Field(
        default=None,
        description="Exact McNemar test of the per-query successes (two-sided). Added since "
        "the original contract." + _CURVE_ONLY,
    )
    reward_p_value: float | None = Field(
        default=None,
        description="Sign-flip permutation test of the per-query mean rewards. Added since the "
        "original contract." + _CURVE_ONLY,
    )


class EvaluateResult(ResultModel):
    """Result of training.evaluate: a recorded held-out evaluation of the job."""

    success: Literal[True] = result_field("success", default=True)
    job_id: str = result_field("job_id")
    checkpoint_id: str | None = Field(description="The evaluated weights' checkpoint.")
    iteration: int = Field(
        description="Iterations trained before it (0: the baseline). Added since the original "
        "contract."
    )
    metrics: EvaluationFigures = Field(description="The held-out figures.")
    baseline_comparison: BaselineComparisonResult | None = Field(
        description="Against the baseline, paired over the same queries; null for the baseline "
        "itself."
    )
    queries_evaluated: int = Field(description="Held-out queries scored.")
    evaluation_duration_ms: int | None = Field(
        description="Wall-clock milliseconds the evaluation took." + _CURVE_ONLY
    )
    cost_usd: ResultMoney | None = Field(
        description="What the evaluation cost, US dollars. Added since the original contract."
        + _CURVE_ONLY
    )
    best: bool = Field(
        description="Whether it is the best evaluation (bestCheckpointId's). Added since the "
        "original contract."
    )
    baseline_metrics: EvaluationFigures = Field(
        description="The baseline's figures. Added since the original contract."
    )
    metric: str = Field(
        description="spec.evaluation.metric: what p_value tests and what picks the best. Added "
        "since the original contract."
    )
    status: JobStatus = result_field("status")
    namespace: str = result_field("namespace")
    name: str = result_field("name")

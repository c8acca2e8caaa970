"""The evaluations of one run: the baseline, the latest, the best, the curve (pure).

Each evaluation is compared with the baseline over the same held-out queries (the paired
tests of evaluation_stats). The book goes into every checkpoint, per-query scores included,
so a resumed run compares with the same baseline and keeps the same best.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from agentcore_training.api.evaluation import (
    EVALUATION_HISTORY_MAX_POINTS,
    BaselineComparison,
    EvaluationHistory,
    EvaluationMetrics,
    EvaluationRecord,
    EvaluationStatus,
)
from agentcore_training.api.evaluation_spec import EvaluationMetric
from agentcore_training.trainer.evaluation_stats import SIGNIFICANCE_LEVEL, paired_p_value


@dataclass(frozen=True)
class Scores:
    """Per held-out query: the fraction of its answers that succeeded, and their mean reward."""

    success: list[float]
    reward: list[float]

    def to_json(self) -> dict[str, Any]:
        return {"success": self.success, "reward": self.reward}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scores:
        return cls(
            success=[float(x) for x in data["success"]], reward=[float(x) for x in data["reward"]]
        )


def compare(
    baseline: Scores, scores: Scores, *, metric: EvaluationMetric, binary: bool
) -> BaselineComparison:
    """How `scores` compare with the baseline's, paired query by query."""
    count = max(len(scores.success), 1)
    success_gain = (sum(scores.success) - sum(baseline.success)) / count
    reward_gain = (sum(scores.reward) - sum(baseline.reward)) / count
    success_p = paired_p_value(baseline.success, scores.success, binary=binary)
    reward_p = paired_p_value(baseline.reward, scores.reward, binary=False)
    p_value = success_p if metric is EvaluationMetric.SUCCESS_RATE else reward_p
    return BaselineComparison(
        success_rate_improvement=success_gain,
        avg_reward_improvement=reward_gain,
        success_p_value=success_p,
        reward_p_value=reward_p,
        p_value=p_value,
        statistically_significant=p_value < SIGNIFICANCE_LEVEL,
    )


def metric_value(metrics: EvaluationMetrics, metric: EvaluationMetric) -> float:
    if metric is EvaluationMetric.SUCCESS_RATE:
        return metrics.success_rate
    return metrics.mean_reward


@dataclass
class EvaluationBook:
    """Everything the run has learnt from its evaluations."""

    metric: EvaluationMetric
    held_out_queries: int
    binary: bool
    """One answer per query: success is 0/1 and McNemar applies."""
    message: str | None = None
    baseline: EvaluationRecord | None = None
    baseline_scores: Scores | None = None
    latest: EvaluationRecord | None = None
    best: EvaluationRecord | None = None
    points: list[tuple[int, float, float]] = field(default_factory=list)
    cost_usd: Decimal = Decimal(0)
    dearest_usd: Decimal | None = None
    """The dearest evaluation so far: the basis of the next one's estimate."""

    def add(
        self,
        *,
        iteration: int,
        checkpoint_id: str,
        metrics: EvaluationMetrics,
        scores: Scores,
        duration_ms: int,
        cost_usd: Decimal,
    ) -> EvaluationRecord:
        """Record one evaluation; the first is the baseline."""
        comparison = None
        if self.baseline_scores is not None:
            comparison = compare(
                self.baseline_scores, scores, metric=self.metric, binary=self.binary
            )
        record = EvaluationRecord(
            iteration=iteration,
            checkpoint_id=checkpoint_id,
            metrics=metrics,
            comparison=comparison,
            queries_evaluated=len(scores.success),
            duration_ms=duration_ms,
            cost_usd=cost_usd,
        )
        if self.baseline is None:
            self.baseline, self.baseline_scores = record, scores
        if self.best is None or metric_value(metrics, self.metric) > metric_value(
            self.best.metrics, self.metric
        ):
            self.best = record
        self.latest = record
        self.message = None  # an earlier skip (an interrupted pod, say) is over
        self.cost_usd += cost_usd
        if self.dearest_usd is None or cost_usd > self.dearest_usd:
            self.dearest_usd = cost_usd
        self.points = [p for p in self.points if p[0] != iteration]
        self.points.append((iteration, metrics.success_rate, metrics.mean_reward))
        if len(self.points) > EVALUATION_HISTORY_MAX_POINTS:
            # Keep the baseline and the newest; drop every other one in between.
            middle = self.points[1:-1][1::2]
            self.points = [self.points[0], *middle, self.points[-1]]
        return record

    def skipped(self, message: str) -> None:
        self.message = message

    @property
    def best_checkpoint_id(self) -> str | None:
        return self.best.checkpoint_id if self.best is not None else None

    def status(self, *, with_history: bool = True) -> EvaluationStatus:
        history = None
        if with_history and self.points:
            history = EvaluationHistory(
                iterations=[p[0] for p in self.points],
                success_rate=[p[1] for p in self.points],
                mean_reward=[p[2] for p in self.points],
            )
        return EvaluationStatus(
            held_out_queries=self.held_out_queries,
            metric=self.metric.value,
            baseline=self.baseline,
            latest=self.latest,
            best=self.best,
            history=history,
            cost_usd=self.cost_usd,
            message=self.message,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status().to_wire(),
            "baselineScores": self.baseline_scores.to_json() if self.baseline_scores else None,
            "points": [list(p) for p in self.points],
            "dearestUsd": None if self.dearest_usd is None else format(self.dearest_usd, "f"),
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Continue from a checkpoint's book."""
        status = EvaluationStatus.model_validate(data["status"])
        self.baseline, self.latest, self.best = status.baseline, status.latest, status.best
        self.message = status.message
        self.cost_usd = status.cost_usd or Decimal(0)
        scores = data.get("baselineScores")
        self.baseline_scores = Scores.from_json(scores) if scores else None
        self.points = [(int(i), float(s), float(r)) for i, s, r in data.get("points", [])]
        dearest = data.get("dearestUsd")
        self.dearest_usd = None if dearest is None else Decimal(dearest)

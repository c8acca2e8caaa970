"""The `Improved` condition, from status.evaluation (pure)."""

from __future__ import annotations

from agentcore_training.api.evaluation import EvaluationStatus
from agentcore_training.api.status import ConditionStatus


def improved_condition(
    evaluation: EvaluationStatus | None,
) -> tuple[ConditionStatus, str, str] | None:
    """(status, reason, message) of `Improved`; None while there is nothing to say yet.

    True when the best held-out evaluation beats the baseline with p < 0.05 (the paired test
    of spec.evaluation.metric); False once there is a later evaluation that does not.
    """
    if evaluation is None:
        return None
    if evaluation.baseline is None:
        if evaluation.message:
            return ConditionStatus.UNKNOWN, "NotEvaluated", evaluation.message
        return None
    best = evaluation.best
    comparison = best.comparison if best is not None else None
    if best is None or comparison is None:
        latest = evaluation.latest
        if latest is None or latest.iteration == evaluation.baseline.iteration:
            return None  # only the baseline so far
        return (
            ConditionStatus.FALSE,
            "NoBetterThanBaseline",
            f"no evaluation beat the baseline's {evaluation.metric} "
            f"({_figure(evaluation.baseline.metrics.success_rate)} success)",
        )
    figures = (
        f"held-out success {_figure(evaluation.baseline.metrics.success_rate)} -> "
        f"{_figure(best.metrics.success_rate)} at iteration {best.iteration} "
        f"({best.checkpoint_id}), p = {comparison.p_value:.3g}"
    )
    if comparison.statistically_significant:
        return ConditionStatus.TRUE, "SignificantlyBetter", figures
    return ConditionStatus.FALSE, "NotSignificant", figures


def _figure(rate: float) -> str:
    return f"{100 * rate:.1f} %"

"""Budget alerts: the BudgetWarning condition and one Event per threshold crossed (pure).

What was already crossed is read from the BudgetWarning condition the operator wrote, never
from memory, so a restarted operator (or a resync) records no Event twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from agentcore_training.api.budget import (
    THRESHOLDS,
    BudgetStatus,
    thresholds_crossed,
    utilization_percent,
)
from agentcore_training.api.status import Condition, ConditionStatus, Cost

REASONS: dict[BudgetStatus, str] = {
    **{status: f"Threshold{threshold}" for threshold, status in THRESHOLDS},
    BudgetStatus.EXCEEDED: "Exceeded",
}
"""The BudgetWarning condition's reason for each budget status but ok."""


def event_reason(threshold: Decimal) -> str:
    """The reason of the Warning Event recorded when the spend crosses `threshold` percent."""
    return f"BudgetThreshold{threshold}"


@dataclass(frozen=True)
class BudgetAlert:
    """What to write: BudgetWarning=True with `reason`, and an Event per threshold crossed."""

    reason: str
    message: str
    crossed: list[Decimal]


def warned(condition: Condition | None) -> BudgetStatus:
    """The budget status that a written BudgetWarning condition records (ok: none)."""
    if condition is None or condition.status != ConditionStatus.TRUE:
        return BudgetStatus.OK
    return next((s for s, r in REASONS.items() if r == condition.reason), BudgetStatus.OK)


def budget_alert(previous: Condition | None, cost: Cost) -> BudgetAlert | None:
    """The alert to write when `cost` is at a higher budget status than `previous` records.

    None when nothing changes: below 75 %, or at the level already written (so the
    condition's message, the spend when the level was reached, is not rewritten).
    """
    before, after = warned(previous), cost.budget_status
    if after.rank <= before.rank:
        return None
    percent = utilization_percent(cost.cost_usd, cost.budget_usd)
    message = (
        f"the spend reached {percent:.1f} % of maxBudgetUsd: {cost.cost_usd} of "
        f"{cost.budget_usd} USD ({after.value})"
    )
    return BudgetAlert(REASONS[after], message, thresholds_crossed(before, after))

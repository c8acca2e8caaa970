"""Budget status: how much of maxBudgetUsd a run has spent, the original's BudgetStatus (pure)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum


class BudgetStatus(StrEnum):
    """How much of maxBudgetUsd is spent (the original's BudgetStatus values)."""

    OK = "ok"
    WARNING_75 = "warning_75"
    WARNING_90 = "warning_90"
    EXCEEDED = "exceeded"

    @property
    def rank(self) -> int:
        """Its order: a spend only ever moves a job to a higher rank."""
        return list(BudgetStatus).index(self)


# The alert thresholds, in percent of maxBudgetUsd, and the status each one starts.
THRESHOLDS: tuple[tuple[Decimal, BudgetStatus], ...] = (
    (Decimal(75), BudgetStatus.WARNING_75),
    (Decimal(90), BudgetStatus.WARNING_90),
)


STATUS_DESCRIPTION = (
    f"{BudgetStatus.OK} below {THRESHOLDS[0][0]} % of the budget, "
    + ", ".join(f"{status} from {threshold} %" for threshold, status in THRESHOLDS)
    + f" up to all of it, {BudgetStatus.EXCEEDED} above it (BudgetExceeded); "
    "always computed from costUsd and budgetUsd."
)


def utilization_percent(cost_usd: Decimal, budget_usd: Decimal) -> Decimal:
    """100 * cost / budget; of a zero budget, nothing spent is 0 % and a spend infinite."""
    if budget_usd == 0:
        return Decimal(0) if cost_usd == 0 else Decimal("Infinity")
    return Decimal(100) * cost_usd / budget_usd


def budget_status(cost_usd: Decimal, budget_usd: Decimal) -> BudgetStatus:
    """The status of a spend: exceeded only above the budget (all of it spent is warning_90)."""
    if cost_usd > budget_usd:
        return BudgetStatus.EXCEEDED
    percent = utilization_percent(cost_usd, budget_usd)
    status = BudgetStatus.OK
    for threshold, reached in THRESHOLDS:
        if percent >= threshold:
            status = reached
    return status


def thresholds_crossed(before: BudgetStatus, after: BudgetStatus) -> list[Decimal]:
    """The thresholds (percent) that a move from `before` to `after` crosses, lowest first."""
    return [t for t, reached in THRESHOLDS if before.rank < reached.rank <= after.rank]

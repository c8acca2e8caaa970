"""Budget alerts: the budget status of a spend, the BudgetWarning condition and its Events."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from agentcore_training.api.budget import (
    BudgetStatus,
    budget_status,
    thresholds_crossed,
    utilization_percent,
)
from agentcore_training.api.contract import ProgressState
from agentcore_training.api.status import Cost
from agentcore_training.controller.phase import plan
from tests.unit.test_controller_phase import NOW, _condition, _job, _pod, _queued, _summary, _tj

RUNNING_POD = _pod("Running", {"running": {"startedAt": "2026-11-30T11:59:00Z"}})


@pytest.mark.parametrize(
    ("cost", "budget", "expected"),
    [
        ("0", "10.00", BudgetStatus.OK),
        ("7.49999999", "10.00", BudgetStatus.OK),
        ("7.50", "10.00", BudgetStatus.WARNING_75),
        ("8.99999999", "10.00", BudgetStatus.WARNING_75),
        ("9.00", "10.00", BudgetStatus.WARNING_90),
        ("10.00", "10.00", BudgetStatus.WARNING_90),  # all of it spent, not above it
        ("10.00000001", "10.00", BudgetStatus.EXCEEDED),
        ("0", "0", BudgetStatus.OK),
        ("0.01", "0", BudgetStatus.EXCEEDED),
        ("0.03", "0.04", BudgetStatus.WARNING_75),
    ],
)
def test_budget_status_of_a_spend(cost: str, budget: str, expected: BudgetStatus) -> None:
    assert budget_status(Decimal(cost), Decimal(budget)) == expected


def test_utilization_is_exact_and_defined_for_a_zero_budget() -> None:
    assert utilization_percent(Decimal("0.03"), Decimal("0.04")) == Decimal(75)
    assert utilization_percent(Decimal(0), Decimal(0)) == 0
    assert utilization_percent(Decimal("0.01"), Decimal(0)) == Decimal("Infinity")


def test_thresholds_crossed_by_a_move() -> None:
    assert thresholds_crossed(BudgetStatus.OK, BudgetStatus.WARNING_75) == [Decimal(75)]
    assert thresholds_crossed(BudgetStatus.OK, BudgetStatus.EXCEEDED) == [Decimal(75), Decimal(90)]
    assert thresholds_crossed(BudgetStatus.WARNING_75, BudgetStatus.WARNING_90) == [Decimal(90)]
    assert thresholds_crossed(BudgetStatus.WARNING_90, BudgetStatus.EXCEEDED) == []
    assert thresholds_crossed(BudgetStatus.WARNING_90, BudgetStatus.WARNING_75) == []


def test_the_cost_model_computes_its_status_whatever_it_was_given() -> None:
    """A status written before the field existed, or a wrong one, reads as the amounts say."""
    stored = Cost.model_validate({"costUsd": "9.5", "budgetUsd": "10.00"})
    assert stored.budget_status == BudgetStatus.WARNING_90
    wrong = Cost.model_validate({"costUsd": "9.5", "budgetUsd": "10.00", "budgetStatus": "ok"})
    assert wrong.budget_status == BudgetStatus.WARNING_90
    assert wrong.to_wire()["budgetStatus"] == "warning_90"
    assert wrong.to_snake()["budget_status"] == "warning_90"


def _running(cost: str, conditions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A running job's status (as the planner wrote it) after reports took it to `cost`."""
    queued = _tj(_queued())
    started = plan(queued, _job(), [RUNNING_POD], now=NOW, cancel_grace_seconds=30)
    status = {**queued.status.to_wire(), **started.status}
    status["cost"] = {"costUsd": cost, "budgetUsd": "10.00", "budgetRemainingUsd": "0"}
    status["conditions"] = [*status["conditions"], *(conditions or [])]
    return status


def _step(cost: str, conditions: list[dict[str, Any]] | None = None) -> Any:
    return plan(
        _tj(_running(cost, conditions)),
        _job(),
        [RUNNING_POD],
        now=NOW,
        cancel_grace_seconds=30,
    )


def _warnings(result: Any) -> list[str]:
    return [e.reason for e in result.events if e.reason.startswith("BudgetThreshold")]


def test_below_75_percent_there_is_no_budget_warning() -> None:
    result = _step("7.49")
    assert "conditions" not in result.status
    assert result.events == []


def test_crossing_75_sets_the_condition_and_records_one_event() -> None:
    result = _step("7.60")
    warning = _condition(result.status, "BudgetWarning")
    assert (warning["status"], warning["reason"]) == ("True", "Threshold75")
    assert "76.0 % of maxBudgetUsd: 7.60 of 10.00 USD (warning_75)" in warning["message"]
    assert _warnings(result) == ["BudgetThreshold75"]
    assert all(e.type == "Warning" for e in result.events)
    assert "crossed 75 % of the budget" in result.events[0].message


def test_the_same_level_again_writes_nothing_and_records_no_event() -> None:
    """What was crossed is read from the written condition: a resync or a restarted
    operator (no memory) records no second Event, nor rewrites the message."""
    first = _step("7.60")
    written = [c for c in first.status["conditions"] if c["type"] == "BudgetWarning"]
    again = plan(
        _tj(_running("8.50", written)),
        _job(),
        [RUNNING_POD],
        now=NOW + timedelta(minutes=1),
        cancel_grace_seconds=30,
    )
    assert again.events == []
    assert "conditions" not in again.status  # unchanged: nothing rewritten


def test_crossing_90_after_75_records_only_the_new_threshold() -> None:
    first = _step("7.60")
    written = [c for c in first.status["conditions"] if c["type"] == "BudgetWarning"]
    later = _step("9.10", written)
    assert _condition(later.status, "BudgetWarning")["reason"] == "Threshold90"
    assert _warnings(later) == ["BudgetThreshold90"]


def test_a_jump_past_both_thresholds_records_both_events() -> None:
    """Status writes are coalesced: one write may cross 75 and 90 at once."""
    result = _step("9.50")
    assert _condition(result.status, "BudgetWarning")["reason"] == "Threshold90"
    assert _warnings(result) == ["BudgetThreshold75", "BudgetThreshold90"]


def test_a_spend_above_the_budget_is_the_exceeded_level() -> None:
    first = _step("9.50")
    written = [c for c in first.status["conditions"] if c["type"] == "BudgetWarning"]
    over = _step("10.50", written)
    assert _condition(over.status, "BudgetWarning")["reason"] == "Exceeded"
    assert _warnings(over) == []  # no threshold left to cross; BudgetExceeded says it
    assert [e.reason for e in over.events] == ["BudgetExceeded"]


def test_the_final_summary_crosses_thresholds_the_pushes_did_not_show() -> None:
    """The last push may be lost: the termination message's cost counts too."""
    summary = _summary(ProgressState.COMPLETED, 10, "9.20")
    result = plan(
        _tj(_running("5.00")),
        _job(("Complete", "", "")),
        [_pod("Succeeded", {"terminated": {"exitCode": 0, "message": summary}})],
        now=NOW,
        cancel_grace_seconds=30,
    )
    assert result.status["phase"] == "Completed"
    assert result.status["cost"]["budgetStatus"] == "warning_90"
    assert _condition(result.status, "BudgetWarning")["reason"] == "Threshold90"
    assert _warnings(result) == ["BudgetThreshold75", "BudgetThreshold90"]

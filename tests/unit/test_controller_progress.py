"""Progress report rules and the status they become (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from agentcore_training.api.contract import ProgressReport, ProgressState, RewardPoint
from agentcore_training.api.status import HISTORY_MAX_POINTS, History, Metrics
from agentcore_training.controller.progress import (
    Accepted,
    attempt_of,
    check_report,
    downsample,
    history_after,
    parse_summary,
    status_from_report,
    summary_text,
)

AT = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
JOB = "7d0c3a4e-1111-4222-8333-944455556666"


def _report(iteration: int = 3, cost: str = "0.30", **fields: object) -> ProgressReport:
    return ProgressReport.model_validate(
        {
            "jobId": JOB,
            "iteration": iteration,
            "totalIterations": 10,
            "state": "running",
            "metrics": {"avgReward": 0.25},
            "costUsd": cost,
            "budgetUsd": "1.00",
            **fields,
        }
    )


def test_a_good_report_is_accepted() -> None:
    assert check_report(_report(), pod_job_id=JOB, budget_usd=Decimal("1.00"), last=None) is None


def test_a_report_for_another_job_is_forbidden() -> None:
    refusal = check_report(
        _report(jobId="00000000-0000-4000-8000-000000000000"),
        pod_job_id=JOB,
        budget_usd=Decimal("1.00"),
        last=None,
    )
    assert refusal is not None
    assert refusal.http_status == 403


@pytest.mark.parametrize(("iteration", "cost"), [(2, "0.30"), (3, "0.29")])
def test_iterations_and_cost_only_go_up(iteration: int, cost: str) -> None:
    refusal = check_report(
        _report(iteration, cost),
        pod_job_id=JOB,
        budget_usd=Decimal("1.00"),
        last=Accepted(3, Decimal("0.30")),
    )
    assert refusal is not None
    assert refusal.http_status == 409
    assert "went down" in refusal.message


def test_a_report_with_another_budget_is_refused() -> None:
    refusal = check_report(_report(), pod_job_id=JOB, budget_usd=Decimal("2.00"), last=None)
    assert refusal is not None
    assert refusal.http_status == 422


def test_a_cost_above_the_budget_is_reported_truly() -> None:
    """An overrun is shown (the planner adds BudgetExceeded), never refused or hidden."""
    status = status_from_report(_report(cost="1.01"), None, AT)
    assert status["cost"] == {
        "costUsd": "1.01",
        "budgetUsd": "1.00",
        "budgetRemainingUsd": "0",
        "budgetStatus": "exceeded",
    }


def test_status_from_a_report() -> None:
    status = status_from_report(_report(best_checkpoint_id="ckpt-3"), None, AT)
    assert status["progress"] == {
        "currentIteration": 3,
        "totalIterations": 10,
        "percentComplete": 30,
    }
    assert status["lastReportTime"] == "2026-11-30T12:00:00Z"  # the stall watchdog's clock
    assert status["cost"] == {
        "costUsd": "0.30",
        "budgetUsd": "1.00",
        "budgetRemainingUsd": "0.70",
        "budgetStatus": "ok",
    }
    assert status["metrics"] == {"avgReward": 0.25}
    assert status["history"] == {"iterations": [3], "avgReward": [0.25]}
    assert status["bestCheckpointId"] == "ckpt-3"


def test_history_is_bounded_and_keeps_the_ends() -> None:
    history = None
    for iteration in range(1, 1001):
        report = _report(iteration, "0.30")
        report = report.model_copy(update={"metrics": Metrics(avg_reward=iteration / 1000)})
        history = history_after(history, report)
    assert history is not None
    assert len(history.iterations) == HISTORY_MAX_POINTS
    assert history.iterations[0] == 1
    assert history.iterations[-1] == 1000
    assert history.iterations == sorted(history.iterations)


def test_the_trainers_own_curve_wins() -> None:
    points = [RewardPoint(iteration=i, avg_reward=i / 10) for i in range(1, 4)]
    history = history_after(
        History(iterations=[9], avg_reward=[0.0]), _report(avg_reward_history=points)
    )
    assert history.iterations == [1, 2, 3]


def test_downsample_is_even() -> None:
    result = downsample(list(range(10)), [float(i) for i in range(10)], 4)
    assert result.iterations == [0, 3, 6, 9]


def test_summary_parses_only_real_reports() -> None:
    assert parse_summary(None) is None
    assert parse_summary("Traceback (most recent call last): ...") is None
    assert parse_summary('{"not": "a report"}') is None
    summary = parse_summary(
        _report(state=ProgressState.COMPLETED.value).model_dump_json(by_alias=True)
    )
    assert summary is not None
    assert summary.state == ProgressState.COMPLETED


def test_the_trainers_termination_summary_parses() -> None:
    """The shape agentcore-trainer writes: a final report plus reason and exitCode."""
    message = (
        '{"state":"budget_exhausted","reason":"BudgetExhausted","exitCode":0,"iteration":7,'
        '"totalIterations":10,"costUsd":"0.99","budgetUsd":"1.00","checkpointId":"ckpt-000007",'
        '"bestCheckpointId":"ckpt-000005","metrics":{"avgReward":0.4},"message":"budget"}'
    )
    summary = parse_summary(message)
    assert summary is not None
    assert summary.state == ProgressState.BUDGET_EXHAUSTED
    assert summary.iteration == 7
    assert summary.cost_usd == Decimal("0.99")
    failed = '{"state":"failed","reason":"BadInput","exitCode":2,"message":"queries: line 3"}'
    assert parse_summary(failed) is None
    assert summary_text(failed) == "queries: line 3"
    assert summary_text("plain words\n") == "plain words"


def test_a_new_attempt_may_restart_the_iteration_but_never_lower_the_cost() -> None:
    last = Accepted(iteration=7, cost_usd=Decimal("0.50"), pod_name="pod-a")
    retry = _report(0, "0.50").model_copy(update={"pod_name": "pod-b"})
    assert check_report(retry, pod_job_id=JOB, budget_usd=Decimal("1.00"), last=last) is None
    cheaper = _report(0, "0.40").model_copy(update={"pod_name": "pod-b"})
    refusal = check_report(cheaper, pod_job_id=JOB, budget_usd=Decimal("1.00"), last=last)
    assert refusal is not None
    assert refusal.http_status == 409
    same_pod = _report(0, "0.50").model_copy(update={"pod_name": "pod-a"})
    refusal = check_report(same_pod, pod_job_id=JOB, budget_usd=Decimal("1.00"), last=last)
    assert refusal is not None
    assert "iteration went down" in refusal.message


def _named(name: str, created: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "creationTimestamp": created}}


def test_the_attempt_counts_earlier_pods_and_the_jobs_failures_of_deleted_ones() -> None:
    first = _named("run-a", "2026-11-30T12:00:00Z")
    retry = _named("run-b", "2026-11-30T12:01:00Z")
    assert attempt_of(first, [first], None, None) == 1
    assert attempt_of(retry, [first, retry], {"status": {"failed": 1}}, 1) == 2
    # The watchdog deleted run-a: gone from the watch, counted by the Job.
    assert attempt_of(retry, [retry], {"status": {"failed": 1}}, 1) == 2
    assert attempt_of(retry, [retry], {"status": {}}, 3) == 3  # never lower than written

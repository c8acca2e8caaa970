"""The planner: phase, conditions and actions from what the operator observed (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from agentcore_training.api.contract import ProgressReport, ProgressState
from agentcore_training.api.resource import TrainingJob
from agentcore_training.api.status import Metrics
from agentcore_training.controller.phase import plan

NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
UID = "7d0c3a4e-1111-4222-8333-944455556666"


def _tj(status: dict[str, Any] | None = None, **spec: Any) -> TrainingJob:
    return TrainingJob.model_validate(
        {
            "metadata": {"name": "run", "namespace": "ns", "uid": UID, "generation": 1},
            "spec": {"agentId": "a", "queries": {"configMapRef": {"name": "q"}}, **spec},
            "status": status or {},
        }
    )


def _job(*conditions: tuple[str, str, str], suspend: bool = False) -> dict[str, Any]:
    return {
        "metadata": {"name": "run-1234"},
        "spec": {"suspend": suspend},
        "status": {
            "conditions": [
                {"type": t, "status": "True", "reason": r, "message": m} for t, r, m in conditions
            ]
        },
    }


def _pod(phase: str, state: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": "run-1234-abcde"},
        "status": {"phase": phase, "containerStatuses": [{"name": "trainer", "state": state}]},
    }


def _summary(state: ProgressState, iteration: int, cost: str) -> str:
    return ProgressReport(
        iteration=iteration,
        total_iterations=10,
        state=state,
        metrics=Metrics(avg_reward=0.5),
        cost_usd=Decimal(cost),
        budget_usd=Decimal("10.00"),
        message="done",
    ).model_dump_json(by_alias=True)


def _condition(patch: dict[str, Any], type_: str) -> dict[str, Any]:
    return next(c for c in patch["conditions"] if c["type"] == type_)


def _queued() -> dict[str, Any]:
    first = plan(_tj(), None, [], now=NOW, cancel_grace_seconds=30)
    return first.status


def test_a_new_trainingjob_gets_a_job_and_is_queued() -> None:
    result = plan(_tj(), None, [], now=NOW, cancel_grace_seconds=30)
    assert result.create_job
    assert result.status["phase"] == "Queued"
    assert result.status["jobId"] == UID
    assert result.status["jobName"].startswith("run-")
    assert result.status["cost"] == {
        "costUsd": "0",
        "budgetUsd": "10.00",
        "budgetRemainingUsd": "10.00",
        "budgetStatus": "ok",
    }
    assert _condition(result.status, "Running")["status"] == "False"
    assert [e.reason for e in result.events] == ["JobCreated"]


def test_a_running_pod_makes_it_running_once() -> None:
    queued = _tj(_queued())
    pod = _pod("Running", {"running": {"startedAt": "2026-11-30T11:59:00Z"}})
    result = plan(queued, _job(), [pod], now=NOW, cancel_grace_seconds=30)
    assert not result.create_job
    assert result.status["phase"] == "Running"
    assert result.status["startTime"] == "2026-11-30T11:59:00Z"
    assert [e.reason for e in result.events] == ["TrainerRunning"]
    running = _tj({**queued.status.to_wire(), **result.status})
    again = plan(running, _job(), [pod], now=NOW + timedelta(seconds=5), cancel_grace_seconds=30)
    assert again.events == []
    assert "startTime" not in again.status


def test_completion_uses_the_termination_summary() -> None:
    terminated = {
        "terminated": {"exitCode": 0, "message": _summary(ProgressState.COMPLETED, 10, "0.42")}
    }
    result = plan(
        _tj(_queued()),
        _job(("Complete", "", "")),
        [_pod("Succeeded", terminated)],
        now=NOW,
        cancel_grace_seconds=30,
    )
    assert result.status["phase"] == "Completed"
    assert result.status["progress"]["percentComplete"] == 100
    assert result.status["cost"]["costUsd"] == "0.42"
    assert _condition(result.status, "Completed")["reason"] == "TrainingCompleted"
    assert result.status["completionTime"] == "2026-11-30T12:00:00Z"


def test_budget_exhaustion_completes_with_its_condition() -> None:
    summary = _summary(ProgressState.BUDGET_EXHAUSTED, 4, "9.99")
    result = plan(
        _tj(_queued()),
        _job(("Complete", "", "")),
        [_pod("Succeeded", {"terminated": {"exitCode": 0, "message": summary}})],
        now=NOW,
        cancel_grace_seconds=30,
    )
    assert result.status["phase"] == "Completed"
    assert _condition(result.status, "BudgetExhausted")["status"] == "True"
    assert result.status["progress"]["currentIteration"] == 4


def _running_at(iteration: int, cost: str) -> dict[str, Any]:
    """A queued status after progress reports took it to `iteration` and `cost`."""
    status = _queued()
    status["progress"] = {
        "currentIteration": iteration,
        "totalIterations": 10,
        "percentComplete": iteration * 10,
    }
    status["cost"] = {"costUsd": cost, "budgetUsd": "10.00", "budgetRemainingUsd": "9"}
    return status


def test_a_completed_job_without_a_summary_keeps_the_last_reported_progress() -> None:
    """The old planner wrote 100 % and "the budget held" here: a completion it never saw."""
    result = plan(
        _tj(_running_at(4, "1.5")),
        _job(("Complete", "", "")),
        [_pod("Succeeded", {"terminated": {"exitCode": 0, "message": "not json"}})],
        now=NOW,
        cancel_grace_seconds=30,
    )
    assert result.status["phase"] == "Completed"
    assert "progress" not in result.status  # the last reported: 4 of 10, 40 %
    assert "cost" not in result.status
    lost = _condition(result.status, "SummaryLost")
    assert lost["status"] == "True"
    assert lost["reason"] == "FinalSummaryLost"
    assert _condition(result.status, "Completed")["reason"] == "FinalSummaryLost"
    assert all(c["type"] != "BudgetExhausted" for c in result.status["conditions"])
    assert [e.reason for e in result.events] == ["FinalSummaryLost"]


def test_a_spend_above_the_budget_is_shown_with_budget_exceeded() -> None:
    result = plan(
        _tj(_running_at(4, "10.5")),
        _job(),
        [_pod("Running", {"running": {"startedAt": "2026-11-30T11:59:00Z"}})],
        now=NOW,
        cancel_grace_seconds=30,
    )
    exceeded = _condition(result.status, "BudgetExceeded")
    assert exceeded["status"] == "True"
    assert "10.5 USD of a 10.00 USD budget" in exceeded["message"]
    assert "BudgetExceeded" in [e.reason for e in result.events]
    within = plan(
        _tj(_running_at(4, "9.5")),
        _job(),
        [_pod("Running", {"running": {"startedAt": "2026-11-30T11:59:00Z"}})],
        now=NOW,
        cancel_grace_seconds=30,
    )
    assert all(c["type"] != "BudgetExceeded" for c in within.status.get("conditions", []))


def test_failure_carries_the_reason_and_the_trainers_words() -> None:
    result = plan(
        _tj(_queued()),
        _job(("Failed", "BackoffLimitExceeded", "Job has reached the specified backoff limit")),
        [_pod("Failed", {"terminated": {"exitCode": 1, "message": "CUDA out of memory"}})],
        now=NOW,
        cancel_grace_seconds=30,
    )
    assert result.status["phase"] == "Failed"
    failed = _condition(result.status, "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert "exit code 1: CUDA out of memory" in failed["message"]
    assert result.events[0].type == "Warning"


def test_cancel_waits_for_the_grace_period_then_deletes_the_job() -> None:
    running_pod = _pod("Running", {"running": {"startedAt": "2026-11-30T11:59:00Z"}})
    first = plan(
        _tj(_queued(), cancel=True), _job(), [running_pod], now=NOW, cancel_grace_seconds=30
    )
    assert not first.delete_job
    assert first.requeue_after == 30
    assert _condition(first.status, "Cancelled")["reason"] == "CancelRequested"
    asked = _tj({**_queued(), **first.status}, cancel=True)
    later = plan(
        asked, _job(), [running_pod], now=NOW + timedelta(seconds=10), cancel_grace_seconds=30
    )
    assert later.requeue_after == 20
    assert not later.delete_job
    done = plan(
        asked, _job(), [running_pod], now=NOW + timedelta(seconds=31), cancel_grace_seconds=30
    )
    assert done.delete_job
    assert done.status["phase"] == "Cancelled"
    assert done.status["cancelledAt"] == "2026-11-30T12:00:31Z"


def test_cancel_before_the_trainer_runs_is_immediate() -> None:
    result = plan(_tj(_queued(), cancel=True), _job(), [], now=NOW, cancel_grace_seconds=30)
    assert result.delete_job
    assert result.status["phase"] == "Cancelled"


def test_a_cancel_that_comes_after_the_trainer_finished_is_a_completion() -> None:
    """The trainer ran all its iterations (or reached the budget) before it heard of the cancel:
    the run completed, and its phase says so; the Cancelled condition says the cancel came late."""
    for state in (ProgressState.COMPLETED, ProgressState.BUDGET_EXHAUSTED):
        running_pod = _pod("Running", {"running": {"startedAt": "2026-11-30T11:59:00Z"}})
        asked = plan(
            _tj(_queued(), cancel=True), _job(), [running_pod], now=NOW, cancel_grace_seconds=30
        )
        finished = _pod(
            "Succeeded", {"terminated": {"exitCode": 0, "message": _summary(state, 10, "0.42")}}
        )
        result = plan(
            _tj({**_queued(), **asked.status}, cancel=True),
            _job(("Complete", "", "")),
            [finished],
            now=NOW + timedelta(seconds=5),
            cancel_grace_seconds=30,
        )
        assert result.status["phase"] == "Completed", state
        assert "cancelledAt" not in result.status
        assert not result.delete_job  # the finished Job and its logs are kept (ttl)
        late = _condition(result.status, "Cancelled")
        assert (late["status"], late["reason"]) == ("False", "FinishedFirst")


def test_a_trainer_that_stopped_for_the_cancel_is_cancelled() -> None:
    summary = _summary(ProgressState.CANCELLED, 3, "0.10")
    result = plan(
        _tj(_queued(), cancel=True),
        _job(("Complete", "", "")),
        [_pod("Succeeded", {"terminated": {"exitCode": 0, "message": summary}})],
        now=NOW,
        cancel_grace_seconds=30,
    )
    assert result.status["phase"] == "Cancelled"


def test_a_finished_trainingjob_never_gets_a_new_job() -> None:
    for phase in ("Completed", "Failed", "Cancelled"):
        status = {"phase": phase, "jobName": "x", "observedGeneration": 1}
        result = plan(_tj(status), None, [], now=NOW, cancel_grace_seconds=1)
        assert not result.create_job
        assert result.status == {}
    finished = _tj({"phase": "Completed", "observedGeneration": 1}, cancel=True)
    finished = finished.model_copy(update={"metadata": {**finished.metadata, "generation": 2}})
    cancel_finished = plan(finished, _job(), [], now=NOW, cancel_grace_seconds=1)
    assert cancel_finished.status == {"observedGeneration": 2}  # seen; nothing else changes
    assert not cancel_finished.delete_job


def test_a_job_deleted_under_a_live_run_fails_it() -> None:
    result = plan(_tj(_queued()), None, [], now=NOW, cancel_grace_seconds=30)
    result = plan(
        _tj({**_queued(), "phase": "Running"}), None, [], now=NOW, cancel_grace_seconds=30
    )
    assert not result.create_job
    assert result.status["phase"] == "Failed"
    assert _condition(result.status, "Failed")["reason"] == "JobDeleted"


def test_suspend_and_resume() -> None:
    suspended = plan(_tj(_queued(), suspend=True), _job(), [], now=NOW, cancel_grace_seconds=30)
    assert suspended.suspend_job is True
    assert _condition(suspended.status, "Suspended")["status"] == "True"
    state = {**_queued(), **suspended.status}
    resumed = plan(_tj(state), _job(suspend=True), [], now=NOW, cancel_grace_seconds=30)
    assert resumed.suspend_job is False
    assert _condition(resumed.status, "Suspended")["status"] == "False"


def test_conditions_keep_their_transition_time_while_unchanged() -> None:
    queued = _queued()
    again = plan(_tj(queued), _job(), [], now=NOW + timedelta(minutes=5), cancel_grace_seconds=30)
    assert again.status == {}  # nothing changed, nothing written

"""The stall watchdog in the planner: a silent trainer's pod is deleted, and a Job that
fails after that fails with ProgressDeadlineExceeded (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from agentcore_training.api.contract import ProgressReport, ProgressState
from agentcore_training.api.resource import TrainingJob
from agentcore_training.controller.phase import plan
from agentcore_training.controller.progress import status_from_report
from tests.unit.test_controller_phase import _job, _queued

NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
UID = "7d0c3a4e-1111-4222-8333-944455556666"
STARTED = "2026-11-30T11:40:00Z"  # the pod's trainer started 20 minutes before NOW
LONG_AGO = NOW - timedelta(hours=1)


def _tj(status: dict[str, Any], deadline: int | None = None) -> TrainingJob:
    runtime = {} if deadline is None else {"progressDeadlineSeconds": deadline}
    return TrainingJob.model_validate(
        {
            "metadata": {"name": "run", "namespace": "ns", "uid": UID, "generation": 1},
            "spec": {
                "agentId": "a",
                "queries": {"configMapRef": {"name": "q"}},
                "runtime": runtime,
            },
            "status": status,
        }
    )


def _pod(
    name: str = "run-1234-abcde", started: str = STARTED, *, deleting: bool = False
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "uid": f"uid-{name}"}
    if deleting:
        metadata["deletionTimestamp"] = "2026-11-30T12:00:00Z"
    return {
        "metadata": metadata,
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {"name": "trainer", "state": {"running": {"startedAt": started}}}
            ],
        },
    }


def _failed_pod(name: str, started: str) -> dict[str, Any]:
    state = {"terminated": {"exitCode": 1, "startedAt": started, "finishedAt": started}}
    return {
        "metadata": {"name": name, "uid": f"uid-{name}"},
        "status": {"phase": "Failed", "containerStatuses": [{"name": "trainer", "state": state}]},
    }


def _reported(at: datetime) -> dict[str, Any]:
    """A running status after a report (iteration 3) the endpoint accepted at `at`."""
    report = ProgressReport(
        iteration=3,
        total_iterations=10,
        state=ProgressState.RUNNING,
        cost_usd=Decimal("0.3"),
        budget_usd=Decimal("10.00"),
    )
    return {**_queued(), "phase": "Running", **status_from_report(report, None, at)}


def _plan(tj: TrainingJob, pods: list[dict[str, Any]], now: datetime, **kw: Any) -> Any:
    return plan(tj, _job(), pods, now=now, cancel_grace_seconds=30, watching_since=LONG_AGO, **kw)


def _stalled(status: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions", []) if c["type"] == "Hung"), None)


def test_a_report_within_the_deadline_keeps_the_pod_and_schedules_a_re_check() -> None:
    tj = _tj(_reported(NOW - timedelta(seconds=600)))  # the default deadline: 900 s
    assert tj.status.last_report_time == NOW - timedelta(seconds=600)
    result = _plan(tj, [_pod()], NOW)
    assert result.delete_pods == []
    assert result.requeue_after == 300
    assert _stalled(result.status) is None


def test_silence_past_the_deadline_deletes_the_pod_with_stalled_and_a_warning() -> None:
    tj = _tj(_reported(NOW - timedelta(seconds=30)), deadline=20)
    result = _plan(tj, [_pod()], NOW)
    assert result.delete_pods == [("run-1234-abcde", "uid-run-1234-abcde")]
    stalled = _stalled(result.status)
    assert stalled is not None
    assert (stalled["status"], stalled["reason"]) == ("True", "ProgressDeadlineExceeded")
    assert "no progress report for 30 s" in stalled["message"]
    assert "run-1234-abcde" in stalled["message"]
    assert [(e.type, e.reason) for e in result.events] == [("Warning", "ProgressDeadlineExceeded")]
    assert result.status["phase"] == "Running"  # the Job retries the pod: not failed yet


def test_a_pod_that_never_reported_is_timed_from_its_start() -> None:
    tj = _tj(_queued(), deadline=900)  # no report at all yet
    fresh = _plan(tj, [_pod(started="2026-11-30T11:59:00Z")], NOW)
    assert fresh.delete_pods == []
    assert fresh.requeue_after == 840
    silent = _plan(tj, [_pod(started=STARTED)], NOW)  # 1200 s without a report
    assert [name for name, _ in silent.delete_pods] == ["run-1234-abcde"]


def test_a_retried_pod_gets_a_fresh_deadline_from_its_own_start() -> None:
    tj = _tj(_reported(NOW - timedelta(seconds=2000)), deadline=900)
    result = _plan(tj, [_pod("run-retry", started="2026-11-30T11:55:00Z")], NOW)
    assert result.delete_pods == []
    assert result.requeue_after == 600


def test_an_operator_restart_never_counts_the_silence_it_could_not_hear() -> None:
    tj = _tj(_reported(NOW - timedelta(seconds=2000)), deadline=900)
    restarted = NOW - timedelta(seconds=60)
    result = plan(tj, _job(), [_pod()], now=NOW, cancel_grace_seconds=30, watching_since=restarted)
    assert result.delete_pods == []
    assert result.requeue_after == 840


def test_a_pod_already_ended_or_being_deleted_is_not_deleted_again() -> None:
    tj = _tj(_reported(NOW - timedelta(seconds=30)), deadline=20)
    assert _plan(tj, [_pod(deleting=True)], NOW).delete_pods == []
    first = _plan(tj, [_pod()], NOW)
    after = _tj({**tj.status.to_wire(), **first.status}, deadline=20)
    # The watch has not shown the deletion yet: the same pod, still running.
    again = _plan(after, [_pod()], NOW + timedelta(seconds=1))
    assert again.delete_pods == []
    assert again.events == []


def test_reports_after_a_stall_clear_it() -> None:
    tj = _tj(_reported(NOW - timedelta(seconds=30)), deadline=20)
    first = _plan(tj, [_pod()], NOW)
    later = NOW + timedelta(seconds=10)
    status = {**tj.status.to_wire(), **first.status}
    status["lastReportTime"] = "2026-11-30T12:00:10Z"
    retried = _plan(_tj(status, deadline=20), [_pod("run-retry", "2026-11-30T12:00:05Z")], later)
    stalled = _stalled(retried.status)
    assert stalled is not None
    assert (stalled["status"], stalled["reason"]) == ("False", "ReportsResumed")
    assert retried.delete_pods == []


def _stalled_then_failed(pods_after: list[dict[str, Any]]) -> dict[str, Any]:
    tj = _tj(_reported(NOW - timedelta(seconds=30)), deadline=20)
    stalled = _plan(tj, [_pod()], NOW)
    status = {**tj.status.to_wire(), **stalled.status}
    failed_job = _job(("Failed", "BackoffLimitExceeded", "Job has reached the backoff limit"))
    later = NOW + timedelta(seconds=20)
    result = plan(
        _tj(status, deadline=20),
        failed_job,
        pods_after,
        now=later,
        cancel_grace_seconds=30,
        watching_since=LONG_AGO,
    )
    return result.status


def test_a_job_that_fails_after_the_watchdog_ended_its_last_attempt_says_so() -> None:
    # The deleted pod is gone from the watch; an earlier attempt's failed pod remains.
    status = _stalled_then_failed([_failed_pod("run-first", "2026-11-30T11:00:00Z")])
    assert status["phase"] == "Failed"
    failed = next(c for c in status["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "ProgressDeadlineExceeded"
    assert "no progress report for 30 s" in failed["message"]
    assert "backoff limit" in failed["message"]


def test_a_later_attempt_that_crashed_keeps_its_own_reason() -> None:
    status = _stalled_then_failed([_failed_pod("run-retry", "2026-11-30T12:00:10Z")])
    failed = next(c for c in status["conditions"] if c["type"] == "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"

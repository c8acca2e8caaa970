"""Every status patch the operator's builders produce validates as a TrainingJob status.

A JSON merge patch (RFC 7386, what the operator sends to the status subresource) is applied
to the stored object after each step of a run's life; the result must validate through
`TrainingJob.model_validate` (extra fields are forbidden), as the shim reads it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from agentcore_training.api.contract import ProgressReport, ProgressState, TerminationSummary
from agentcore_training.api.resource import TrainingJob
from agentcore_training.api.status import Metrics, Phase, TrainingJobStatus
from agentcore_training.controller.phase import plan
from agentcore_training.controller.progress import status_from_report

NOW = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)
UID = "7d0c3a4e-1111-4222-8333-944455556666"


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


class Stored:
    """A TrainingJob as the apiserver holds it, patched as the operator patches it."""

    def __init__(self, **spec: Any) -> None:
        self.body: dict[str, Any] = {
            "apiVersion": "training.agentcore.dev/v1alpha1",
            "kind": "TrainingJob",
            "metadata": {"name": "run", "namespace": "ns", "uid": UID, "generation": 1},
            "spec": {"agentId": "a", "queries": {"configMapRef": {"name": "q"}}, **spec},
        }

    @property
    def tj(self) -> TrainingJob:
        return TrainingJob.model_validate(self.body)

    def apply(self, patch: dict[str, Any]) -> TrainingJob:
        self.body = merge_patch(self.body, {"status": patch})
        return self.tj


def _job(*conditions: tuple[str, str], suspend: bool = False) -> dict[str, Any]:
    return {
        "metadata": {"name": "run-1234"},
        "spec": {"suspend": suspend},
        "status": {
            "conditions": [{"type": t, "status": "True", "reason": r} for t, r in conditions]
        },
    }


def _pod(phase: str, state: dict[str, Any]) -> dict[str, Any]:
    return {"status": {"phase": phase, "containerStatuses": [{"name": "trainer", "state": state}]}}


RUNNING = _pod("Running", {"running": {"startedAt": "2026-11-30T11:59:00Z"}})


def _report(iteration: int, state: ProgressState = ProgressState.RUNNING) -> ProgressReport:
    return ProgressReport(
        iteration=iteration,
        total_iterations=10,
        state=state,
        metrics=Metrics(avg_reward=iteration / 10, loss=0.1),
        cost_usd=Decimal("0.1") * iteration,
        budget_usd=Decimal("10.00"),
        best_checkpoint_id="ckpt-000005",
    )


def _step(stored: Stored, job: dict[str, Any] | None, pods: list[dict[str, Any]], at: float) -> Any:
    result = plan(stored.tj, job, pods, now=NOW + timedelta(seconds=at), cancel_grace_seconds=30)
    stored.apply(result.status)
    return result


def _summary(report: ProgressReport, reason: str) -> str:
    return TerminationSummary.of_report(report, reason=reason, exit_code=0).to_message().decode()


@pytest.mark.parametrize("end", ["completed", "budget", "failed", "cancelled", "deleted"])
def test_a_whole_life_of_patches_validates(end: str) -> None:
    stored = Stored()
    _step(stored, None, [], 0)
    assert stored.tj.status.phase == Phase.QUEUED
    _step(stored, _job(), [RUNNING], 1)
    assert stored.tj.status.phase == Phase.RUNNING
    for iteration in (1, 2, 3):
        received = NOW.replace(microsecond=0) + timedelta(seconds=iteration)
        stored.apply(status_from_report(_report(iteration), stored.tj.status.history, received))
    status = stored.tj.status
    assert status.progress is not None
    assert status.progress.current_iteration == 3
    assert status.history is not None
    assert status.history.iterations == [1, 2, 3]
    assert status.best_checkpoint_id == "ckpt-000005"
    if end == "completed":
        done = _pod(
            "Succeeded",
            {
                "terminated": {
                    "exitCode": 0,
                    "message": _summary(_report(10, ProgressState.COMPLETED), "Completed"),
                }
            },
        )
        _step(stored, _job(("Complete", "")), [done], 2)
        assert stored.tj.status.phase == Phase.COMPLETED
    elif end == "budget":
        done = _pod(
            "Succeeded",
            {
                "terminated": {
                    "exitCode": 0,
                    "message": _summary(
                        _report(4, ProgressState.BUDGET_EXHAUSTED), "BudgetExhausted"
                    ),
                }
            },
        )
        _step(stored, _job(("Complete", "")), [done], 2)
        assert stored.tj.status.phase == Phase.COMPLETED
    elif end == "failed":
        done = _pod("Failed", {"terminated": {"exitCode": 1, "message": "Traceback: boom"}})
        _step(stored, _job(("Failed", "BackoffLimitExceeded")), [done], 2)
        assert stored.tj.status.phase == Phase.FAILED
    elif end == "cancelled":
        stored.body["spec"]["cancel"] = True
        stored.body["metadata"]["generation"] = 2
        first = _step(stored, _job(), [RUNNING], 2)
        assert first.requeue_after == 30
        _step(stored, _job(), [RUNNING], 40)
        assert stored.tj.status.phase == Phase.CANCELLED
        assert stored.tj.status.cancelled_at == datetime(2026, 11, 30, 12, 0, 40, tzinfo=UTC)
    else:
        _step(stored, None, [], 2)
        assert stored.tj.status.phase == Phase.FAILED
    final = stored.tj.status
    assert final.completion_time is not None
    assert final.completion_time.microsecond == 0
    assert final.observed_generation == stored.body["metadata"]["generation"]
    assert final.job_id == UID
    # What validated is what was written: the typed view dumps back to the stored status.
    assert final.to_wire() == TrainingJobStatus.model_validate(stored.body["status"]).to_wire()
    assert final.model_dump(mode="json", by_alias=True, exclude_none=True) == stored.body["status"]


def test_a_patch_writes_only_the_fields_it_was_given() -> None:
    assert TrainingJobStatus().to_patch() == {}
    patch = TrainingJobStatus(observed_generation=3).to_patch()
    assert patch == {"observedGeneration": 3}  # no default conditions: [] to clear them
    updated = TrainingJobStatus(phase=Phase.RUNNING).updated(start_time="2026-11-30T11:59:00Z")
    assert updated.to_patch() == {"phase": "Running", "startTime": "2026-11-30T11:59:00Z"}

"""TrainingJobs read back into the methods' results (pure).

Every result is built from the `TrainingJob` model (api/resource.py) and the snake_case view
of its parts, so a field added to the status appears in JSON-RPC by construction, and every
default (iterations, budget) is the api models' own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from agentcore_training.api.resource import TrainingJob
from agentcore_training.api.status import Cost, History, Phase, Progress
from agentcore_training.api.timestamps import rfc3339
from agentcore_training.rpc import errors
from agentcore_training.rpc.schemas import (
    FINISHED_STATUSES,
    LIST_LIMIT_DEFAULT,
    CancelResult,
    GetStatusResult,
    JobStatus,
    JobSummary,
    StartGrpoResult,
)

_STATUSES: dict[Phase, JobStatus] = {
    Phase.QUEUED: "queued",
    Phase.RUNNING: "running",
    Phase.COMPLETED: "completed",
    Phase.FAILED: "failed",
    Phase.CANCELLED: "cancelled",
}

CreatedKey = tuple[str, str]
"""How list_jobs orders jobs, stably: creation time, then uid."""


def status_of(trainingjob: TrainingJob) -> JobStatus:
    """Lower-case status.phase; a job without a phase yet is queued."""
    phase = trainingjob.status.phase
    return "queued" if phase is None else _STATUSES[phase]


def created_at(trainingjob: TrainingJob) -> str:
    return str(trainingjob.metadata.get("creationTimestamp", ""))


def progress_of(trainingjob: TrainingJob) -> Progress:
    return trainingjob.progress()


def cost_of(trainingjob: TrainingJob) -> Cost:
    return trainingjob.cost()


def metrics_of(trainingjob: TrainingJob) -> dict[str, Any]:
    metrics = trainingjob.status.metrics
    return {} if metrics is None else metrics.to_snake()


def start_result(trainingjob: TrainingJob) -> StartGrpoResult:
    return StartGrpoResult(
        job_id=trainingjob.uid,
        agent_id=trainingjob.spec.agent_id,
        status=status_of(trainingjob),
        total_iterations=progress_of(trainingjob).total_iterations,
        budget_usd=trainingjob.spec.config.max_budget_usd,
        created_at=created_at(trainingjob),
        namespace=trainingjob.namespace,
        name=trainingjob.name,
    )


def status_result(trainingjob: TrainingJob) -> GetStatusResult:
    status = trainingjob.status
    return GetStatusResult(
        job_id=trainingjob.uid,
        agent_id=trainingjob.spec.agent_id,
        status=status_of(trainingjob),
        progress=progress_of(trainingjob),
        metrics=metrics_of(trainingjob),
        cost=cost_of(trainingjob),
        best_checkpoint_id=status.best_checkpoint_id,
        history=status.history or History(),
        namespace=trainingjob.namespace,
        name=trainingjob.name,
        created_at=created_at(trainingjob),
        message=status.message,
    )


def summary_of(trainingjob: TrainingJob) -> JobSummary:
    progress = progress_of(trainingjob)
    return JobSummary(
        job_id=trainingjob.uid,
        agent_id=trainingjob.spec.agent_id,
        status=status_of(trainingjob),
        current_iteration=progress.current_iteration,
        total_iterations=progress.total_iterations,
        namespace=trainingjob.namespace,
        name=trainingjob.name,
        created_at=created_at(trainingjob),
    )


def created_key(trainingjob: TrainingJob) -> CreatedKey:
    return (created_at(trainingjob), trainingjob.uid)


def list_result_json(
    summaries: Iterable[tuple[CreatedKey, dict[str, Any]]],
    *,
    offset: int = 0,
    limit: int = LIST_LIMIT_DEFAULT,
) -> dict[str, Any]:
    """The list_jobs result from (created_key, summary JSON) pairs: oldest first, `limit`
    of them after `offset`; the JSON of a ListJobsResult, from summaries built once per
    object version."""
    ordered = sorted(summaries, key=lambda pair: pair[0])
    jobs = [summary for _, summary in ordered[offset : offset + limit]]
    return {"success": True, "jobs": jobs, "count": len(jobs), "total_count": len(ordered)}


def cancel_result(trainingjob: TrainingJob, now: datetime) -> CancelResult:
    cancelled_at = trainingjob.status.cancelled_at
    return CancelResult(
        job_id=trainingjob.uid,
        status="cancelled",
        cancelled_at=rfc3339(cancelled_at or now),
        namespace=trainingjob.namespace,
        name=trainingjob.name,
    )


def check_cancellable(trainingjob: TrainingJob) -> None:
    """-32002 when the job already finished (cancel of a queued or running job is fine)."""
    status = status_of(trainingjob)
    if status in FINISHED_STATUSES:
        raise errors.job_already_finished(trainingjob.uid, status)

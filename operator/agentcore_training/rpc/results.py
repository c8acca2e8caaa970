"""TrainingJobs read back into the methods' results (pure).

Every result is built from the `TrainingJob` model (api/resource.py) and the snake_case view
of its parts, so a field added to the status appears in JSON-RPC by construction, and every
default (iterations, budget) is the api models' own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from agentcore_training.api.contract import checkpoint_id as checkpoint_of
from agentcore_training.api.evaluation import EvaluationRecord, EvaluationStatus
from agentcore_training.api.resource import TrainingJob
from agentcore_training.api.status import Cost, History, Phase, Progress
from agentcore_training.api.timestamps import rfc3339
from agentcore_training.rpc import errors
from agentcore_training.rpc.evaluate_schemas import (
    BaselineComparisonResult,
    EvaluateResult,
    EvaluationFigures,
)
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
    """status.metrics in snake_case, numbers only as the original returned (the per-epoch
    list is a field of its own: `epochs`)."""
    metrics = trainingjob.status.metrics
    return {} if metrics is None else metrics.to_snake(exclude={"epochs"})


def start_result(trainingjob: TrainingJob, warnings: Sequence[str] = ()) -> StartGrpoResult:
    return StartGrpoResult(
        job_id=trainingjob.uid,
        agent_id=trainingjob.spec.agent_id,
        status=status_of(trainingjob),
        total_iterations=progress_of(trainingjob).total_iterations,
        budget_usd=trainingjob.spec.config.max_budget_usd,
        created_at=created_at(trainingjob),
        namespace=trainingjob.namespace,
        name=trainingjob.name,
        warnings=list(warnings),
    )


def status_result(trainingjob: TrainingJob) -> GetStatusResult:
    status = trainingjob.status
    return GetStatusResult(
        job_id=trainingjob.uid,
        agent_id=trainingjob.spec.agent_id,
        status=status_of(trainingjob),
        progress=progress_of(trainingjob),
        metrics=metrics_of(trainingjob),
        epochs=status.metrics.epochs if status.metrics is not None else None,
        cost=cost_of(trainingjob),
        best_checkpoint_id=status.best_checkpoint_id,
        history=status.history or History(),
        output=status.output,
        namespace=trainingjob.namespace,
        name=trainingjob.name,
        created_at=created_at(trainingjob),
        message=status.message,
        evaluation=status.evaluation,
    )


def evaluation_result(trainingjob: TrainingJob, checkpoint_id: str | None) -> EvaluateResult:
    """training.evaluate: the latest recorded evaluation, or the one of `checkpoint_id`.

    The baseline, latest and best evaluations are recorded in full; the others of the run
    only on the held-out curve (success rate and mean reward, no tests). -32006 before the
    baseline (or with the evaluation off), -32007 for a checkpoint no evaluation has.
    """
    evaluation = trainingjob.status.evaluation
    baseline = evaluation.baseline if evaluation is not None else None
    if evaluation is None or baseline is None:
        why = evaluation.message if evaluation is not None else None
        raise errors.not_evaluated(trainingjob.uid, status_of(trainingjob), why)
    records = [r for r in (evaluation.latest, evaluation.best, baseline) if r is not None]
    if checkpoint_id is None:
        return _record_result(trainingjob, evaluation, records[0], baseline)
    for record in records:
        if record.checkpoint_id == checkpoint_id:
            return _record_result(trainingjob, evaluation, record, baseline)
    curve = evaluation.history
    points = {} if curve is None else {checkpoint_of(i): n for n, i in enumerate(curve.iterations)}
    if curve is None or checkpoint_id not in points:
        known = {r.checkpoint_id: r.iteration for r in records if r.checkpoint_id is not None}
        known.update({c: curve.iterations[n] for c, n in points.items()} if curve else {})
        raise errors.checkpoint_not_found(
            trainingjob.uid, checkpoint_id, sorted(known, key=lambda c: known[c])
        )
    n = points[checkpoint_id]
    success, reward = curve.success_rate[n], curve.mean_reward[n]
    return EvaluateResult(
        job_id=trainingjob.uid,
        checkpoint_id=checkpoint_id,
        iteration=curve.iterations[n],
        metrics=EvaluationFigures(success_rate=success, mean_reward=reward),
        baseline_comparison=BaselineComparisonResult(
            success_rate_improvement=success - baseline.metrics.success_rate,
            avg_reward_improvement=reward - baseline.metrics.mean_reward,
            p_value=None,
            statistically_significant=None,
        ),
        queries_evaluated=evaluation.held_out_queries,
        evaluation_duration_ms=None,
        cost_usd=None,
        best=False,
        baseline_metrics=EvaluationFigures(**baseline.metrics.to_snake()),
        metric=evaluation.metric,
        status=status_of(trainingjob),
        namespace=trainingjob.namespace,
        name=trainingjob.name,
    )


def _record_result(
    trainingjob: TrainingJob,
    evaluation: EvaluationStatus,
    record: EvaluationRecord,
    baseline: EvaluationRecord,
) -> EvaluateResult:
    comparison = record.comparison
    return EvaluateResult(
        job_id=trainingjob.uid,
        checkpoint_id=record.checkpoint_id,
        iteration=record.iteration,
        metrics=EvaluationFigures(**record.metrics.to_snake()),
        baseline_comparison=(
            None if comparison is None else BaselineComparisonResult(**comparison.to_snake())
        ),
        queries_evaluated=record.queries_evaluated,
        evaluation_duration_ms=record.duration_ms,
        cost_usd=record.cost_usd,
        best=evaluation.best is not None and record.iteration == evaluation.best.iteration,
        baseline_metrics=EvaluationFigures(**baseline.metrics.to_snake()),
        metric=evaluation.metric,
        status=status_of(trainingjob),
        namespace=trainingjob.namespace,
        name=trainingjob.name,
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

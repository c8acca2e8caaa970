"""Progress reports from trainers: acceptance rules and the status they become (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from agentcore_training.api.contract import ProgressReport, TerminationSummary, message_object
from agentcore_training.api.status import (
    HISTORY_MAX_POINTS,
    Cost,
    History,
    Progress,
    TrainingJobStatus,
)
from agentcore_training.controller.objects import pods_per_attempt


@dataclass(frozen=True)
class Refusal:
    """Why a report is refused: the HTTP status and a message for the trainer's log."""

    http_status: int
    message: str


@dataclass(frozen=True)
class Accepted:
    """The last report accepted for a job: later ones may not go back from it."""

    iteration: int
    cost_usd: Decimal
    pod_name: str | None = None
    """The pod (attempt) that sent it: a new attempt may restart the iteration count."""


def check_report(
    report: ProgressReport,
    *,
    pod_job_id: str,
    budget_usd: Decimal,
    last: Accepted | None,
) -> Refusal | None:
    """None when the report may be applied; otherwise why not."""
    if report.job_id is not None and report.job_id != pod_job_id:
        return Refusal(403, f"this pod belongs to job {pod_job_id}, not {report.job_id}")
    if report.budget_usd != budget_usd:
        return Refusal(
            422, f"budgetUsd {report.budget_usd} is not the job's maxBudgetUsd {budget_usd}"
        )
    new_attempt = (
        last is not None
        and last.pod_name is not None
        and report.pod_name is not None
        and report.pod_name != last.pod_name
    )
    # A retried pod without a surviving checkpoint starts again from iteration 0; its cost
    # carries over (the attempt handshake told it what was spent), so cost never goes down.
    if last is not None and not new_attempt and report.iteration < last.iteration:
        return Refusal(409, f"iteration went down: {report.iteration} after {last.iteration}")
    if last is not None and report.cost_usd < last.cost_usd:
        return Refusal(409, f"costUsd went down: {report.cost_usd} after {last.cost_usd}")
    return None


def attempt_of(
    pod: dict[str, Any],
    pods: list[dict[str, Any]],
    job: dict[str, Any] | None,
    recorded: int | None,
) -> int:
    """The attempt a starting trainer pod is: 1 + the Job's trainer pods before it.

    `pods` are the job's rank-0 pods (ClusterState.pods_of). Pods before it are those
    created earlier that the watch still shows, or, when more, the failures the Job counted
    (a pod deleted since, as a hung one the watchdog ended, is gone from the watch but
    counted there). Never lower than the attempt already written.
    """
    created = str(pod["metadata"].get("creationTimestamp") or "")
    name = str(pod["metadata"]["name"])
    earlier = {
        str(p["metadata"]["name"])
        for p in pods
        if str(p["metadata"].get("creationTimestamp") or "") < created
    } - {name}
    # Each failed attempt of a multi-pod Job counts every pod of it.
    failed = int(((job or {}).get("status") or {}).get("failed") or 0) // pods_per_attempt(job)
    return max(len(earlier) + 1, failed + 1, recorded or 1)


def downsample(iterations: list[int], values: list[float], max_points: int) -> History:
    """Keep at most `max_points`, evenly spread, always with the first and latest point."""
    if len(iterations) <= max_points:
        return History(iterations=iterations, avg_reward=values)
    step = (len(iterations) - 1) / (max_points - 1)
    picks = sorted({round(i * step) for i in range(max_points)})
    return History(iterations=[iterations[i] for i in picks], avg_reward=[values[i] for i in picks])


def history_after(history: History | None, report: ProgressReport) -> History:
    """The reward curve with this report in it, bounded to HISTORY_MAX_POINTS."""
    if report.avg_reward_history:
        points = sorted(report.avg_reward_history, key=lambda p: p.iteration)
        return downsample(
            [p.iteration for p in points], [p.avg_reward for p in points], HISTORY_MAX_POINTS
        )
    iterations = list(history.iterations) if history else []
    values = list(history.avg_reward) if history else []
    reward = report.metrics.avg_reward
    if reward is not None and (not iterations or report.iteration > iterations[-1]):
        iterations.append(report.iteration)
        values.append(reward)
    return downsample(iterations, values, HISTORY_MAX_POINTS)


def status_from_report(
    report: ProgressReport, history: History | None, received_at: datetime
) -> dict[str, Any]:
    """The status patch (wire form) that a report accepted at `received_at` writes."""
    return report_status(report, history, received_at).to_patch()


def report_status(
    report: ProgressReport, history: History | None, received_at: datetime | None = None
) -> TrainingJobStatus:
    """The status fields that a report sets: progress, metrics, cost, history, best, output.

    `received_at` (status.lastReportTime) is given for a report the endpoint accepted;
    a termination summary read from a pod is no sign of life and leaves it as it was.
    """
    total = report.total_iterations
    percent = min(100, (100 * report.iteration) // total) if total else 0
    fields: dict[str, Any] = {}
    if report.best_checkpoint_id:
        fields["best_checkpoint_id"] = report.best_checkpoint_id
    if report.evaluation is not None:
        fields["evaluation"] = report.evaluation
    if received_at is not None:
        fields["last_report_time"] = received_at
    if report.output is not None:
        fields["output"] = report.output
    return TrainingJobStatus(
        progress=Progress(
            current_iteration=report.iteration,
            total_iterations=total,
            percent_complete=percent,
        ),
        metrics=report.metrics,
        cost=Cost(
            cost_usd=report.cost_usd,
            budget_usd=report.budget_usd,
            budget_remaining_usd=report.budget_remaining_usd,
        ),
        history=history_after(history, report),
        **fields,
    )


def parse_summary(message: str | None) -> ProgressReport | None:
    """The trainer's final report from its termination message, if it holds one."""
    summary = TerminationSummary.from_message(message)
    return summary.report() if summary is not None else None


def summary_text(message: str | None) -> str:
    """What a person should read of a termination message: its `message`, or the text."""
    decoded = message_object(message)
    if decoded is not None and isinstance(decoded.get("message"), str):
        return str(decoded["message"])
    return (message or "").strip()

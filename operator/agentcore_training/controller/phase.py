"""What the operator does next for a TrainingJob, from what it observed (pure).

`plan()` is level-triggered: it looks at the TrainingJob, its Job (None when the apiserver
confirmed there is none) and the Job's pods, and returns the actions and the status patch
that bring them in line. Phase: Queued -> Running -> Completed | Failed | Cancelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from agentcore_training.api.contract import ProgressReport, ProgressState
from agentcore_training.api.resource import TrainingJob
from agentcore_training.api.status import (
    Condition,
    ConditionStatus,
    ConditionType,
    Cost,
    Phase,
    Progress,
    TrainingJobStatus,
)
from agentcore_training.controller import conditions as cond
from agentcore_training.controller import watchdog
from agentcore_training.controller.budget_alerts import budget_alert, event_reason
from agentcore_training.controller.evaluation import improved_condition
from agentcore_training.controller.jobs import job_name
from agentcore_training.controller.objects import job_condition, latest_terminated, running_since
from agentcore_training.controller.progress import parse_summary, report_status, summary_text

TRUE, FALSE = ConditionStatus.TRUE, ConditionStatus.FALSE
CANCEL_REQUESTED = "CancelRequested"


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event to record on the TrainingJob."""

    type: str  # Normal or Warning
    reason: str
    message: str


@dataclass
class Plan:
    """What to do: at most one Job action, a status patch, events, and when to look again."""

    create_job: bool = False
    delete_job: bool = False
    suspend_job: bool | None = None
    delete_pods: list[tuple[str, str]] = field(default_factory=list)
    """(name, uid) of hung trainer pods to delete (the stall watchdog); the Job retries."""
    status: dict[str, Any] = field(default_factory=dict)
    """The status merge patch, wire form (TrainingJobStatus.to_patch)."""
    events: list[Event] = field(default_factory=list)
    requeue_after: float | None = None


def _whole_second(moment: datetime) -> datetime:
    """A timestamp as the status carries it: UTC, whole seconds."""
    return moment.astimezone(UTC).replace(microsecond=0)


class _Status:
    """Accumulates a status patch and the matching events."""

    def __init__(self, trainingjob: TrainingJob, now: datetime) -> None:
        self.tj = trainingjob
        self.now = now
        self.generation = int(trainingjob.metadata.get("generation", 1))
        self.conditions: list[Condition] = list(trainingjob.status.conditions)
        self.patch = TrainingJobStatus()
        self.events: list[Event] = []

    def set(self, **fields: Any) -> None:
        """Set status fields (snake_case names) in the patch."""
        self.patch = self.patch.updated(**fields)

    def merge(self, status: TrainingJobStatus) -> None:
        """Set the fields `status` was given."""
        self.set(**{name: getattr(status, name) for name in status.model_fields_set})

    def condition(
        self, type_: ConditionType, status: ConditionStatus, reason: str, msg: str
    ) -> None:
        self.conditions = cond.set_condition(
            self.conditions, type_, status, reason, msg, self.now, self.generation
        )

    def phase(self, phase: Phase, reason: str, message: str, *, warning: bool = False) -> None:
        if self.tj.status.phase != phase:
            self.events.append(Event("Warning" if warning else "Normal", reason, message))
        self.set(phase=phase, message=message)

    def finish(self, summary: ProgressReport | None) -> None:
        self.set(completion_time=_whole_second(self.now))
        recorded = self.tj.status.progress
        if summary is not None and (
            recorded is None or summary.iteration >= recorded.current_iteration
        ):
            # The last push may have been lost: the termination message completes the status.
            self.merge(report_status(summary, self.tj.status.history))

    def _cost(self) -> Cost | None:
        """The cost this plan writes, else the one recorded."""
        written = self.patch.cost if "cost" in self.patch.model_fields_set else None
        return written or self.tj.status.cost

    def _budget_warning(self) -> None:
        """BudgetWarning=True from 75 %, its reason the level; one Event per threshold."""
        cost = self._cost()
        previous = cond.find(self.conditions, ConditionType.BUDGET_WARNING)
        alert = budget_alert(previous, cost) if cost is not None else None
        if alert is None:
            return
        self.condition(ConditionType.BUDGET_WARNING, TRUE, alert.reason, alert.message)
        for threshold in alert.crossed:
            message = f"the spend crossed {threshold} % of the budget; {alert.message}"
            self.events.append(Event("Warning", event_reason(threshold), message))

    def _budget_exceeded(self) -> None:
        """BudgetExceeded=True as soon as any status shows a spend above the budget."""
        recorded = self._cost()
        cost = recorded.cost_usd if recorded is not None else None
        budget = self.tj.spec.config.max_budget_usd
        if cost is not None and cost > budget:
            was = cond.find(self.conditions, ConditionType.BUDGET_EXCEEDED)
            message = f"the trainer spent {cost} USD of a {budget} USD budget"
            if was is None or was.status != TRUE:
                self.events.append(Event("Warning", "BudgetExceeded", message))
            self.condition(ConditionType.BUDGET_EXCEEDED, TRUE, "BudgetExceeded", message)

    def result(self) -> tuple[dict[str, Any], list[Event]]:
        self._budget_warning()
        self._budget_exceeded()
        written = "evaluation" in self.patch.model_fields_set
        verdict = improved_condition(
            self.patch.evaluation if written else self.tj.status.evaluation
        )
        if verdict is not None:
            self.condition(ConditionType.IMPROVED, *verdict)
        patch = self.patch
        if self.conditions != list(self.tj.status.conditions):
            patch = patch.updated(conditions=self.conditions)
        if patch.model_fields_set:
            patch = patch.updated(observed_generation=self.generation, job_id=self.tj.uid)
        return patch.to_patch(), self.events


def _plan_cancel(
    tj: TrainingJob,
    job: dict[str, Any] | None,
    pods: Sequence[dict[str, Any]],
    s: _Status,
    grace: float,
) -> Plan:
    requested = cond.find(tj.status.conditions, ConditionType.CANCELLED)
    if requested is None or requested.reason != CANCEL_REQUESTED:
        s.condition(
            ConditionType.CANCELLED,
            FALSE,
            CANCEL_REQUESTED,
            f"the trainer was told to checkpoint and stop within {grace:g} s",
        )
        s.events.append(Event("Normal", CANCEL_REQUESTED, "spec.cancel is true: stopping the run"))
        requested_at = s.now
    else:
        requested_at = requested.last_transition_time
    job_running = (
        job is not None
        and job_condition(job, "Complete") is None
        and any(p.get("status", {}).get("phase") == "Running" for p in pods)
    )
    remaining = (requested_at + timedelta(seconds=grace) - s.now).total_seconds()
    if job_running and remaining > 0:
        patch, events = s.result()
        return Plan(status=patch, events=events, requeue_after=remaining)
    terminated = latest_terminated(pods)
    s.finish(parse_summary(terminated.get("message")) if terminated else None)
    s.condition(ConditionType.RUNNING, FALSE, "Cancelled", "the run was cancelled")
    s.condition(ConditionType.CANCELLED, TRUE, "Cancelled", "spec.cancel was set to true")
    s.set(cancelled_at=_whole_second(s.now))
    s.phase(Phase.CANCELLED, "Cancelled", "the run was cancelled; its Job is deleted")
    patch, events = s.result()
    return Plan(delete_job=job is not None, status=patch, events=events)


def _ended_before_the_cancel(job: dict[str, Any] | None, pods: Sequence[dict[str, Any]]) -> bool:
    """Whether the trainer had ended on its own (all iterations, or the budget) when the cancel
    came: that run completed, and calling it Cancelled would hide a finished model."""
    if job is None or job_condition(job, "Complete") is None:
        return False
    terminated = latest_terminated(pods)
    summary = parse_summary(terminated.get("message")) if terminated else None
    return summary is not None and summary.state in (
        ProgressState.COMPLETED,
        ProgressState.BUDGET_EXHAUSTED,
    )


def _plan_finished_job(job: dict[str, Any], pods: Sequence[dict[str, Any]], s: _Status) -> bool:
    """Fold a finished Job into the status; False while the Job still runs."""
    terminated = latest_terminated(pods)
    summary = parse_summary(terminated.get("message")) if terminated else None
    if job_condition(job, "Complete") is not None:
        s.finish(summary)
        if s.tj.spec.cancel:
            message = "the run had ended before the cancel reached the trainer"
            s.condition(ConditionType.CANCELLED, FALSE, "FinishedFirst", message)
        s.condition(ConditionType.RUNNING, FALSE, "TrainerExited", "the trainer exited")
        if summary is not None and summary.state == ProgressState.BUDGET_EXHAUSTED:
            message = f"stopped at the budget: {summary.message or 'BudgetExhausted'}"
            s.condition(ConditionType.BUDGET_EXHAUSTED, TRUE, "BudgetExhausted", message)
            s.condition(ConditionType.COMPLETED, TRUE, "BudgetExhausted", message)
            s.phase(Phase.COMPLETED, "BudgetExhausted", message)
        elif summary is None:
            # Nothing is known of the end: the status keeps the last reported progress and
            # cost, and says so (never 100 % or "the budget held" that nobody saw).
            message = (
                "the Job completed, but the trainer's final summary was lost: progress and "
                "cost are the last the trainer reported"
            )
            s.condition(ConditionType.SUMMARY_LOST, TRUE, "FinalSummaryLost", message)
            s.condition(ConditionType.COMPLETED, TRUE, "FinalSummaryLost", message)
            s.phase(Phase.COMPLETED, "FinalSummaryLost", message, warning=True)
        else:
            if summary.state == ProgressState.COMPLETED:
                progress = Progress(
                    current_iteration=summary.iteration,
                    total_iterations=summary.total_iterations,
                    percent_complete=100,
                )
                s.set(progress=progress)
            message = "training completed"
            if summary.cost_usd <= summary.budget_usd:
                s.condition(
                    ConditionType.BUDGET_EXHAUSTED,
                    FALSE,
                    "WithinBudget",
                    f"spent {summary.cost_usd} USD of {summary.budget_usd}",
                )
            s.condition(ConditionType.COMPLETED, TRUE, "TrainingCompleted", message)
            s.phase(Phase.COMPLETED, "TrainingCompleted", message)
        return True
    failed = job_condition(job, "Failed")
    if failed is not None:
        s.finish(summary)
        reason = str(failed.get("reason") or "JobFailed")
        detail = str(failed.get("message") or "the Job failed")
        stalled = cond.find(s.conditions, ConditionType.HUNG)
        if watchdog.ended_last_attempt(stalled, pods):
            assert stalled is not None
            reason, detail = watchdog.REASON, f"{stalled.message}; the Job: {detail}"
        if terminated is not None:
            text = summary_text(terminated.get("message"))
            detail += f"; trainer exit code {terminated.get('exitCode')}"
            if text:
                detail += f": {str(text).strip()[:1000]}"
        s.condition(ConditionType.RUNNING, FALSE, reason, detail)
        s.condition(ConditionType.FAILED, TRUE, reason, detail)
        s.phase(Phase.FAILED, reason, detail, warning=True)
        return True
    return False


def plan(
    tj: TrainingJob,
    job: dict[str, Any] | None,
    pods: Sequence[dict[str, Any]],
    *,
    now: datetime,
    cancel_grace_seconds: float,
    watching_since: datetime | None = None,
) -> Plan:
    """The next step for `tj`. `job` is None only when the apiserver confirmed it is absent.

    `watching_since`: when this operator began watching; the stall watchdog counts no
    silence from before it (reports sent while the operator was down went unheard).
    """
    phase = tj.status.phase
    if phase is not None and phase.is_finished:
        # A finished run never gets a new Job; a cancelled one never keeps its old one.
        # A later cancel or suspend changes nothing but is seen (observedGeneration), so
        # GitOps tools that wait for the generation to be observed do not wait forever.
        generation = int(tj.metadata.get("generation", 1))
        seen = (
            TrainingJobStatus()
            if tj.status.observed_generation == generation
            else TrainingJobStatus(observed_generation=generation)
        )
        return Plan(delete_job=phase == Phase.CANCELLED and job is not None, status=seen.to_patch())
    s = _Status(tj, now)
    if tj.spec.cancel and not _ended_before_the_cancel(job, pods):
        return _plan_cancel(tj, job, pods, s, cancel_grace_seconds)
    if job is None:
        if tj.status.job_name:
            message = f"the Job {tj.status.job_name} was deleted before the run finished"
            s.set(completion_time=_whole_second(now))
            s.condition(ConditionType.RUNNING, FALSE, "JobDeleted", message)
            s.condition(ConditionType.FAILED, TRUE, "JobDeleted", message)
            s.phase(Phase.FAILED, "JobDeleted", message, warning=True)
            patch, events = s.result()
            return Plan(status=patch, events=events)
        return _plan_new_job(tj, s)
    plan_ = Plan()
    if tj.status.job_name is None:  # adopted after a lost status write
        s.set(job_name=job["metadata"]["name"])
    if not _plan_finished_job(job, pods, s):
        _plan_suspend(tj, job, s, plan_)
        started = running_since(pods)
        if started is not None and not job.get("spec", {}).get("suspend"):
            if tj.status.start_time is None:
                s.set(start_time=started)
            s.condition(ConditionType.RUNNING, TRUE, "TrainerRunning", "the trainer is running")
            s.phase(Phase.RUNNING, "TrainerRunning", "the trainer is running")
            _plan_watchdog(tj, pods, s, plan_, watching_since or now)
    plan_.status, plan_.events = s.result()
    return plan_


def _plan_watchdog(
    tj: TrainingJob, pods: Sequence[dict[str, Any]], s: _Status, plan_: Plan, since: datetime
) -> None:
    """Delete a trainer pod that went silent past spec.runtime.progressDeadlineSeconds."""
    last_report, deadline = tj.status.last_report_time, tj.spec.runtime.progress_deadline_seconds
    if watchdog.resumed(cond.find(s.conditions, ConditionType.HUNG), last_report):
        s.condition(ConditionType.HUNG, FALSE, "ReportsResumed", "the trainer reports again")
    verdict = watchdog.check(
        pods,
        last_report=last_report,
        deadline_seconds=deadline,
        now=s.now,
        watching_since=since,
        stalled=cond.find(s.conditions, ConditionType.HUNG),
    )
    if isinstance(verdict, watchdog.Silent):
        plan_.requeue_after = verdict.check_after
    elif isinstance(verdict, watchdog.Hung):
        plan_.delete_pods.append((verdict.name, verdict.uid))
        message = verdict.message(deadline, tj.status.attempt or 1)
        # A new transition time for each stall: it tells which attempt the watchdog ended.
        s.conditions = [c for c in s.conditions if c.type != ConditionType.HUNG]
        s.condition(ConditionType.HUNG, TRUE, watchdog.REASON, message)
        s.events.append(Event("Warning", watchdog.REASON, message))


def _plan_new_job(tj: TrainingJob, s: _Status) -> Plan:
    budget = tj.spec.config.max_budget_usd
    s.set(
        job_name=job_name(tj),
        progress=Progress(
            current_iteration=0, total_iterations=tj.spec.config.n_iterations, percent_complete=0
        ),
        cost=Cost(cost_usd=Decimal(0), budget_usd=budget, budget_remaining_usd=budget),
    )
    s.condition(ConditionType.RUNNING, FALSE, "JobCreated", "waiting for the trainer to start")
    s.phase(Phase.QUEUED, "JobCreated", f"created Job {job_name(tj)}")
    patch, events = s.result()
    return Plan(create_job=True, status=patch, events=events)


def _plan_suspend(tj: TrainingJob, job: dict[str, Any], s: _Status, plan_: Plan) -> None:
    if tj.spec.runtime.queue_name is not None:
        return  # Kueue owns spec.suspend of a queued Job
    job_suspended = bool(job.get("spec", {}).get("suspend"))
    if job_suspended != tj.spec.suspend:
        plan_.suspend_job = tj.spec.suspend
    was = cond.find(tj.status.conditions, ConditionType.SUSPENDED)
    if tj.spec.suspend:
        s.condition(ConditionType.SUSPENDED, TRUE, "Suspended", "spec.suspend is true")
        if was is None or was.status != TRUE:
            s.events.append(Event("Normal", "Suspended", "the Job is suspended"))
            s.condition(ConditionType.RUNNING, FALSE, "Suspended", "the Job is suspended")
            s.phase(Phase.QUEUED, "Suspended", "suspended: set spec.suspend to false to resume")
    elif was is not None and was.status == TRUE:
        s.condition(ConditionType.SUSPENDED, FALSE, "Resumed", "spec.suspend is false")
        s.events.append(Event("Normal", "Resumed", "the Job is resumed"))

"""Per-job Prometheus metrics under the original's names, from the status the operator writes.

The gauges are rendered at each scrape from the watch-fed `ClusterState` (which holds the
operator's own writes), so a job's series go when its TrainingJob is deleted and nothing
can leak. The counters count the phase changes this operator process writes: each job is
counted once (a resync or a restart rewrites no phase), and after a restart they start
again from 0 like any Prometheus counter, with no job of before counted again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from pydantic import ValidationError

from agentcore_training.api.budget import BudgetStatus, utilization_percent
from agentcore_training.api.resource import TrainingJob
from agentcore_training.api.status import Phase
from agentcore_training.controller.metrics import REGISTRY
from agentcore_training.controller.state import ClusterState

log = logging.getLogger(__name__)

JOB_LABELS = ("agent_id", "job_id")

_COUNTED = {
    Phase.COMPLETED: Counter(
        "training_jobs_completed_total",
        "Training jobs that completed (the operator wrote phase Completed).",
        ["agent_id"],
        registry=REGISTRY,
    ),
    Phase.FAILED: Counter(
        "training_jobs_failed_total",
        "Training jobs that failed (the operator wrote phase Failed).",
        ["agent_id"],
        registry=REGISTRY,
    ),
    Phase.CANCELLED: Counter(
        "training_jobs_cancelled_total",
        "Training jobs that were cancelled (the operator wrote phase Cancelled).",
        ["agent_id"],
        registry=REGISTRY,
    ),
}
CREATED = Counter(
    "training_jobs_created_total",
    "Training jobs created (the operator wrote their first phase).",
    ["agent_id"],
    registry=REGISTRY,
)


def count_phase_change(trainingjob: TrainingJob, phase: Phase | None) -> None:
    """Count the phase that a status patch of `trainingjob` wrote (None: it wrote none)."""
    before = trainingjob.status.phase
    if phase is None or phase == before:
        return
    agent_id = trainingjob.spec.agent_id
    if before is None:
        CREATED.labels(agent_id).inc()
    counter = _COUNTED.get(phase)
    if counter is not None:
        counter.labels(agent_id).inc()


_GAUGES = {
    "training_budget_usage_usd": "US dollars spent (status.cost.costUsd).",
    "training_budget_limit_usd": "The budget (spec.config.maxBudgetUsd).",
    "training_budget_utilization_percent": "100 * costUsd / budgetUsd.",
    "training_iteration_current": "Iterations completed (status.progress.currentIteration).",
    "training_iteration_total": "Iterations the run will do (status.progress.totalIterations).",
    "training_loss": "GRPO loss of the latest iteration (status.metrics.loss).",
    "training_reward_mean": "Mean reward of the latest iteration (status.metrics.avgReward).",
}


class JobCollector(Collector):
    """Renders the per-job gauges and training_jobs_active from the TrainingJobs watched."""

    def __init__(self, state: ClusterState) -> None:
        self._state = state

    def collect(self) -> Iterator[Metric]:
        families = {
            name: GaugeMetricFamily(name, text, labels=JOB_LABELS) for name, text in _GAUGES.items()
        }
        budget_status = GaugeMetricFamily(
            "training_budget_status",
            "1 for the job's budget status (ok, warning_75, warning_90, exceeded), 0 for others.",
            labels=(*JOB_LABELS, "budget_status"),
        )
        active = 0
        for body in list(self._state.trainingjobs.values()):
            try:
                trainingjob = TrainingJob.model_validate(body)
            except ValidationError:
                continue  # the reconciler logs it
            phase = trainingjob.status.phase
            active += phase is None or not phase.is_finished
            labels = [trainingjob.spec.agent_id, trainingjob.uid]
            cost, progress, metrics = (
                trainingjob.cost(),
                trainingjob.progress(),
                trainingjob.status.metrics,
            )
            values: dict[str, float | None] = {
                "training_budget_usage_usd": float(cost.cost_usd),
                "training_budget_limit_usd": float(cost.budget_usd),
                "training_budget_utilization_percent": float(
                    utilization_percent(cost.cost_usd, cost.budget_usd)
                ),
                "training_iteration_current": progress.current_iteration,
                "training_iteration_total": progress.total_iterations,
                "training_loss": metrics.loss if metrics else None,
                "training_reward_mean": metrics.avg_reward if metrics else None,
            }
            for name, value in values.items():
                if value is not None:
                    families[name].add_metric(labels, value)
            for status in BudgetStatus:
                budget_status.add_metric(
                    [*labels, status.value], float(status == cost.budget_status)
                )
        yield GaugeMetricFamily(
            "training_jobs_active", "Training jobs not finished (queued or running).", active
        )
        yield from families.values()
        yield budget_status


def register(state: ClusterState, registry: CollectorRegistry = REGISTRY) -> JobCollector:
    """Add the per-job gauges of `state` to `registry` (undo with registry.unregister)."""
    collector = JobCollector(state)
    registry.register(collector)
    return collector

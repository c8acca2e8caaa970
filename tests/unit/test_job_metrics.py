"""Per-job metrics: rendered from the TrainingJobs the operator watches, counted once per job."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agentcore_training.api.resource import TrainingJob
from agentcore_training.api.status import Phase
from agentcore_training.controller import job_metrics
from agentcore_training.controller.metrics import REGISTRY
from agentcore_training.controller.state import ClusterState


def _body(uid: str, agent: str, status: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "training.agentcore.dev/v1alpha1",
        "kind": "TrainingJob",
        "metadata": {"name": uid, "namespace": "ns", "uid": uid, "resourceVersion": "1"},
        "spec": {
            "agentId": agent,
            "queries": {"configMapRef": {"name": "q"}},
            "config": {"nIterations": 10, "maxBudgetUsd": "2.00"},
        },
        "status": status,
    }


RUNNING = {
    "phase": "Running",
    "progress": {"currentIteration": 8, "totalIterations": 10, "percentComplete": 80},
    "metrics": {"avgReward": 0.625, "loss": 0.25},
    "cost": {"costUsd": "1.60", "budgetUsd": "2.00", "budgetRemainingUsd": "0.40"},
}


def _scrape(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _job(agent: str, uid: str, **more: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"agent_id": agent, "job_id": uid, **more}.items()))


def test_per_job_series_come_from_the_status_and_go_with_the_job() -> None:
    state, registry = ClusterState(), CollectorRegistry()
    job_metrics.register(state, registry)
    state.put_trainingjob(_body("u1", "bot", RUNNING))
    state.put_trainingjob(_body("u2", "bot", {}))  # just created: nothing reported yet
    state.put_trainingjob(_body("u3", "other", {**RUNNING, "phase": "Completed"}))
    samples = _scrape(registry)
    one = _job("bot", "u1")
    assert samples[("training_budget_usage_usd", one)] == 1.6
    assert samples[("training_budget_limit_usd", one)] == 2.0
    assert samples[("training_budget_utilization_percent", one)] == 80.0
    assert samples[("training_iteration_current", one)] == 8
    assert samples[("training_iteration_total", one)] == 10
    assert samples[("training_loss", one)] == 0.25
    assert samples[("training_reward_mean", one)] == 0.625
    status = "training_budget_status"
    assert samples[(status, _job("bot", "u1", budget_status="warning_75"))] == 1
    assert samples[(status, _job("bot", "u1", budget_status="ok"))] == 0
    fresh = _job("bot", "u2")
    assert samples[("training_budget_usage_usd", fresh)] == 0
    assert samples[("training_budget_limit_usd", fresh)] == 2.0  # the spec's budget
    assert samples[("training_iteration_total", fresh)] == 10  # the spec's iterations
    assert ("training_loss", fresh) not in samples  # no loss reported: no sample
    assert samples[("training_jobs_active", ())] == 2  # u1 running, u2 not yet queued
    state.forget_trainingjob("u1")  # the DELETED watch event
    after = _scrape(registry)
    assert not [key for key in after if ("job_id", "u1") in key[1]]
    assert ("training_budget_usage_usd", fresh) in after
    assert after[("training_jobs_active", ())] == 1


def _count(name: str, agent: str) -> float:
    return REGISTRY.get_sample_value(name, {"agent_id": agent}) or 0.0


def test_counters_count_each_phase_the_operator_writes_once() -> None:
    agent = "counted-agent"
    new = TrainingJob.model_validate(_body("c1", agent, {}))
    queued = TrainingJob.model_validate(_body("c1", agent, {"phase": "Queued"}))
    running = TrainingJob.model_validate(_body("c1", agent, RUNNING))
    done = TrainingJob.model_validate(_body("c1", agent, {**RUNNING, "phase": "Completed"}))
    job_metrics.count_phase_change(new, Phase.QUEUED)
    job_metrics.count_phase_change(queued, Phase.RUNNING)
    job_metrics.count_phase_change(running, Phase.RUNNING)  # a resync: no change
    job_metrics.count_phase_change(running, None)  # a patch without a phase
    job_metrics.count_phase_change(running, Phase.COMPLETED)
    job_metrics.count_phase_change(done, Phase.COMPLETED)  # after a restart: already written
    assert _count("training_jobs_created_total", agent) == 1
    assert _count("training_jobs_completed_total", agent) == 1
    assert _count("training_jobs_failed_total", agent) == 0
    cancelled_at_once = TrainingJob.model_validate(_body("c2", agent, {}))
    job_metrics.count_phase_change(cancelled_at_once, Phase.CANCELLED)
    assert _count("training_jobs_created_total", agent) == 2
    assert _count("training_jobs_cancelled_total", agent) == 1

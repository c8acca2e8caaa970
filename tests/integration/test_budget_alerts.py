"""Budget alerts and per-job metrics end to end: a run through the operator on a real control
plane (the stand-in trainer spends 0.01 USD an iteration) that crosses 75 % and 90 % of its
budget; the condition, the Events (from the API), get_status through the shim, and the
operator's /metrics over HTTP, before and after the TrainingJob is deleted."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.rpc_support import result
from tests.support.cluster import Cluster
from tests.support.processes import OperatorProcess
from tests.support.trainingjobs import (
    addition_queries,
    apply,
    create_queries,
    get,
    trainingjob,
    wait_for,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("operator")

AGENT = "budget-alerts-agent"
PER_JOB = (
    "training_budget_usage_usd",
    "training_budget_limit_usd",
    "training_budget_utilization_percent",
    "training_iteration_current",
    "training_iteration_total",
    "training_loss",
    "training_reward_mean",
    "training_budget_status",
)


def _samples(operator: OperatorProcess) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """One scrape of the operator's /metrics (plain HTTP), by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(operator.metrics())
        for sample in family.samples
    }


def _of(job_id: str, **more: str) -> frozenset[tuple[str, str]]:
    return frozenset({"agent_id": AGENT, "job_id": job_id, **more}.items())


def _event_reasons(cluster: Cluster, namespace: str, uid: str) -> list[str]:
    events: Any = cluster.get_json(
        "events", "-n", namespace, "--field-selector", f"involvedObject.uid={uid}"
    )
    return [str(event["reason"]) for event in events["items"]]


@pytest.mark.asyncio(loop_scope="session")
async def test_a_run_past_75_and_90_percent_alerts_once_each_and_is_scraped(
    cluster: Cluster, namespace: str, operator: OperatorProcess, shim: tuple[str, str]
) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    manifest = trainingjob(
        "alerts", queries="queries", config={"nIterations": 10, "maxBudgetUsd": "0.11"}
    )
    manifest["spec"]["agentId"] = AGENT
    uid = apply(cluster, namespace, manifest)["metadata"]["uid"]

    # 10 iterations of 0.01 USD: 0.10 of 0.11 is 90.9 %, past both thresholds, not above.
    done = wait_for(cluster, namespace, "alerts", "Completed")
    assert done["status"]["cost"]["costUsd"] == "0.10"
    assert done["status"]["cost"]["budgetStatus"] == "warning_90"
    warning = next(c for c in done["status"]["conditions"] if c["type"] == "BudgetWarning")
    assert (warning["status"], warning["reason"]) == ("True", "Threshold90")
    assert not [c for c in done["status"]["conditions"] if c["type"] == "BudgetExceeded"]

    thresholds = ["BudgetThreshold75", "BudgetThreshold90"]

    def both_recorded() -> list[str]:
        reasons = _event_reasons(cluster, namespace, uid)
        return reasons if set(thresholds) <= set(reasons) else []

    reasons = wait_until(both_recorded, 30, "the two threshold Events")
    await asyncio.sleep(3)  # a later reconcile (the resync, a watch event) must add none
    reasons = _event_reasons(cluster, namespace, uid)
    assert sorted(r for r in reasons if r.startswith("BudgetThreshold")) == thresholds

    base, token = shim
    status = await result(base, token, "training.get_status", {"job_id": uid})
    assert status["cost"]["budget_status"] == "warning_90"

    samples = _samples(operator)
    assert samples[("training_budget_usage_usd", _of(uid))] == pytest.approx(0.10)
    assert samples[("training_budget_limit_usd", _of(uid))] == pytest.approx(0.11)
    assert samples[("training_budget_utilization_percent", _of(uid))] == pytest.approx(
        100 * 0.10 / 0.11
    )
    assert samples[("training_iteration_current", _of(uid))] == 10
    assert samples[("training_iteration_total", _of(uid))] == 10
    assert samples[("training_loss", _of(uid))] == pytest.approx(1 / 11)
    assert samples[("training_reward_mean", _of(uid))] == pytest.approx(0.9)
    status_series = "training_budget_status"
    assert samples[(status_series, _of(uid, budget_status="warning_90"))] == 1
    assert samples[(status_series, _of(uid, budget_status="warning_75"))] == 0
    agent = frozenset({("agent_id", AGENT)})
    assert samples[("training_jobs_created_total", agent)] == 1
    assert samples[("training_jobs_completed_total", agent)] == 1

    cluster.kubectl("delete", "tj", "alerts", "-n", namespace, "--wait=true")

    def gone() -> bool:
        after = _samples(operator)
        return not [key for key in after if key[0] in PER_JOB and ("job_id", uid) in key[1]]

    wait_until(gone, 30, "the deleted job's series to go")
    after = _samples(operator)
    assert after[("training_jobs_created_total", agent)] == 1  # counters stay


def test_a_restart_after_a_threshold_records_its_event_no_second_time(
    cluster: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    """The restarted operator has no memory of the Event: only the condition it wrote."""
    create_queries(cluster, namespace, "queries", addition_queries(125))
    manifest = trainingjob(
        "restarted",
        queries="queries",
        mode="slow",  # 0.5 s an iteration: 75 % at iteration 30 (15 s), 90 % at 36 (18 s)
        config={"nIterations": 40, "maxBudgetUsd": "0.40"},
    )
    uid = apply(cluster, namespace, manifest)["metadata"]["uid"]

    def warned() -> bool:
        status = get(cluster, namespace, "restarted").get("status", {})
        return any(c["type"] == "BudgetWarning" for c in status.get("conditions", []))

    wait_until(warned, 60, "BudgetWarning to be set")
    # The Event follows the status write (at most once: a kill between the two loses it,
    # as documented); what is tested here is that a restart never records it again.
    wait_until(
        lambda: "BudgetThreshold75" in _event_reasons(cluster, namespace, uid), 30, "the 75 % Event"
    )
    operator.stop(kill=True)
    operator.start()
    done = wait_for(cluster, namespace, "restarted", "Completed", timeout=120)
    assert done["status"]["cost"]["budgetStatus"] == "warning_90"  # all of it: 0.40 of 0.40
    wait_until(
        lambda: "BudgetThreshold90" in _event_reasons(cluster, namespace, uid), 30, "the 90 % Event"
    )
    time.sleep(3)  # later reconciles (the restart's list, watch events) must add none
    reasons = _event_reasons(cluster, namespace, uid)
    assert sorted(r for r in reasons if r.startswith("BudgetThreshold")) == [
        "BudgetThreshold75",
        "BudgetThreshold90",
    ]

"""The run's lifecycle with the real trainer (`builtin:tiny`) under the operator, in the trainer
image on a real node (or on the dev runner where no node can start).

A SIGKILL with a checkpoint volume (the retry resumes the weights), suspend and resume
mid-run, the budget binding mid-run, and the operator down when a trainer starts.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest

from agentcore_training import labels
from tests.integration.test_real_trainer_faults import (
    ITERATIONS,
    KILL_PRICING,
    PRICING,
    TINY,
    _CostWatcher,
)
from tests.support.cluster import Cluster
from tests.support.processes import OperatorProcess
from tests.support.trainer_runtime import TrainerRuntime
from tests.support.trainingjobs import (
    addition_queries,
    apply,
    create_queries,
    get,
    trainingjob,
    wait_for,
    wait_for_iteration,
    wait_until,
)

pytestmark = [pytest.mark.usefixtures("operator"), pytest.mark.real_node]

CHECKPOINTS = {"checkpointVolume": {"claimName": "checkpoints"}}


def _pods(cluster: Cluster, namespace: str, uid: str) -> dict[str, dict[str, Any]]:
    listed = cluster.get_json("pods", "-n", namespace, "-l", f"{labels.JOB_ID}={uid}")
    return {p["metadata"]["name"]: p for p in listed["items"]}  # type: ignore[attr-defined]


def _patch(cluster: Cluster, namespace: str, name: str, spec: str) -> None:
    cluster.kubectl("patch", "tj", name, "-n", namespace, "--type=merge", "-p", spec)


def test_a_sigkilled_trainer_with_a_checkpoint_volume_resumes_its_weights(
    cluster: Cluster, namespace: str, trainer_runtime: TrainerRuntime
) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    trainer_runtime.provide_claim(namespace, CHECKPOINTS["checkpointVolume"]["claimName"])
    manifest = trainingjob(
        "resumed",
        queries="queries",
        mode=None,
        config={**TINY, "nIterations": ITERATIONS, "checkpointInterval": 50},
        runtime={"backoffLimit": 2, **CHECKPOINTS},
        pricing=KILL_PRICING,
    )
    uid = apply(cluster, namespace, manifest)["metadata"]["uid"]
    watcher = _CostWatcher(cluster, namespace, "resumed")
    try:
        wait_for_iteration(cluster, namespace, "resumed", 100, timeout=180)
        found: Any = wait_until(
            lambda: trainer_runtime.running_trainer(namespace, uid), 30, "the trainer container"
        )
        first_pod, container = found
        trainer_runtime.kill(container)
        done = wait_for(cluster, namespace, "resumed", "Completed", timeout=300)
    finally:
        seen = watcher.stop()
    status = done["status"]
    assert status["attempt"] == 2
    assert status["progress"]["currentIteration"] == ITERATIONS
    assert seen == sorted(seen), seen
    assert Decimal(status["cost"]["costUsd"]) <= Decimal(TINY["maxBudgetUsd"])
    (retry,) = set(_pods(cluster, namespace, uid)) - {first_pod}
    log = trainer_runtime.trainer_log(namespace, retry)
    resumed = next(line for line in log if line.get("event") == "resumed")
    assert resumed["iteration"] >= 50  # from a checkpoint on the volume, not from scratch
    # Nothing before it is trained again (on a fast machine the kill may come after the
    # last iteration, in the final evaluation: then the retry has none left to train).
    iterations = [line["iteration"] for line in log if line.get("event") == "iteration"]
    assert all(i > resumed["iteration"] for i in iterations), iterations


def test_suspend_and_resume_mid_run_keeps_the_spend_and_the_weights(
    cluster: Cluster, namespace: str, trainer_runtime: TrainerRuntime
) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    trainer_runtime.provide_claim(namespace, CHECKPOINTS["checkpointVolume"]["claimName"])
    manifest = trainingjob(
        "paused",
        queries="queries",
        mode=None,
        config={**TINY, "nIterations": 300, "checkpointInterval": 5},
        runtime=CHECKPOINTS,
        pricing=PRICING,
    )
    uid = apply(cluster, namespace, manifest)["metadata"]["uid"]
    watcher = _CostWatcher(cluster, namespace, "paused")
    try:
        wait_for_iteration(cluster, namespace, "paused", 3, timeout=180)
        _patch(cluster, namespace, "paused", '{"spec": {"suspend": true}}')
        suspended = wait_for(cluster, namespace, "paused", "Suspended", timeout=120)
        wait_until(
            lambda: not any(
                p["status"].get("phase") == "Running"
                for p in _pods(cluster, namespace, uid).values()
            ),
            120,
            "the trainer to stop",
        )
        time.sleep(2)  # a suspended run spends nothing: its cost stays
        held = Decimal(get(cluster, namespace, "paused")["status"]["cost"]["costUsd"])
        _patch(cluster, namespace, "paused", '{"spec": {"suspend": false}}')
        done = wait_for(cluster, namespace, "paused", "Completed", timeout=300)
    finally:
        seen = watcher.stop()
    assert suspended["status"]["phase"] in ("Running", "Queued")
    status = done["status"]
    assert status["progress"]["currentIteration"] == 300
    assert seen == sorted(seen), seen
    assert held <= Decimal(status["cost"]["costUsd"]) <= Decimal(TINY["maxBudgetUsd"])
    (pod,) = _pods(cluster, namespace, uid)  # suspending deleted the first one
    log = trainer_runtime.trainer_log(namespace, pod)
    resumed = next(line for line in log if line.get("event") == "resumed")
    assert resumed["iteration"] >= 3  # the weights from before the suspend, on the volume


def test_the_budget_binds_mid_run_through_the_operator(cluster: Cluster, namespace: str) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    budget = Decimal("0.30")
    manifest = trainingjob(
        "bounded",
        queries="queries",
        mode=None,
        config={**TINY, "nIterations": 2000, "maxBudgetUsd": str(budget)},
        pricing={"computeUsdPerHour": "36"},  # a cent a second
    )
    apply(cluster, namespace, manifest)
    done = wait_for(cluster, namespace, "bounded", "Completed", timeout=240)
    status = done["status"]
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["BudgetExhausted"]["status"] == "True"
    assert 0 < status["progress"]["currentIteration"] < 2000  # it trained, then stopped
    assert Decimal(status["cost"]["costUsd"]) <= budget
    assert conditions.get("BudgetExceeded", {}).get("status") != "True"


def test_a_trainer_that_starts_while_the_operator_is_down_waits_for_it(
    cluster: Cluster,
    namespace: str,
    operator: OperatorProcess,
    trainer_runtime: TrainerRuntime,
) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    manifest = trainingjob(
        "waiting", queries="queries", mode=None, config={**TINY, "nIterations": 4}
    )
    uid = apply(cluster, namespace, manifest)["metadata"]["uid"]
    wait_until(lambda: cluster.get_json("jobs", "-n", namespace)["items"], 30, "the Job")
    operator.stop(kill=True)
    try:
        pod: Any = wait_until(
            lambda: trainer_runtime.running_trainer(namespace, uid), 60, "the trainer"
        )

        def waited() -> bool:
            log = trainer_runtime.trainer_log(namespace, pod[0])
            return any(line.get("event") == "attempt_handshake_waiting" for line in log)

        wait_until(waited, 120, "the trainer to wait for the operator")
    finally:
        operator.start()
    done = wait_for(cluster, namespace, "waiting", "Completed", timeout=240)
    assert done["status"]["progress"]["currentIteration"] == 4
    log = trainer_runtime.trainer_log(namespace, pod[0])
    events = [line.get("event") for line in log]
    assert events.index("attempt_handshake_waiting") < events.index("attempt")
    assert events.index("attempt") < events.index("start")  # it trained only after the answer

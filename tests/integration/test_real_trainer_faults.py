"""Faults with the real trainer (`builtin:tiny`) under the operator, in the trainer image on a
real node (or on the dev runner where no node can start).

A trainer container SIGKILLed mid-run (no checkpoint survives: an emptyDir), and the
operator killed while a cancel's grace period runs.
"""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest

from agentcore_training import labels
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

TINY = {
    "batchSize": 4,
    "nTrajectoriesPerQuery": 4,
    "maxNewTokens": 3,
    "learningRate": 1e-3,
    "maxBudgetUsd": "1.00",
}
PRICING = {"computeUsdPerHour": "3.60", "usdPer1kCompletionTokens": "0.01"}
ITERATIONS = 600
"""A run that a kill lands in the middle of: builtin:tiny's iterations take ~20 ms on a
quiet node (120 were over before a kill came after iteration 2, once in CI)."""
KILL_PRICING = {"computeUsdPerHour": "3.60", "usdPer1kCompletionTokens": "0.0001"}
"""Cheap tokens, so that two attempts of ITERATIONS stay far inside TINY's budget."""


class _CostWatcher:
    """Every status.cost.costUsd seen while the run goes on, in order."""

    def __init__(self, cluster: Cluster, namespace: str, name: str) -> None:
        self.seen: list[Decimal] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(cluster, namespace, name))
        self._thread.start()

    def _run(self, cluster: Cluster, namespace: str, name: str) -> None:
        while not self._stop.wait(0.3):
            cost = (get(cluster, namespace, name).get("status") or {}).get("cost") or {}
            if "costUsd" in cost:
                self.seen.append(Decimal(cost["costUsd"]))

    def stop(self) -> list[Decimal]:
        self._stop.set()
        self._thread.join()
        return self.seen


def test_a_sigkilled_trainer_is_retried_and_its_spend_never_goes_down(
    cluster: Cluster, namespace: str, trainer_runtime: TrainerRuntime
) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    manifest = trainingjob(
        "killed",
        queries="queries",
        mode=None,
        config={**TINY, "nIterations": ITERATIONS, "checkpointInterval": ITERATIONS},
        runtime={"backoffLimit": 2},
        pricing=KILL_PRICING,
    )
    uid = apply(cluster, namespace, manifest)["metadata"]["uid"]
    watcher = _CostWatcher(cluster, namespace, "killed")
    try:
        before = wait_for_iteration(cluster, namespace, "killed", 2, timeout=180)
        found: Any = wait_until(
            lambda: trainer_runtime.running_trainer(namespace, uid), 30, "the trainer container"
        )
        first_pod, container = found
        spent_before = Decimal(before["status"]["cost"]["costUsd"])
        trainer_runtime.kill(container)
        done = wait_for(cluster, namespace, "killed", "Completed", timeout=300)
    finally:
        seen = watcher.stop()
    status = done["status"]
    assert status["phase"] == "Completed", status
    assert status["attempt"] == 2  # the handshake of the retried pod
    # No checkpoint survived (an emptyDir): the retry trained all iterations again.
    assert status["progress"]["currentIteration"] == ITERATIONS
    cost = Decimal(status["cost"]["costUsd"])
    assert spent_before <= cost <= Decimal(TINY["maxBudgetUsd"])
    assert seen == sorted(seen), seen  # the spend shown never went down
    assert len(set(seen)) >= 3
    listed = cluster.get_json("pods", "-n", namespace, "-l", f"{labels.JOB_ID}={uid}")
    pods: list[dict[str, Any]] = listed["items"]  # type: ignore[assignment]
    by_name = {p["metadata"]["name"]: p for p in pods}
    assert len(by_name) == 2
    killed = by_name[first_pod]["status"]["containerStatuses"][0]["state"]["terminated"]
    assert killed["exitCode"] == 137
    # The retry started from the operator's record: attempt 2, the first pod's spend carried
    # onto its ledger (no checkpoint to take it from), and its own spend on top.
    (retry,) = set(by_name) - {first_pod}
    log = trainer_runtime.trainer_log(namespace, retry)
    attempt = next(line for line in log if line.get("event") == "attempt")
    assert attempt["attempt"] == 2
    carried = Decimal(attempt["spentUsd"])
    assert spent_before <= carried < cost


def test_the_operator_killed_during_a_cancel_grace_period_still_cancels(
    cluster: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    manifest = trainingjob(
        "stopped",
        queries="queries",
        mode=None,
        config={**TINY, "nIterations": 400, "checkpointInterval": 5},
        pricing=PRICING,
    )
    apply(cluster, namespace, manifest)
    wait_for_iteration(cluster, namespace, "stopped", 2, timeout=180)
    cluster.kubectl(
        "patch", "tj", "stopped", "-n", namespace, "--type=merge", "-p", '{"spec":{"cancel":true}}'
    )

    def requested() -> bool:
        conditions = get(cluster, namespace, "stopped")["status"].get("conditions", [])
        return any(
            c["type"] == "Cancelled" and c["reason"] == "CancelRequested" for c in conditions
        )

    wait_until(requested, 30, "CancelRequested")
    operator.stop(kill=True)  # its grace timer (4 s here) dies with it
    operator.start()
    cancelled = wait_for(cluster, namespace, "stopped", "Cancelled", timeout=120)
    status = cancelled["status"]
    assert status["phase"] == "Cancelled"
    assert status["cancelledAt"]
    assert status["progress"]["currentIteration"] < 400
    assert Decimal(status["cost"]["costUsd"]) <= Decimal(TINY["maxBudgetUsd"])
    wait_until(lambda: not cluster.get_json("jobs", "-n", namespace)["items"], 60, "the Job to go")

"""runtime.pods: 2 trainer pods of one TrainingJob on the real node, one of them SIGKILLed
mid-run.

The operator makes an Indexed Job of 2 pods and its headless Service; the pods find each
other by their stable names through the node's CoreDNS (torchrun's static rendezvous on
`<job>-0.<job>.<ns>.svc`), so the run can only make progress with both in one world. Killing
the index-1 pod (the one that does not report) breaks rank 0's next collective: both pods of
the attempt fail, the Job recreates both, and the new pair resumes from the checkpoint
volume with the ledger of record carried over: attempt 2, nothing trained twice, the spend
shown never going down.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from agentcore_training import labels
from tests.integration.test_real_trainer_faults import (
    ITERATIONS,
    KILL_PRICING,
    TINY,
    _CostWatcher,
)
from tests.support.cluster import Cluster
from tests.support.trainer_runtime import NODE, TrainerRuntime
from tests.support.trainingjobs import (
    addition_queries,
    apply,
    create_queries,
    get,
    jobs_in,
    trainingjob,
    wait_for,
    wait_for_iteration,
    wait_until,
)

pytestmark = [pytest.mark.usefixtures("operator"), pytest.mark.real_node]

CLAIM = "checkpoints"


def _pods(cluster: Cluster, namespace: str, uid: str) -> list[dict[str, Any]]:
    listed = cluster.get_json("pods", "-n", namespace, "-l", f"{labels.JOB_ID}={uid}")
    return list(listed["items"])  # type: ignore[arg-type]


def _index(pod: dict[str, Any]) -> str:
    return str(pod["metadata"]["annotations"][labels.COMPLETION_INDEX_ANNOTATION])


def _running_container(pod: dict[str, Any]) -> str | None:
    for status in pod.get("status", {}).get("containerStatuses", []):
        if "running" in status.get("state", {}) and status.get("containerID"):
            return str(status["containerID"])
    return None


def _trainer_state(pod: dict[str, Any]) -> dict[str, Any]:
    return dict(pod["status"]["containerStatuses"][0]["state"])


def _story(cluster: Cluster, namespace: str, uid: str, runtime: TrainerRuntime) -> str:
    """What the pods did: each pod's index, state and last log lines (for a failure)."""
    lines = [json.dumps(get(cluster, namespace, "spread").get("status"))]
    for pod in _pods(cluster, namespace, uid):
        name = pod["metadata"]["name"]
        statuses = pod.get("status", {}).get("containerStatuses", [{}])
        lines.append(f"{name} index {_index(pod)}: {json.dumps(statuses[0].get('state'))}")
        log = cluster.kubectl("logs", "-n", namespace, name, check=False).stdout
        lines += [f"  {line[:400]}" for line in log.splitlines()[-12:]]
    return "\n".join(lines)


def test_two_pods_train_as_one_world_and_a_killed_pod_retries_the_attempt(
    cluster: Cluster, namespace: str, trainer_runtime: TrainerRuntime
) -> None:
    if trainer_runtime.kind != NODE:
        pytest.skip("2 pods find each other by cluster DNS names, which only the real node has")
    create_queries(cluster, namespace, "queries", addition_queries(125))
    trainer_runtime.provide_claim(namespace, CLAIM)
    manifest = trainingjob(
        "spread",
        queries="queries",
        mode=None,
        config={**TINY, "nIterations": ITERATIONS, "checkpointInterval": 50},
        runtime={
            "pods": 2,
            "backoffLimit": 2,
            "checkpointVolume": {"claimName": CLAIM},
            # Both pods on the node's 2 cores, with room for nothing else to preempt them.
            "resources": {"requests": {"cpu": "500m"}},
        },
        pricing=KILL_PRICING,
    )
    uid = apply(cluster, namespace, manifest)["metadata"]["uid"]
    (job,) = jobs_in(cluster, namespace)
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["spec"]["completions"] == job["spec"]["parallelism"] == 2
    service = cluster.get_json("service", job["metadata"]["name"], "-n", namespace)
    assert service["spec"]["clusterIP"] == "None"  # type: ignore[index]
    watcher = _CostWatcher(cluster, namespace, "spread")
    try:
        # Iterations are all-reduced across the 2 pods: progress means one world of 2.
        before = wait_for_iteration(cluster, namespace, "spread", 100, timeout=240)
        spent_before = Decimal(before["status"]["cost"]["costUsd"])

        def second_pod() -> tuple[str, str] | None:
            for pod in _pods(cluster, namespace, uid):
                container = _running_container(pod)
                if _index(pod) == "1" and container:
                    return pod["metadata"]["name"], container
            return None

        found: Any = wait_until(second_pod, 30, "the index-1 trainer container")
        killed_pod, container = found
        first_pods = {p["metadata"]["name"] for p in _pods(cluster, namespace, uid)}
        trainer_runtime.kill(container)
        try:
            done = wait_for(cluster, namespace, "spread", "Completed", timeout=420)
        except AssertionError as error:
            story = _story(cluster, namespace, uid, trainer_runtime)
            raise AssertionError(f"{error}\n{story}") from None
    finally:
        seen = watcher.stop()
    status = done["status"]
    assert status["phase"] == "Completed", status
    assert status["attempt"] == 2  # one attempt for the pair, not one per pod
    assert status["progress"]["currentIteration"] == ITERATIONS
    cost = Decimal(status["cost"]["costUsd"])
    assert spent_before <= cost <= Decimal(TINY["maxBudgetUsd"])
    assert seen == sorted(seen), seen  # the spend shown never went down

    pods = {p["metadata"]["name"]: p for p in _pods(cluster, namespace, uid)}
    killed = _trainer_state(pods[killed_pod])["terminated"]
    assert killed["exitCode"] == 137
    # Rank 0 lost its peer in a collective: its pod failed too, so the attempt was retried
    # as a pair (not a new index-1 pod joining a world that had gone).
    (first_main,) = (n for n in first_pods if _index(pods[n]) == "0")
    assert _trainer_state(pods[first_main])["terminated"]["exitCode"] != 0
    retried = {_index(p): n for n, p in pods.items() if n not in first_pods}
    assert set(retried) == {"0", "1"}, sorted(pods)
    for name in retried.values():
        assert _trainer_state(pods[name])["terminated"]["exitCode"] == 0

    main_log = trainer_runtime.trainer_log(namespace, retried["0"])
    record = next(line for line in main_log if line.get("event") == "ledger_of_record")
    assert record["attempt"] == 2
    resumed = next(line for line in main_log if line.get("event") == "resumed")
    assert resumed["iteration"] >= 50  # the checkpoint on the shared volume
    # The retry's ledger starts at the larger of the checkpoint's spend and the operator's
    # record (the first attempt's spend, which the status showed), counted once.
    recorded = Decimal(record["recordedUsd"])
    start = Decimal(resumed["costUsd"]) + Decimal(record["carriedUsd"])
    assert spent_before <= recorded <= start == max(recorded, Decimal(resumed["costUsd"]))
    assert start < cost
    iterations = [line["iteration"] for line in main_log if line.get("event") == "iteration"]
    assert all(i > resumed["iteration"] for i in iterations), iterations
    # The new index-1 pod is rank 1 of the new world and loaded the same checkpoint.
    peer_log = trainer_runtime.trainer_log(namespace, retried["1"])
    peer = next(line for line in peer_log if line.get("event") == "resumed")
    assert (peer.get("rank"), peer["iteration"]) == (1, resumed["iteration"])

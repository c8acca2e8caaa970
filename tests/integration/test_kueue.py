"""runtime.queueName with runtime.pods: Kueue admits the M trainer pods as one workload.

Kueue (the pinned release, a process against the real node's control plane) with a
ClusterQueue of 1 CPU: a TrainingJob of 2 pods of 600m is one Workload whose pod set counts
2 pods, and it stays pending as a whole (1.2 CPUs do not fit, though one pod would: no pod
is created); raising the quota to 2 CPUs admits it, both pods at once, and the run
completes through the queue.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.cluster import Cluster
from tests.support.kueue import API_VERSION, kueue_unavailable, running_kueue
from tests.support.trainer_runtime import NODE, TrainerRuntime
from tests.support.trainingjobs import (
    addition_queries,
    apply,
    create_queries,
    get,
    jobs_in,
    trainingjob,
    wait_for,
    wait_until,
)

pytestmark = [pytest.mark.usefixtures("operator"), pytest.mark.real_node]

CLUSTER_QUEUE = "trainers"
LOCAL_QUEUE = "team"


@pytest.fixture(scope="module")
def kueue(
    cluster: Cluster, trainer_runtime: TrainerRuntime, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    if trainer_runtime.kind != NODE:
        pytest.skip("the admitted pods find each other by cluster DNS names: the real node's")
    reason = kueue_unavailable()
    if reason:
        pytest.skip(reason)
    with running_kueue(cluster, tmp_path_factory.mktemp("kueue") / "kueue"):
        yield


def _apply(cluster: Cluster, *manifests: dict[str, Any]) -> None:
    stream = "\n---\n".join(json.dumps(m) for m in manifests)
    cluster.kubectl("apply", "-f", "-", stdin=stream)


def _cluster_queue(cpu: str) -> dict[str, Any]:
    quota = [{"name": "cpu", "nominalQuota": cpu}, {"name": "memory", "nominalQuota": "16Gi"}]
    return {
        "apiVersion": API_VERSION,
        "kind": "ClusterQueue",
        "metadata": {"name": CLUSTER_QUEUE},
        "spec": {
            "namespaceSelector": {},
            "resourceGroups": [
                {
                    "coveredResources": ["cpu", "memory"],
                    "flavors": [{"name": "default", "resources": quota}],
                }
            ],
        },
    }


def _workload(cluster: Cluster, namespace: str) -> dict[str, Any] | None:
    listed: Any = cluster.get_json("workloads.kueue.x-k8s.io", "-n", namespace)
    items = listed["items"]
    return dict(items[0]) if items else None


def _condition(workload: dict[str, Any], kind: str) -> dict[str, Any]:
    conditions = (workload.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == kind), {})


@pytest.mark.usefixtures("kueue")
def test_the_pods_of_a_run_are_admitted_together_or_not_at_all(
    cluster: Cluster, namespace: str
) -> None:
    flavor = {"apiVersion": API_VERSION, "kind": "ResourceFlavor", "metadata": {"name": "default"}}
    local = {
        "apiVersion": API_VERSION,
        "kind": "LocalQueue",
        "metadata": {"name": LOCAL_QUEUE, "namespace": namespace},
        "spec": {"clusterQueue": CLUSTER_QUEUE},
    }
    _apply(cluster, flavor, _cluster_queue("1"), local)
    create_queries(cluster, namespace, "queries", addition_queries(125))
    manifest = trainingjob(
        "queued",
        queries="queries",
        mode=None,
        config={"nIterations": 20, "batchSize": 4, "nTrajectoriesPerQuery": 4, "maxNewTokens": 3},
        runtime={
            "pods": 2,
            "queueName": LOCAL_QUEUE,
            "resources": {"requests": {"cpu": "600m", "memory": "1Gi"}},
        },
    )
    try:
        apply(cluster, namespace, manifest)
        pending: dict[str, Any] = wait_until(
            lambda: (w := _workload(cluster, namespace)) and _condition(w, "QuotaReserved") and w,
            60,
            "Kueue's Workload for the trainer Job",
        )
        # One workload, one pod set of both pods: 1.2 CPUs against 1, so neither is admitted.
        assert [(p["name"], p["count"]) for p in pending["spec"]["podSets"]] == [("main", 2)]
        reserved = _condition(pending, "QuotaReserved")
        assert reserved["status"] == "False"
        assert "insufficient quota for cpu" in reserved["message"], reserved
        time.sleep(3)
        (job,) = jobs_in(cluster, namespace)
        assert job["spec"]["suspend"] is True
        assert not cluster.get_json("pods", "-n", namespace)["items"]
        assert get(cluster, namespace, "queued")["status"]["phase"] == "Queued"

        _apply(cluster, _cluster_queue("2"))
        done = wait_for(cluster, namespace, "queued", "Completed", timeout=300)
        assert done["status"]["progress"]["currentIteration"] == 20
        admitted = _workload(cluster, namespace)
        assert admitted is not None
        assert _condition(admitted, "Admitted")["status"] == "True"
        (assignment,) = admitted["status"]["admission"]["podSetAssignments"]
        assert assignment["count"] == 2
        assert assignment["resourceUsage"]["cpu"] == "1200m"
    finally:
        cluster.kubectl("delete", "tj", "--all", "-n", namespace, "--wait=true", check=False)

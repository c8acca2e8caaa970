"""A kube-apiserver restart mid-run: operator, shim, dev runner and trainer all recover.

The suite's own control plane is restarted (tools/controlplane/restart-apiserver.sh: the
same flags and port, etcd keeps the data) while the real trainer trains. The run must end
Completed with every iteration, under one Job, with a cost that never went down, and the
shim must answer for it afterwards.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from decimal import Decimal
from typing import Any

import pytest

from agentcore_training import labels
from tests.integration.rpc_support import result
from tests.support.cluster import CONTROLPLANE, Cluster
from tests.support.trainingjobs import addition_queries, apply, create_queries, get, trainingjob

# The shim fixture serves on the session's event loop: the test must run on it too.
pytestmark = [pytest.mark.usefixtures("operator"), pytest.mark.asyncio(loop_scope="session")]

ITERATIONS = 250


def _restart_apiserver(cluster: Cluster) -> float:
    if not cluster.started_here:
        pytest.skip("restarts kube-apiserver: needs the loopback control plane the suite starts")
    started = time.monotonic()
    subprocess.run(
        ["bash", str(CONTROLPLANE / "restart-apiserver.sh"), str(cluster.kubeconfig.parent)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return time.monotonic() - started


def _status_or_none(cluster: Cluster, namespace: str) -> dict[str, Any] | None:
    answer = cluster.kubectl("get", "tj", "restart", "-n", namespace, "-o", "json", check=False)
    if answer.returncode != 0:
        return None  # the apiserver is away
    status: dict[str, Any] = json.loads(answer.stdout).get("status") or {}
    return status


async def test_a_run_survives_an_apiserver_restart(
    cluster: Cluster, namespace: str, shim: tuple[str, str]
) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    manifest = trainingjob(
        "restart",
        queries="queries",
        mode=None,  # the real trainer
        config={
            "nIterations": ITERATIONS,
            "batchSize": 4,
            "nTrajectoriesPerQuery": 4,
            "maxNewTokens": 3,
            "checkpointInterval": 50,
        },
        evaluation={"heldOutFraction": 0},
    )
    uid = apply(cluster, namespace, manifest)["metadata"]["uid"]
    costs: list[Decimal] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = _status_or_none(cluster, namespace) or {}
        if int((status.get("progress") or {}).get("currentIteration") or 0) >= 2:
            break
        await asyncio.sleep(0.5)
    else:
        raise AssertionError("the run did not reach iteration 2")
    iteration_at_restart = int(status["progress"]["currentIteration"])
    assert iteration_at_restart < ITERATIONS, "the run ended before the restart: make it longer"
    downtime = _restart_apiserver(cluster)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = _status_or_none(cluster, namespace) or {}
        if (status.get("cost") or {}).get("costUsd") is not None:
            costs.append(Decimal(status["cost"]["costUsd"]))
        if status.get("phase") in ("Completed", "Failed", "Cancelled"):
            break
        await asyncio.sleep(0.5)
    done = get(cluster, namespace, "restart")["status"]
    assert done["phase"] == "Completed", done.get("conditions")
    assert done["progress"]["currentIteration"] == ITERATIONS
    assert costs == sorted(costs), "the cost went down"
    jobs = cluster.get_json("jobs", "-n", namespace, "-l", f"{labels.JOB_ID}={uid}")
    assert len(jobs["items"]) == 1  # type: ignore[arg-type]
    base, token = shim
    answer = await result(base, token, "training.get_status", {"job_id": uid})
    assert answer["status"] == "completed"
    assert answer["progress"]["current_iteration"] == ITERATIONS
    print(f"apiserver restarted at iteration {iteration_at_restart} in {downtime:.1f} s")

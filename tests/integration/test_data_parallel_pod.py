"""runtime.processesPerPod: 2 trainer processes in one pod (torchrun), through the operator
and the dev runner, against 1 process on the same work.

Same spec and seed, tokens-only pricing: the 2 ranks roll out the same trajectories as 1
process, so rank 0's single ledger must show the same spend and tokens (nothing counted
per rank), the run completes under one Job, and the Job's command is torchrun's.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cluster import Cluster
from tests.support.trainingjobs import (
    addition_queries,
    apply,
    create_queries,
    jobs_in,
    trainingjob,
    wait_for,
)

pytestmark = pytest.mark.usefixtures("operator")

CONFIG = {
    "nIterations": 4,
    "batchSize": 4,
    "nTrajectoriesPerQuery": 4,
    "maxNewTokens": 3,
    "learningRate": 1e-2,
    "checkpointInterval": 2,
    "maxBudgetUsd": "1.00",
    "seed": 7,
}
PRICING = {  # tokens only: compute time differs between any two runs
    "computeUsdPerHour": "0",
    "usdPer1kPromptTokens": "0.01",
    "usdPer1kCompletionTokens": "0.02",
}


def _manifest(name: str, processes: int) -> dict[str, Any]:
    return trainingjob(
        name,
        queries="queries",
        mode=None,  # the real trainer
        config=CONFIG,
        runtime={"processesPerPod": processes, "resources": {"requests": {"cpu": "1"}}},
        pricing=PRICING,
    )


def test_two_processes_in_one_pod_spend_as_one(cluster: Cluster, namespace: str) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    # Side by side: the two runs share the machine's cores, and the test's wall time.
    apply(cluster, namespace, _manifest("one", 1))
    apply(cluster, namespace, _manifest("two", 2))
    one = wait_for(cluster, namespace, "one", "Completed", timeout=240)["status"]
    two = wait_for(cluster, namespace, "two", "Completed", timeout=240)["status"]
    assert two["phase"] == "Completed"
    assert two["progress"]["currentIteration"] == 4
    assert two["attempt"] == one["attempt"] == 1  # one handshake: rank 0's
    assert two["metrics"]["tokens"] == one["metrics"]["tokens"] > 0
    assert two["metrics"]["avgReward"] == one["metrics"]["avgReward"]
    assert two["cost"]["costUsd"] == one["cost"]["costUsd"]  # no rank counted twice
    jobs = jobs_in(cluster, namespace)
    commands = {
        tuple(job["spec"]["template"]["spec"]["containers"][0]["command"][1:6]) for job in jobs
    }
    assert ("-m", "torch.distributed.run", "--nproc-per-node", "2", "--standalone") in commands
    assert len(jobs) == 2  # one Job each: nothing was retried

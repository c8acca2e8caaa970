"""The real trainer (`agentcore-trainer`, GRPO in PyTorch) under the operator, in the trainer
image on a real node (or on the dev runner where no node can start)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.cluster import Cluster
from tests.support.trainingjobs import (
    addition_queries,
    apply,
    create_queries,
    trainingjob,
    wait_for,
)

pytestmark = [pytest.mark.usefixtures("operator"), pytest.mark.real_node]


def test_real_grpo_run_reports_metrics_and_cost_into_status(
    cluster: Cluster, namespace: str
) -> None:
    create_queries(cluster, namespace, "queries", addition_queries(125))
    manifest = trainingjob(
        "real",
        queries="queries",
        mode=None,  # the default image: the real trainer
        config={
            "nIterations": 6,
            "batchSize": 4,
            "nTrajectoriesPerQuery": 4,
            "maxNewTokens": 3,
            "learningRate": 1e-3,
            "checkpointInterval": 3,
            "maxBudgetUsd": "1.00",
        },
        pricing={"computeUsdPerHour": "3.60", "usdPer1kCompletionTokens": "0.01"},
    )
    apply(cluster, namespace, manifest)
    done = wait_for(cluster, namespace, "real", "Completed", timeout=180)
    status = done["status"]
    assert status["phase"] == "Completed"
    assert status["attempt"] == 1  # the trainer's handshake: the first pod
    assert status["progress"] == {
        "currentIteration": 6,
        "totalIterations": 6,
        "percentComplete": 100,
    }
    metrics = status["metrics"]
    for key in ("avgReward", "stdReward", "loss", "kl", "clipRatio", "entropy", "tokens"):
        assert key in metrics, key
    assert metrics["tokens"] > 0
    cost = Decimal(status["cost"]["costUsd"])
    assert Decimal("0") < cost <= Decimal("1.00")
    assert Decimal(status["cost"]["budgetRemainingUsd"]) == Decimal("1.00") - cost
    assert status["bestCheckpointId"]
    assert len(status["history"]["iterations"]) >= 1


def test_evaluation_queries_of_their_own_are_admitted_mounted_and_evaluated(
    cluster: Cluster, namespace: str
) -> None:
    """spec.evaluation.queries in a ConfigMap: admission looks it up, the operator mounts it,
    the kubelet (or the dev runner) mounts it, and the trainer evaluates those 15 queries
    (the default split would hold out 20 of the 100 training ones)."""
    import json

    create_queries(cluster, namespace, "train-q", addition_queries(100))
    evaluation = {"queries": {"configMapRef": {"name": "eval-q"}}, "interval": 2}
    manifest = trainingjob(
        "own-eval",
        queries="train-q",
        mode=None,
        config={"nIterations": 2, "batchSize": 4, "nTrajectoriesPerQuery": 2, "maxNewTokens": 3},
        evaluation=evaluation,
    )
    refused = cluster.kubectl(
        "apply", "-n", namespace, "-f", "-", stdin=json.dumps(manifest), check=False
    )
    assert refused.returncode != 0
    assert 'spec.evaluation.queries.configMapRef: ConfigMap "eval-q" not found' in refused.stderr, (
        refused.stderr
    )
    own = "".join(
        json.dumps({"query": f"{a}+{b}+1=", "expected_outcome": {"answer": str(a + b + 1)}}) + "\n"
        for a in range(3)
        for b in range(5)
    )
    create_queries(cluster, namespace, "eval-q", own)
    apply(cluster, namespace, manifest)
    done = wait_for(cluster, namespace, "own-eval", "Completed", timeout=180)
    status = done["status"]["evaluation"]
    assert status["heldOutQueries"] == 15
    assert status["latest"]["queriesEvaluated"] == 15
    assert status["baseline"]["iteration"] == 0
    assert status["latest"]["iteration"] == 2

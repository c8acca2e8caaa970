"""The real trainer (`agentcore-trainer`, GRPO in PyTorch) under the operator and dev runner."""

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

pytestmark = pytest.mark.usefixtures("operator")


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

"""The real trainer in the calculator environment under the operator and the dev runner:
the episode metrics (steps, tool calls, tool errors, cut trajectories) reach the status."""

from __future__ import annotations

import json
import random
from decimal import Decimal

import pytest
import yaml

from tests.support.cluster import Cluster
from tests.support.trainingjobs import apply, create_queries, trainingjob, wait_for

pytestmark = pytest.mark.usefixtures("operator")


def multiplication_queries(count: int) -> str:
    """`count` JSON lines of distinct two-digit products a*b= with their answers."""
    rng = random.Random(7)  # noqa: S311 - test data, not a secret
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < count:
        pairs.add((rng.randint(10, 99), rng.randint(10, 99)))
    return "".join(
        json.dumps({"query": f"{a}*{b}=", "expected_outcome": {"answer": str(a * b)}}) + "\n"
        for a, b in sorted(pairs)
    )


def test_calculator_run_reports_episode_metrics_into_status(
    cluster: Cluster, namespace: str
) -> None:
    create_queries(cluster, namespace, "products", multiplication_queries(125))
    manifest = trainingjob(
        "calc",
        queries="products",
        mode=None,  # the default image: the real trainer
        config={
            "nIterations": 3,
            "batchSize": 4,
            "nTrajectoriesPerQuery": 4,
            "maxNewTokens": 14,
            "maxStepsPerTrajectory": 3,
            "gamma": 0.9,
            "learningRate": 5e-4,
            "checkpointInterval": 3,
            "maxBudgetUsd": "1.00",
        },
        # A short format warm start, so that some trajectories call the tool.
        policy={"model": "builtin:tiny", "warmStartSteps": 100},
        environment={"type": "calculator"},
        pricing={"computeUsdPerHour": "3.60", "usdPerToolCall": "0.0001"},
    )
    apply(cluster, namespace, manifest)
    wait_for(cluster, namespace, "calc", "Completed", timeout=240)
    # What `kubectl get tj -o yaml` shows.
    shown = yaml.safe_load(
        cluster.kubectl("get", "tj", "calc", "-n", namespace, "-o", "yaml").stdout
    )
    assert shown["spec"]["environment"]["type"] == "calculator"
    assert shown["spec"]["environment"]["malformedPenalty"] == 1.0  # the CRD's default
    status = shown["status"]
    assert status["phase"] == "Completed"
    assert status["progress"]["currentIteration"] == 3
    metrics = status["metrics"]
    steps = metrics["meanStepsPerTrajectory"]
    assert 1.0 <= steps <= 3.0
    assert 0.0 <= metrics["toolCallsPerTrajectory"] <= 3.0
    assert 0.0 <= metrics["toolErrorRate"] <= 1.0
    assert 0.0 <= metrics["fracTruncated"] <= 1.0
    for key in ("avgReward", "loss", "kl", "entropy", "tokens"):
        assert key in metrics, key
    cost = Decimal(status["cost"]["costUsd"])
    assert Decimal("0") < cost <= Decimal("1.00")

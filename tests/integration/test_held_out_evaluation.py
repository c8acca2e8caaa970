"""Held-out evaluation through the operator: the calculator agent gets better on queries it
never trained on, significantly, for three seeds; status.evaluation, bestCheckpointId and
the Improved condition say so."""

from __future__ import annotations

import pytest

from tests.integration.test_calculator_environment import multiplication_queries
from tests.support.cluster import Cluster
from tests.support.trainingjobs import apply, create_queries, trainingjob, wait_for

pytestmark = pytest.mark.usefixtures("operator")

SEEDS = (0, 1, 2)


def _calculator_job(name: str, seed: int) -> dict[str, object]:
    # The format-only warm start shows calc(...) and answer(...) on made-up examples; the
    # greedy baseline then answers at once, wrongly (0 of 25 in the runs measured). GRPO
    # learns that calling the tool pays, which carries over to unseen products.
    return trainingjob(
        name,
        queries="products",
        mode=None,  # the real trainer
        config={
            "nIterations": 12,
            "batchSize": 8,
            "nTrajectoriesPerQuery": 8,
            "maxNewTokens": 14,
            "maxStepsPerTrajectory": 3,
            "gamma": 0.9,
            "learningRate": 5e-4,
            "klCoef": 0.04,
            "checkpointInterval": 100,
            "maxBudgetUsd": "5.00",
            "seed": seed,
        },
        policy={"model": "builtin:tiny", "warmStartSteps": 600},
        environment={"type": "calculator", "malformedPenalty": 0.5},
        evaluation={"interval": 6},
    )


def test_calculator_agent_improves_on_held_out_queries(cluster: Cluster, namespace: str) -> None:
    create_queries(cluster, namespace, "products", multiplication_queries(125))
    for seed in SEEDS:
        apply(cluster, namespace, _calculator_job(f"calc-eval-{seed}", seed))
    for seed in SEEDS:
        status = wait_for(cluster, namespace, f"calc-eval-{seed}", "Completed", timeout=1500)[
            "status"
        ]
        evaluation = status["evaluation"]
        baseline, best, latest = evaluation["baseline"], evaluation["best"], evaluation["latest"]
        assert evaluation["heldOutQueries"] == 25
        assert baseline["iteration"] == 0
        assert latest["iteration"] == 12
        assert evaluation["history"]["iterations"] == [0, 6, 12]
        before, after = baseline["metrics"]["successRate"], latest["metrics"]["successRate"]
        p_value = latest["comparison"]["pValue"]
        print(f"seed {seed}: held-out success {before:.2f} -> {after:.2f}, p = {p_value:.2g}")
        assert after > before
        assert p_value < 0.05
        assert latest["comparison"]["statisticallySignificant"] is True
        assert status["bestCheckpointId"] == best["checkpointId"]
        assert best["metrics"]["successRate"] >= after
        improved = {c["type"]: c for c in status["conditions"]}["Improved"]
        assert improved["status"] == "True", improved
        assert improved["reason"] == "SignificantlyBetter"

"""training.evaluate over real HTTP, against the shim on a real kube-apiserver.

The evaluation is written into the status as the operator writes it (the status subresource,
the trainer's evaluation book's report), so the CRD's status schema is checked too."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from typing import Any

import pytest

from agentcore_training.api.evaluation import EvaluationMetrics
from agentcore_training.api.evaluation_spec import EvaluationMetric
from agentcore_training.trainer.evaluation_book import EvaluationBook, Scores
from tests.integration.rpc_support import error, queries, result, service_account_token
from tests.support.cluster import Cluster

pytestmark = pytest.mark.asyncio(loop_scope="session")
HELD_OUT = 25


def recorded_evaluation() -> dict[str, object]:
    """status.evaluation after a baseline (5 of 25) and two evaluations (20, then 15 of 25)."""
    book = EvaluationBook(
        metric=EvaluationMetric.SUCCESS_RATE, held_out_queries=HELD_OUT, binary=True
    )
    for iteration, hits in ((0, 5), (10, 20), (20, 15)):
        success = [1.0] * hits + [0.0] * (HELD_OUT - hits)
        book.add(
            iteration=iteration,
            checkpoint_id=f"ckpt-{iteration:06d}",
            metrics=EvaluationMetrics(
                success_rate=hits / HELD_OUT,
                mean_reward=hits / HELD_OUT,
                mean_steps=1.0,
                tool_calls_per_trajectory=0.0,
            ),
            scores=Scores(success, success),
            duration_ms=100 + iteration,
            cost_usd=Decimal("0.0005"),
        )
    return book.status().to_wire()


async def test_evaluate_before_and_after_an_evaluation_is_recorded(
    cluster: Cluster, namespace: str, shim: tuple[str, str]
) -> None:
    base, token = shim
    given = {"agent_id": "eval-bot", "training_queries": queries(125)}
    started = await result(base, token, "training.start_grpo", given)
    job_id = started["job_id"]
    early = await error(base, token, "training.evaluate", [job_id])
    assert early["code"] == -32006
    assert early["message"].startswith(f"Job {job_id} has no held-out evaluation yet (queued)")
    assert early["data"] == {"status": "queued", "message": None}
    assert (await result(base, token, "training.get_status", [job_id]))["evaluation"] is None

    status = {"phase": "Running", "evaluation": recorded_evaluation()}
    cluster.kubectl(
        "patch",
        "trainingjob",
        started["name"],
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": status}),
    )
    deadline = time.monotonic() + 30
    while (await call_status(base, token, job_id))["evaluation"] is None:
        assert time.monotonic() < deadline, "the watch cache did not see the evaluation"
        await asyncio.sleep(0.1)

    latest = await result(base, token, "training.evaluate", {"job_id": job_id})
    assert (latest["checkpoint_id"], latest["iteration"], latest["best"]) == (
        "ckpt-000020",
        20,
        False,
    )
    assert latest["metrics"]["success_rate"] == pytest.approx(0.6)
    comparison = latest["baseline_comparison"]
    assert comparison["success_rate_improvement"] == pytest.approx(0.4)
    assert comparison["p_value"] == pytest.approx(2 * 0.5**10)  # 10 discordant pairs, all up
    assert comparison["statistically_significant"] is True
    assert (latest["queries_evaluated"], latest["evaluation_duration_ms"]) == (HELD_OUT, 120)
    assert latest["cost_usd"] == 0.0005

    best = await result(base, token, "training.evaluate", [job_id, "ckpt-000010"])
    assert (best["best"], best["metrics"]["success_rate"]) == (True, pytest.approx(0.8))
    baseline = await result(base, token, "training.evaluate", [job_id, "ckpt-000000"])
    assert baseline["baseline_comparison"] is None

    unknown = await error(base, token, "training.evaluate", [job_id, "ckpt-000015"])
    assert unknown["code"] == -32007
    assert unknown["data"] == {
        "checkpoint_id": "ckpt-000015",
        "checkpoint_ids": ["ckpt-000000", "ckpt-000010", "ckpt-000020"],
    }

    got = (await call_status(base, token, job_id))["evaluation"]
    assert got["best"]["checkpoint_id"] == "ckpt-000010"
    assert got["history"]["success_rate"] == pytest.approx([0.2, 0.8, 0.6])

    # Same RBAC as get_status: a token of another namespace does not learn the job exists.
    with cluster.namespace("other") as other:
        stranger = service_account_token(cluster, other, "view")
        hidden = await error(base, stranger, "training.evaluate", [job_id])
        assert hidden == {"code": -32001, "message": f"Job {job_id} not found"}


async def call_status(base: str, token: str, job_id: str) -> dict[str, Any]:
    return await result(base, token, "training.get_status", [job_id])

"""The JSON-RPC shim against a real kube-apiserver: the original contract end to end, with a
real ServiceAccount token of the built-in `edit` role (our roles aggregate into it)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from tests.integration.rpc_support import (
    call,
    error,
    post,
    queries,
    request,
    result,
)
from tests.support.cluster import Cluster

pytestmark = pytest.mark.asyncio(loop_scope="session")
UNKNOWN = "00000000-0000-4000-8000-000000000000"


def get(cluster: Cluster, namespace: str, *what: str) -> dict[str, Any]:
    return cluster.get_json(*what, "-n", namespace)  # type: ignore[return-value]


async def test_start_status_list_cancel(
    cluster: Cluster, namespace: str, shim: tuple[str, str]
) -> None:
    base, token = shim
    started = await result(
        base,
        token,
        "training.start_grpo",
        {
            "agent_id": "support-bot",
            "training_queries": queries(120),
            "config": {"n_iterations": 3},
        },
    )
    job_id = started["job_id"]
    assert started == {
        "success": True,
        "job_id": job_id,
        "agent_id": "support-bot",
        "status": "queued",
        "total_iterations": 3,
        "budget_usd": 10.0,
        "created_at": started["created_at"],
        "namespace": namespace,
        "name": started["name"],
        "warnings": [],  # the webhook warned of nothing
    }
    assert started["name"].startswith("support-bot-")
    assert time.strptime(started["created_at"], "%Y-%m-%dT%H:%M:%SZ")

    # Read right after the write: the shim's own writes are visible to its next read.
    status = await result(base, token, "training.get_status", [job_id])
    assert status["status"] == "queued"
    assert status["progress"] == {
        "current_iteration": 0,
        "total_iterations": 3,
        "percent_complete": 0,
    }
    assert status["cost"] == {
        "cost_usd": 0,
        "budget_usd": 10.0,
        "budget_remaining_usd": 10.0,
        "budget_status": "ok",
    }
    assert status["best_checkpoint_id"] is None
    assert status["agent_id"] == "support-bot"

    other = await result(base, token, "training.start_grpo", ["other-bot", queries(100)])
    listed = await result(base, token, "training.list_jobs", {"agent_id": "support-bot"})
    assert listed["count"] == 1
    assert listed["jobs"] == [
        {
            "job_id": job_id,
            "agent_id": "support-bot",
            "status": "queued",
            "current_iteration": 0,
            "total_iterations": 3,
            "namespace": namespace,
            "name": started["name"],
            "created_at": started["created_at"],
        }
    ]
    everything = await result(base, token, "training.list_jobs", {"namespace": namespace})
    assert {job["job_id"] for job in everything["jobs"]} == {job_id, other["job_id"]}

    cancelled = await result(base, token, "training.cancel", {"job_id": job_id})
    assert cancelled["success"] is True
    assert cancelled["job_id"] == job_id
    assert cancelled["status"] == "cancelled"
    assert time.strptime(cancelled["cancelled_at"], "%Y-%m-%dT%H:%M:%SZ")

    tj = get(cluster, namespace, "trainingjob", started["name"])
    assert tj["spec"]["cancel"] is True
    assert tj["metadata"]["uid"] == job_id
    assert tj["metadata"]["labels"]["training.agentcore.dev/agent-id"] == "support-bot"
    assert tj["spec"]["queries"]["configMapRef"]["name"] == f"{started['name']}-queries"

    configmap = get(cluster, namespace, "configmap", f"{started['name']}-queries")
    assert configmap["immutable"] is True
    lines = configmap["data"]["queries.jsonl"].splitlines()
    assert len(lines) == 120
    assert json.loads(lines[0]) == {"query": "what is 0 + 1?", "expected_outcome": {"answer": "1"}}
    [owner] = configmap["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("TrainingJob", started["name"], job_id)


async def test_defaults_when_config_is_omitted(
    cluster: Cluster, namespace: str, shim: tuple[str, str]
) -> None:
    base, token = shim
    started = await result(
        base, token, "training.start_grpo", {"agent_id": "bot", "training_data": queries()}
    )
    assert (started["total_iterations"], started["budget_usd"]) == (10, 10.0)
    config = get(cluster, namespace, "trainingjob", started["name"])["spec"]["config"]
    assert (config["nIterations"], config["maxBudgetUsd"], config["checkpointInterval"]) == (
        10,
        "10.00",
        5,
    )


async def test_deleting_the_job_deletes_its_queries(
    cluster: Cluster, namespace: str, shim: tuple[str, str]
) -> None:
    base, token = shim
    started = await result(base, token, "training.start_grpo", ["gc-bot", queries()])
    cluster.kubectl("delete", "trainingjob", started["name"], "-n", namespace)
    deadline = time.monotonic() + 60
    while (
        cluster.kubectl(
            "get", "configmap", f"{started['name']}-queries", "-n", namespace, check=False
        ).returncode
        == 0
    ):
        assert time.monotonic() < deadline, "the garbage collector kept the queries ConfigMap"
        await asyncio.sleep(0.5)
    assert (await error(base, token, "training.get_status", [started["job_id"]]))["code"] == -32001


@pytest.mark.parametrize(
    ("method", "params", "code", "message"),
    [
        (
            "training.start_grpo",
            {"training_queries": queries()},
            -32602,
            "Missing required parameter: agent_id",
        ),
        (
            "training.start_grpo",
            {"agent_id": "bot"},
            -32602,
            "Missing required parameter: training_queries",
        ),
        (
            "training.start_grpo",
            {"agent_id": "bot", "training_queries": queries(99)},
            -32602,
            "training_queries must contain at least 100 queries, got 99",
        ),
        (
            "training.start_grpo",
            {"agent_id": "bot", "training_queries": queries(), "config": {"n_iterations": 0}},
            -32602,
            "Invalid config.n_iterations",
        ),
        (
            "training.start_grpo",
            {"agent_id": "bot", "training_queries": queries(), "config": {"max_budget_usd": "-5"}},
            -32602,
            "Invalid config.max_budget_usd",
        ),
        (
            "training.start_grpo",
            {"agent_id": "bot", "training_queries": queries(), "config": {"learning_rate": 2}},
            -32602,
            "Invalid config.learning_rate",
        ),
        ("training.get_status", {}, -32602, "Parameter required: job_id"),
        ("training.get_status", {"namespace": "x"}, -32602, "Missing required parameter: job_id"),
        ("training.get_status", {"job_id": "job-42"}, -32602, "Invalid job_id format: job-42"),
        ("training.get_status", [UNKNOWN], -32001, f"Job {UNKNOWN} not found"),
        ("training.cancel", {}, -32602, "Parameter required: job_id"),
        ("training.cancel", ["42"], -32602, "Invalid job_id format: 42"),
        ("training.cancel", {"job_id": UNKNOWN}, -32001, f"Job {UNKNOWN} not found"),
        ("training.nope", {}, -32601, "Method not found"),
    ],
)
async def test_errors_of_the_original_contract(
    shim: tuple[str, str], method: str, params: Any, code: int, message: str
) -> None:
    base, token = shim
    found = await error(base, token, method, params)
    assert found["code"] == code
    assert found["message"].startswith(message), found["message"]


async def test_errors_in_one_batch_and_nothing_left_behind(
    cluster: Cluster, namespace: str, shim: tuple[str, str]
) -> None:
    base, token = shim
    big = [{"query": "x" * 12000, "expected_outcome": {"answer": "y"}} for _ in range(100)]
    status, answers = await post(
        base,
        token,
        [
            request("training.start_grpo", {"agent_id": "big-bot", "training_queries": big}),
            request("training.start_grpo", {"agent_id": "bot", "training_queries": queries(5)}),
            request("training.list_jobs", {"agent_id": "big-bot"}),
        ],
    )
    assert status == 200
    too_big, too_few, listed = answers
    assert too_big["error"]["code"] == -32602
    assert "too large" in too_big["error"]["message"]
    assert too_few["error"]["message"].startswith("training_queries must contain at least 100")
    assert listed["result"] == {"success": True, "jobs": [], "count": 0, "total_count": 0}
    assert (
        get(cluster, namespace, "configmaps", "-l", "training.agentcore.dev/agent-id")["items"]
        == []
    )


async def test_cancel_of_a_finished_job_is_refused(
    cluster: Cluster, namespace: str, shim: tuple[str, str]
) -> None:
    base, token = shim
    started = await result(base, token, "training.start_grpo", ["done-bot", queries()])
    cluster.kubectl(
        "patch",
        "trainingjob",
        started["name"],
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status": {"phase": "Completed"}}',
    )
    deadline = time.monotonic() + 30
    while (await result(base, token, "training.get_status", [started["job_id"]]))[
        "status"
    ] != "completed":
        assert time.monotonic() < deadline, "the watch cache did not see the status change"
        await asyncio.sleep(0.1)
    found = await error(base, token, "training.cancel", [started["job_id"]])
    assert found["code"] == -32002
    assert found["data"] == {"status": "completed"}
    assert "spec" in get(cluster, namespace, "trainingjob", started["name"])
    assert get(cluster, namespace, "trainingjob", started["name"])["spec"].get("cancel") is not True


async def test_discover_health_and_metrics(shim: tuple[str, str]) -> None:
    import aiohttp

    base, token = shim
    doc = await result(base, token, "rpc.discover")
    assert doc["openrpc"].startswith("1.")
    assert "training.start_grpo" in {m["name"] for m in doc["methods"]}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/readyz") as response:
            assert response.status == 200
        async with session.get(f"{base}/metrics") as response:
            assert 'method="rpc.discover"' in await response.text()
    assert (await call(base, token, "rpc.discover"))["id"] is not None


async def test_cancel_then_status_shows_cancelled(
    operator: object, namespace: str, shim: tuple[str, str]
) -> None:
    """Needs the operator (tests/conftest.py's `operator` fixture) to act on spec.cancel."""
    base, token = shim
    started = await result(base, token, "training.start_grpo", ["cancel-bot", queries()])
    await result(base, token, "training.cancel", [started["job_id"]])
    deadline = time.monotonic() + 120
    while (await result(base, token, "training.get_status", [started["job_id"]]))[
        "status"
    ] != "cancelled":
        assert time.monotonic() < deadline, "the job was not cancelled within 120 s"
        await asyncio.sleep(0.5)

"""An original client's session, replayed over real HTTP against the shim on the real control
plane, with the operator (and the dev runner, which runs the real trainer) at work.

The fixtures are the original client's: 100 queries of free-form outcomes, a config of
n_iterations 5, max_budget_usd "5.00" and checkpoint_interval 2; the calls and the checks are
the ones its tests made (`success: true`, `total_iterations == 5`, `budget_usd == 5.0`, the
defaults 10 and 10.0, its error messages, and money as numbers). Beside them, a newer client
asks for the trained model (the `output` param): the dev runner's PVCs are host folders, so
the test finds the model where get_status says it is.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentcore_training.api.output import OutputManifest
from agentcore_training.rpc.settings import ShimSettings
from tests.integration.rpc_support import (
    NO_RATE_LIMITS,
    post,
    running_shim,
    service_account_token,
)
from tests.support.cluster import Cluster
from tests.support.processes import dev_runner_claims

pytestmark = [
    pytest.mark.asyncio(loop_scope="session"),
    pytest.mark.usefixtures("operator"),
]

UNKNOWN = "00000000-0000-4000-8000-000000000000"
ORIGINAL_CONFIG = {"n_iterations": 5, "max_budget_usd": "5.00", "checkpoint_interval": 2}


def original_queries(n: int = 100) -> list[dict[str, Any]]:
    """The original client's fixture: queries whose outcomes are free-form objects."""
    return [
        {"query": f"Test query {i}", "expected_outcome": {"success": True, "result": "test"}}
        for i in range(n)
    ]


class Client:
    """What the original client did: POST one JSON-RPC request, read the answer."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self._ids = 0

    async def raw(self, method: str, params: Any = None, *, omit: bool = False) -> Any:
        self._ids += 1
        body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": self._ids}
        if not omit:
            body["params"] = params
        status, answer = await post(self.base, self.token, body)
        assert status == 200, (status, answer)
        assert answer["id"] == self._ids
        return answer

    async def ok(self, method: str, params: Any = None) -> dict[str, Any]:
        answer = await self.raw(method, params)
        assert "result" in answer, answer
        result: dict[str, Any] = answer["result"]
        assert result["success"] is True
        return result

    async def fails(self, method: str, params: Any = None, *, omit: bool = False) -> Any:
        answer = await self.raw(method, params, omit=omit)
        assert "error" in answer, answer
        return answer["error"]


@pytest.fixture
async def client(rbac: Cluster, namespace: str) -> AsyncIterator[Client]:
    """A new user (ServiceAccount) and the shim with the documented rate limits (polling once
    a second stays within them)."""
    token = service_account_token(rbac, namespace, "edit", wait_for="cancel")
    defaults = {name: ShimSettings.model_fields[name].default for name in NO_RATE_LIMITS}
    async with running_shim(rbac, namespace=namespace, **defaults) as base:
        yield Client(base, token)


async def wait_status(
    client: Client, job_id: str, wanted: set[str], within: float
) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        status = await client.ok("training.get_status", {"job_id": job_id})
        if status["status"] in wanted:
            return status
        assert time.monotonic() < deadline, f"job {job_id} still {status['status']}"
        await asyncio.sleep(1.0)


async def test_start_with_the_original_fixtures(
    cluster: Cluster, namespace: str, client: Client
) -> None:
    started = await client.ok(
        "training.start_grpo",
        {
            "agent_id": "test-agent",
            "training_queries": original_queries(),
            "config": ORIGINAL_CONFIG,
        },
    )
    assert started["total_iterations"] == 5
    assert started["budget_usd"] == 5.0
    assert isinstance(started["budget_usd"], float)
    assert started["status"] in ("queued", "running")
    assert started["agent_id"] == "test-agent"
    assert started["warnings"] == []  # nothing for the webhook to warn of
    tj = cluster.get_json("trainingjob", started["name"], "-n", namespace)
    assert tj["spec"]["reward"]["field"] == "result"  # picked, and written down
    assert tj["spec"]["config"]["maxBudgetUsd"] == "5.00"  # the resource keeps strings


async def test_defaults_without_config(client: Client) -> None:
    started = await client.ok(
        "training.start_grpo", {"agent_id": "test-agent", "training_queries": original_queries()}
    )
    assert (started["total_iterations"], started["budget_usd"]) == (10, 10.0)
    await client.ok("training.cancel", {"job_id": started["job_id"]})


@pytest.mark.parametrize(
    ("method", "params", "omit", "message"),
    [
        ("training.start_grpo", None, True, "Parameters required: agent_id, training_queries"),
        ("training.start_grpo", None, False, "Parameters required: agent_id, training_queries"),
        ("training.start_grpo", {}, False, "Parameters required: agent_id, training_queries"),
        (
            "training.start_grpo",
            {"training_queries": original_queries()},
            False,
            "Missing required parameter: agent_id",
        ),
        (
            "training.start_grpo",
            {"agent_id": "test-agent"},
            False,
            "Missing required parameter: training_queries",
        ),
        (
            "training.start_grpo",
            {"agent_id": "test-agent", "training_queries": original_queries(50)},
            False,
            "training_queries must contain at least 100 queries, got 50",
        ),
        ("training.get_status", None, True, "Parameter required: job_id"),
        ("training.get_status", None, False, "Parameter required: job_id"),
        ("training.get_status", {}, False, "Parameter required: job_id"),
        ("training.get_status", {"job_id": "invalid-uuid"}, False, "Invalid job_id format"),
        ("training.get_status", {"job_id": UNKNOWN}, False, f"Job {UNKNOWN} not found"),
        ("training.cancel", {}, False, "Parameter required: job_id"),
        ("training.cancel", None, False, "Parameter required: job_id"),
        ("training.cancel", {"job_id": "invalid-uuid"}, False, "Invalid job_id format"),
        ("training.cancel", {"job_id": UNKNOWN}, False, f"Job {UNKNOWN} not found"),
    ],
)
async def test_the_original_error_messages(
    client: Client, method: str, params: Any, omit: bool, message: str
) -> None:
    found = await client.fails(method, params, omit=omit)
    assert found["message"].startswith(message), found
    assert found["code"] == (-32001 if "not found" in message else -32602)


async def test_outcomes_without_a_reward_field_say_how_to_name_one(client: Client) -> None:
    queries = [
        {"query": f"q{i}", "expected_outcome": {"test_passed": True, "execution_time_ms": 100}}
        for i in range(100)
    ]
    found = await client.fails(
        "training.start_grpo", {"agent_id": "test-agent", "training_queries": queries}
    )
    assert found["code"] == -32602
    assert "execution_time_ms, test_passed" in found["message"]
    assert '"reward": {"field": "execution_time_ms"}' in found["message"]
    named = await client.ok(
        "training.start_grpo",
        {
            "agent_id": "test-agent",
            "training_queries": queries,
            "reward": {"type": "numeric", "field": "execution_time_ms"},
            "config": ORIGINAL_CONFIG,
        },
    )
    await client.ok("training.cancel", {"job_id": named["job_id"]})


async def test_list_jobs_all_filtered_empty_and_without_params(client: Client) -> None:
    a = await client.ok("training.start_grpo", ["agent-a", original_queries(), ORIGINAL_CONFIG])
    b = await client.ok("training.start_grpo", ["agent-b", original_queries(), ORIGINAL_CONFIG])
    everything = await client.ok("training.list_jobs", {})
    assert {job["job_id"] for job in everything["jobs"]} == {a["job_id"], b["job_id"]}
    assert everything["count"] == 2
    for omitted in (
        await client.raw("training.list_jobs", omit=True),
        await client.raw("training.list_jobs", None),
    ):
        assert omitted["result"]["count"] == 2
    filtered = await client.ok("training.list_jobs", {"agent_id": "agent-a"})
    assert [job["job_id"] for job in filtered["jobs"]] == [a["job_id"]]
    assert filtered["count"] == 1
    job = filtered["jobs"][0]
    assert {"job_id", "agent_id", "status", "current_iteration", "total_iterations"} <= set(job)
    assert job["total_iterations"] == 5
    empty = await client.ok("training.list_jobs", {"agent_id": "nobody"})
    assert (empty["jobs"], empty["count"]) == ([], 0)
    for started in (a, b):
        await client.ok("training.cancel", {"job_id": started["job_id"]})


async def test_the_webhooks_warnings_reach_the_client(client: Client) -> None:
    """What kubectl prints as `Warning:` on create, a JSON-RPC client reads in `warnings`."""
    started = await client.ok(
        "training.start_grpo",
        {
            "agent_id": "warned-agent",
            "training_queries": original_queries(),
            "config": {"n_iterations": 1000, "max_budget_usd": "5.00"},
            "output": {"claim_name": "models", "merge": True},  # merge, but no LoRA
        },
    )
    assert any("no LoRA" in warning for warning in started["warnings"]), started
    await client.ok("training.cancel", {"job_id": started["job_id"]})


async def test_cancel_of_a_long_run(client: Client) -> None:
    started = await client.ok(
        "training.start_grpo",
        {
            "agent_id": "long-agent",
            "training_queries": original_queries(),
            "config": {"n_iterations": 1000, "max_budget_usd": "5.00"},
        },
    )
    await wait_status(client, started["job_id"], {"running"}, within=120)
    cancelled = await client.ok("training.cancel", {"job_id": started["job_id"]})
    assert cancelled["job_id"] == started["job_id"]
    assert cancelled["status"] in ("cancelled", "completed")
    assert cancelled["cancelled_at"]
    final = await wait_status(client, started["job_id"], {"cancelled", "completed"}, within=120)
    assert final["progress"]["current_iteration"] < 1000


async def test_full_lifecycle(cluster: Cluster, namespace: str, client: Client) -> None:
    started = await client.ok(
        "training.start_grpo",
        {
            "agent_id": "lifecycle-agent",
            "training_queries": original_queries(),
            "config": ORIGINAL_CONFIG,
        },
    )
    job_id = started["job_id"]
    first = await client.ok("training.get_status", {"job_id": job_id})
    assert first["status"] in ("queued", "running")
    assert first["progress"]["total_iterations"] == 5
    done = await wait_status(client, job_id, {"completed", "failed", "cancelled"}, within=240)
    assert done["status"] == "completed", done
    assert done["progress"] == {
        "current_iteration": 5,
        "total_iterations": 5,
        "percent_complete": 100,
    }
    cost = done["cost"]
    assert all(isinstance(cost[key], int | float) for key in cost if key.endswith("_usd"))
    assert cost["budget_usd"] == 5.0
    assert 0 < cost["cost_usd"] <= 5.0
    assert abs(cost["cost_usd"] + cost["budget_remaining_usd"] - 5.0) < 1e-9
    assert "avg_reward" in done["metrics"]
    assert done["best_checkpoint_id"]
    listed = await client.ok("training.list_jobs", {"agent_id": "lifecycle-agent"})
    assert listed["jobs"][0]["status"] == "completed"
    assert listed["jobs"][0]["current_iteration"] == 5
    refused = await client.fails("training.cancel", {"job_id": job_id})
    assert refused["code"] == -32002
    # No output param: no spec.output, and the status says that nothing was kept.
    assert "output" not in cluster.get_json("tj", started["name"], "-n", namespace)["spec"]
    assert done["output"]["kept"] is False


async def test_a_newer_client_keeps_the_trained_model(
    cluster: Cluster, namespace: str, client: Client, dev_runner: subprocess.Popen[bytes]
) -> None:
    given: dict[str, Any] = {
        "agent_id": "kept-agent",
        "training_queries": original_queries(),
        "config": {"n_iterations": 2, "max_budget_usd": "5.00"},
    }
    bad = await client.fails(
        "training.start_grpo", {**given, "output": {"claim_name": "models", "path": "../up"}}
    )
    assert bad["code"] == -32602
    assert bad["message"].startswith("Invalid output.path: must be a relative folder path")
    started = await client.ok("training.start_grpo", {**given, "output": {"claim_name": "models"}})
    name = started["name"]
    spec = cluster.get_json("tj", name, "-n", namespace)["spec"]
    assert spec["output"] == {"claimName": "models", "path": name, "merge": False}
    done = await wait_status(client, started["job_id"], {"completed", "failed"}, within=300)
    assert done["status"] == "completed", done
    output = done["output"]
    assert (output["kept"], output["claim_name"], output["path"]) == (True, "models", name)
    assert output["manifest"] == f"{name}/manifest.json"
    assert output["final"]["folder"] == f"{name}/final"
    root = dev_runner_claims(dev_runner, namespace) / "models"
    manifest = OutputManifest.model_validate_json((root / output["manifest"]).read_text())
    assert (manifest.job_id, manifest.iteration) == (started["job_id"], 2)
    assert (root / output["final"]["folder"] / "config.json").is_file()


async def test_batch_and_notification_as_the_original_client_sent_them(client: Client) -> None:
    status, answers = await post(
        client.base,
        client.token,
        [
            {"jsonrpc": "2.0", "method": "training.list_jobs", "params": None, "id": "a"},
            {"jsonrpc": "2.0", "method": "training.get_status", "params": [UNKNOWN], "id": "b"},
            {"jsonrpc": "2.0", "method": "training.list_jobs"},
        ],
    )
    assert status == 200
    by_id = {answer["id"]: answer for answer in answers}
    assert set(by_id) == {"a", "b"}
    assert by_id["a"]["result"]["success"] is True
    assert by_id["b"]["error"]["code"] == -32001

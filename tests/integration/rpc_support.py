"""Helpers of the JSON-RPC shim's integration tests: a shim on a free loopback port (as its
own ServiceAccount), real ServiceAccount tokens (TokenRequest) bound to roles, and calls
over HTTP."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from agentcore_training.kube.client import KubeClient
from agentcore_training.rpc.app import READY, create_app
from agentcore_training.rpc.settings import ShimSettings
from tests.support.cluster import Cluster
from tests.support.identities import SHIM, kubeconfig_for

REPO = Path(__file__).resolve().parents[2]
RBAC_DIR = REPO / "manifests" / "rbac"
AUDIENCE = "agentcore-rpc"
RESOURCE = "trainingjobs.training.agentcore.dev"
_ids = itertools.count(1)


def queries(n: int = 100) -> list[dict[str, Any]]:
    return [
        {"query": f"what is {i} + 1?", "expected_outcome": {"answer": str(i + 1)}} for i in range(n)
    ]


NO_RATE_LIMITS = {
    "rate_limit_start_grpo_per_minute": 0,
    "rate_limit_get_status_per_minute": 0,
    "rate_limit_cancel_per_minute": 0,
    "rate_limit_list_jobs_per_minute": 0,
    "rate_limit_evaluate_per_minute": 0,
}


@asynccontextmanager
async def running_shim(cluster: Cluster, **overrides: Any) -> AsyncIterator[str]:
    """The shim in process, served on a free loopback port; its base URL, once ready.

    Without rate limits unless `overrides` name them: tests poll faster than clients may.
    It talks to the apiserver as its own ServiceAccount (manifests/rbac/rpc-shim.yaml)."""
    settings = ShimSettings(token_audiences=[AUDIENCE], **{**NO_RATE_LIMITS, **overrides})
    kubeconfig = kubeconfig_for(cluster, SHIM, can=("watch", RESOURCE, "--all-namespaces"))
    client = await KubeClient.connect(str(kubeconfig))
    app = create_app(settings, client=client)
    try:
        async with TestServer(app, host="127.0.0.1") as server:
            deadline = time.monotonic() + 30
            while not app[READY]():
                assert time.monotonic() < deadline, "the shim's cache did not sync in 30 s"
                await asyncio.sleep(0.05)
            yield str(server.make_url("")).rstrip("/")
    finally:
        await client.close()


def service_account_token(
    cluster: Cluster,
    namespace: str,
    role: str,
    *,
    bind_in: str | None = None,
    wait_for: str = "get",
    audience: str = AUDIENCE,
) -> str:
    """A new ServiceAccount in `namespace`, bound to ClusterRole `role` in `bind_in` (default:
    the same namespace); its token, once RBAC lets it `wait_for` trainingjobs there."""
    name = f"sa-{uuid.uuid4().hex[:6]}"
    where = bind_in or namespace
    cluster.kubectl("create", "serviceaccount", name, "-n", namespace)
    cluster.kubectl(
        "create",
        "rolebinding",
        name,
        "-n",
        where,
        f"--clusterrole={role}",
        f"--serviceaccount={namespace}:{name}",
    )
    wait_until_allowed(cluster, f"system:serviceaccount:{namespace}:{name}", wait_for, where)
    return cluster.kubectl(
        "create", "token", name, "-n", namespace, "--audience", audience, "--duration", "1h"
    ).stdout.strip()


def wait_until_allowed(
    cluster: Cluster, user: str, verb: str, namespace: str, groups: tuple[str, ...] = ()
) -> None:
    """RBAC (and role aggregation) take a moment to see a new binding."""
    deadline = time.monotonic() + 30
    as_groups = [f"--as-group={group}" for group in groups]
    while True:
        answer = cluster.kubectl(
            "auth",
            "can-i",
            verb,
            RESOURCE,
            "-n",
            namespace,
            "--as",
            user,
            *as_groups,
            check=False,
        ).stdout.strip()
        if answer == "yes":
            return
        assert time.monotonic() < deadline, f"{user} may still not {verb} {RESOURCE} in {namespace}"
        time.sleep(0.2)


async def post(base: str, token: str | None, body: Any) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{base}/jsonrpc", data=data, headers=headers) as response,
    ):
        text = await response.text()
        return response.status, json.loads(text) if text else None


def request(method: str, params: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": next(_ids)}
    if params is not None:
        body["params"] = params
    return body


async def call(base: str, token: str, method: str, params: Any = None) -> dict[str, Any]:
    """One call; the whole answer object (result or error)."""
    status, answer = await post(base, token, request(method, params))
    assert status == 200, (status, answer)
    assert isinstance(answer, dict)
    return answer


async def result(base: str, token: str, method: str, params: Any = None) -> dict[str, Any]:
    answer = await call(base, token, method, params)
    assert "result" in answer, answer
    found: dict[str, Any] = answer["result"]
    return found


async def error(base: str, token: str, method: str, params: Any = None) -> dict[str, Any]:
    answer = await call(base, token, method, params)
    assert "error" in answer, answer
    found: dict[str, Any] = answer["error"]
    return found

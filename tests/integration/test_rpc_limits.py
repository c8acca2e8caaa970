"""Rate limits per authenticated user and method, on the real control plane: a call over the
limit is a documented error with retry_after_seconds and changes nothing; one tenant's
calls do not use up another's; 0 turns a limit off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.integration.rpc_support import (
    call,
    queries,
    result,
    running_shim,
    service_account_token,
)
from tests.support.cluster import Cluster

pytestmark = pytest.mark.asyncio(loop_scope="session")
UNKNOWN = "00000000-0000-4000-8000-000000000000"
RATE_LIMITED = -32005


@pytest.fixture
async def limited(rbac: Cluster, namespace: str) -> AsyncIterator[tuple[str, str, str]]:
    """(base URL, a token, another user's token) of a shim with small limits."""
    first = service_account_token(rbac, namespace, "edit", wait_for="create")
    second = service_account_token(rbac, namespace, "edit", wait_for="create")
    async with running_shim(
        rbac,
        namespace=namespace,
        rate_limit_start_grpo_per_minute=2,
        rate_limit_get_status_per_minute=3,
        rate_limit_list_jobs_per_minute=0,
    ) as base:
        yield base, first, second


def limited_error(answer: dict[str, Any], method: str, per_minute: int) -> None:
    error = answer["error"]
    assert error["code"] == RATE_LIMITED, answer
    assert error["message"].startswith("Rate limit exceeded"), error
    data = error["data"]
    assert data["method"] == method
    assert data["limit_per_minute"] == per_minute
    # One call a minute / per_minute comes back: at most that long to wait.
    assert 0 < data["retry_after_seconds"] <= 60 / per_minute


async def test_over_the_limit_is_refused_and_changes_nothing(
    cluster: Cluster, namespace: str, limited: tuple[str, str, str]
) -> None:
    base, token, _ = limited
    for _ in range(2):
        await result(base, token, "training.start_grpo", ["limited-bot", queries()])
    answer = await call(base, token, "training.start_grpo", ["limited-bot", queries()])
    limited_error(answer, "training.start_grpo", 2)
    jobs = cluster.get_json("trainingjobs", "-n", namespace)["items"]
    configmaps = cluster.get_json(
        "configmaps", "-n", namespace, "-l", "training.agentcore.dev/agent-id"
    )["items"]
    assert (len(jobs), len(configmaps)) == (2, 2)


async def test_limits_are_per_user_and_per_method(limited: tuple[str, str, str]) -> None:
    base, token, other = limited
    for _ in range(3):
        answer = await call(base, token, "training.get_status", [UNKNOWN])
        assert answer["error"]["code"] == -32001
    limited_error(
        await call(base, token, "training.get_status", [UNKNOWN]), "training.get_status", 3
    )
    # Another tenant is not starved, and other methods of the same user still run.
    assert (await call(base, other, "training.get_status", [UNKNOWN]))["error"]["code"] == -32001
    assert (await result(base, token, "training.list_jobs"))["success"] is True


async def test_zero_turns_a_limit_off(limited: tuple[str, str, str]) -> None:
    base, token, _ = limited
    for _ in range(150):  # over list_jobs's documented 100 a minute
        assert (await result(base, token, "training.list_jobs"))["success"] is True

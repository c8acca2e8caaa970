"""The progress endpoints while the apiserver is away: 503 with Retry-After, not a 500.

A narrow error-path test: the Kubernetes client is a stand-in that fails the way the real
one does when the apiserver is down (a refused connection) or overloaded (an ApiError 5xx).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from agentcore_training.api.contract import ATTEMPT_PATH_SUFFIX
from agentcore_training.controller.server import (
    PROGRESS_PATH,
    RETRY_AFTER_SECONDS,
    ProgressService,
    build_app,
)
from agentcore_training.controller.state import ClusterState
from agentcore_training.kube.client import ApiError

pytestmark = pytest.mark.asyncio(loop_scope="session")


class _AwayClient:
    """Every call fails as `failure()` says."""

    def __init__(self, failure: Callable[[], Exception]) -> None:
        self.failure = failure

    async def create(self, *_: Any, **__: Any) -> dict[str, Any]:
        raise self.failure()


def _refused() -> Exception:
    return aiohttp.ClientConnectionError("Cannot connect to host 127.0.0.1:6443")


def _overloaded() -> Exception:
    return ApiError(503, {"reason": "ServiceUnavailable", "message": "etcd is away"}, "")


def _forbidden() -> Exception:
    return ApiError(403, {"reason": "Forbidden", "message": "no"}, "")


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Callable[[], Exception]], Any]]:
    servers: list[TestServer] = []

    async def start(failure: Callable[[], Exception]) -> str:
        client: Any = _AwayClient(failure)
        service = ProgressService(client=client, state=ClusterState(), interval=1.0)
        server = TestServer(build_app(client, service, min_queries=100), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return str(server.make_url("")).rstrip("/")

    yield start
    for server in servers:
        await server.close()


@pytest.mark.parametrize("failure", [_refused, _overloaded])
@pytest.mark.parametrize("path", [PROGRESS_PATH, PROGRESS_PATH + ATTEMPT_PATH_SUFFIX])
async def test_apiserver_away_is_503_with_retry_after(
    serve: Any, failure: Callable[[], Exception], path: str
) -> None:
    base = await serve(failure)
    async with (
        aiohttp.ClientSession() as session,
        session.post(base + path, json={}, headers={"Authorization": "Bearer t"}) as reply,
    ):
        body = await reply.json()
        assert reply.status == 503, body
        assert reply.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
        assert "Kubernetes API" in body["error"]


async def test_an_apiserver_refusal_is_not_called_unavailable(serve: Any) -> None:
    """A 403 from the apiserver (the operator's own RBAC) is the operator's fault: a 500."""
    base = await serve(_forbidden)
    async with (
        aiohttp.ClientSession() as session,
        session.post(base + PROGRESS_PATH, json={}, headers={"Authorization": "Bearer t"}) as reply,
    ):
        assert reply.status == 500
        assert "Retry-After" not in reply.headers

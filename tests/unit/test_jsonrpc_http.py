"""The same rules over real HTTP (an aiohttp server on a loopback socket), with a test
authenticator: status codes (200, 204, 401, 413), health, readiness and metrics."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from agentcore_training.rpc.app import AUTHENTICATE, DISPATCHER, METRICS, READY, build_app
from agentcore_training.rpc.identity import Principal
from agentcore_training.rpc.settings import ShimSettings
from tests.unit import jsonrpc_examples as ex

# The server fixture lives in the session's event loop (the suite's fixture loop scope).
pytestmark = pytest.mark.asyncio(loop_scope="session")

GOOD = {"Authorization": "Bearer good-token", "Content-Type": "application/json"}


async def authenticate(token: str) -> Principal | None:
    return Principal("alice", groups=("system:authenticated",)) if token == "good-token" else None


class Ready:
    value = True

    def __call__(self) -> bool:
        return self.value


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Ready]]:
    ready = Ready()

    async def caller(params: dict[str, Any], context: Any) -> Any:
        return context.username

    async def parts(app: web.Application) -> AsyncIterator[None]:
        registry = ex.dispatcher(observer=app[METRICS].observe)
        registry.add("whoami", caller)
        app[DISPATCHER] = registry  # type: ignore[assignment]
        app[AUTHENTICATE] = authenticate
        app[READY] = ready
        yield

    app = build_app(ShimSettings(max_request_bytes=2048), parts)
    async with TestServer(app, host="127.0.0.1") as test_server:
        yield str(test_server.make_url("")).rstrip("/"), ready


async def post(
    base: str, body: str | bytes, headers: dict[str, str] | None = None
) -> tuple[int, Any, aiohttp.typedefs.LooseHeaders]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base}/jsonrpc", data=body, headers=GOOD if headers is None else headers
        ) as response,
    ):
        text = await response.text()
        return response.status, (json.loads(text) if text else None), response.headers


@pytest.mark.parametrize(
    ("body", "expected"),
    [pytest.param(body, expected, id=name) for name, body, expected in ex.SPEC_EXAMPLES],
)
async def test_specification_examples_over_http(
    server: tuple[str, Ready], body: str, expected: Any
) -> None:
    status, answer, headers = await post(server[0], body)
    if expected is None:
        assert (status, answer) == (204, None)
    else:
        assert status == 200
        assert headers["Content-Type"].startswith("application/json")
        assert ex.matches(answer, expected), answer


async def test_the_caller_reaches_the_method(server: tuple[str, Ready]) -> None:
    status, answer, _ = await post(server[0], '{"jsonrpc":"2.0","method":"whoami","id":1}')
    assert (status, answer["result"]) == (200, "alice")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic Z29vZC10b2tlbjo="},
        {"Authorization": "good-token"},
        {"Authorization": "Bearer good-token extra"},
    ],
    ids=["none", "wrong", "empty", "basic", "no-scheme", "two-words"],
)
async def test_missing_or_bad_credentials_are_401_and_nothing_runs(
    server: tuple[str, Ready], headers: dict[str, str]
) -> None:
    ex.NOTIFIED.clear()
    body = '{"jsonrpc":"2.0","method":"notify_hello","params":[1]}'
    status, answer, response_headers = await post(server[0], body, headers)
    assert status == 401
    assert response_headers["WWW-Authenticate"].startswith("Bearer")
    assert answer["error"]["code"] == -32000
    assert answer["id"] is None
    assert ex.NOTIFIED == []


async def test_bodies_over_the_limit_are_413(server: tuple[str, Ready]) -> None:
    body = json.dumps({"jsonrpc": "2.0", "method": "echo", "params": ["x" * 4096], "id": 1})
    status, answer, _ = await post(server[0], body)
    assert status == 413
    assert answer["error"]["code"] == -32600


async def test_chunked_bodies_over_the_limit_are_413(server: tuple[str, Ready]) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b" " * 1024

    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server[0]}/jsonrpc", data=chunks(), headers=GOOD) as response,
    ):
        assert response.status == 413


async def test_only_post_is_served(server: tuple[str, Ready]) -> None:
    async with aiohttp.ClientSession() as session, session.get(f"{server[0]}/jsonrpc") as response:
        assert response.status == 405


async def test_health_readiness_and_metrics(server: tuple[str, Ready]) -> None:
    base, ready = server
    await post(
        base, '[{"jsonrpc":"2.0","method":"get_data","id":1},{"jsonrpc":"2.0","method":"x","id":2}]'
    )
    await post(base, "{}", {})
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/healthz") as response:
            assert response.status == 200
        async with session.get(f"{base}/readyz") as response:
            assert response.status == 200
        ready.value = False
        async with session.get(f"{base}/readyz") as response:
            assert response.status == 503
        async with session.get(f"{base}/metrics") as response:
            text = await response.text()
    assert 'agentcore_rpc_requests_total{code="0",method="get_data"} 1.0' in text
    assert 'agentcore_rpc_requests_total{code="-32601",method="<unknown>"} 1.0' in text
    assert 'agentcore_rpc_http_requests_total{status="401"} 1.0' in text
    assert "agentcore_rpc_request_duration_seconds_bucket" in text

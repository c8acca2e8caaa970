"""The methods and request/answer pairs of the JSON-RPC 2.0 specification's section 7.

Shared by the in-process dispatcher tests and the same tests over real HTTP.
"""

from __future__ import annotations

from typing import Any

from agentcore_training.rpc.errors import RpcError
from agentcore_training.rpc.protocol import Dispatcher, Observer

Context = str
NOTIFIED: list[tuple[str, dict[str, Any]]] = []


async def subtract(params: dict[str, Any], _: Context) -> Any:
    return params["minuend"] - params["subtrahend"]


async def sum_(params: dict[str, Any], _: Context) -> Any:
    return sum(params.values())


async def update(params: dict[str, Any], _: Context) -> Any:
    NOTIFIED.append(("update", params))


async def notify_hello(params: dict[str, Any], _: Context) -> Any:
    NOTIFIED.append(("notify_hello", params))


async def notify_sum(params: dict[str, Any], _: Context) -> Any:
    NOTIFIED.append(("notify_sum", params))


async def get_data(params: dict[str, Any], _: Context) -> Any:
    return ["hello", 5]


async def echo(params: dict[str, Any], context: Context) -> Any:
    return {"params": params, "caller": context}


async def boom(params: dict[str, Any], _: Context) -> Any:
    raise RuntimeError("secret database password is hunter2")


async def refuse(params: dict[str, Any], _: Context) -> Any:
    raise RpcError(-32001, "Job 123 not found", {"why": "test"})


async def not_json(params: dict[str, Any], _: Context) -> Any:
    return {1, 2}


def dispatcher(max_batch: int = 100, observer: Observer | None = None) -> Dispatcher[Context]:
    registry: Dispatcher[Context] = Dispatcher(max_batch=max_batch, observer=observer)
    registry.add("subtract", subtract, ("minuend", "subtrahend"))
    registry.add("sum", sum_, ("a", "b", "c", "d", "e"))
    registry.add("update", update, ("a", "b", "c", "d", "e"))
    registry.add("notify_hello", notify_hello, ("n",))
    registry.add("notify_sum", notify_sum, ("a", "b", "c"))
    registry.add("get_data", get_data)
    registry.add("echo", echo, ("x", "y"))
    registry.add("boom", boom)
    registry.add("refuse", refuse)
    registry.add("not_json", not_json)
    return registry


NOTHING = None  # the server answers nothing (HTTP 204)


def err(code: int, id_: Any = None) -> dict[str, Any]:
    """An error answer; only the code is compared (messages are checked elsewhere)."""
    return {"jsonrpc": "2.0", "error": {"code": code}, "id": id_}


def ok(result: Any, id_: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "result": result, "id": id_}


# (name, request body, expected answer): section 7 of https://www.jsonrpc.org/specification
SPEC_EXAMPLES: list[tuple[str, str, Any]] = [
    (
        "positional params",
        '{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}',
        ok(19, 1),
    ),
    (
        "positional params, reversed",
        '{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}',
        ok(-19, 2),
    ),
    (
        "named params",
        '{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, '
        '"id": 3}',
        ok(19, 3),
    ),
    (
        "named params, other order",
        '{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, '
        '"id": 4}',
        ok(19, 4),
    ),
    (
        "notification",
        '{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}',
        NOTHING,
    ),
    ("notification without params", '{"jsonrpc": "2.0", "method": "foobar"}', NOTHING),
    (
        "non-existent method",
        '{"jsonrpc": "2.0", "method": "foobar", "id": "1"}',
        err(-32601, "1"),
    ),
    (
        "invalid JSON",
        '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]',
        err(-32700),
    ),
    (
        "invalid Request object",
        '{"jsonrpc": "2.0", "method": 1, "params": "bar"}',
        err(-32600),
    ),
    (
        "batch, invalid JSON",
        '[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},'
        '{"jsonrpc": "2.0", "method"]',
        err(-32700),
    ),
    ("empty array", "[]", err(-32600)),
    ("invalid batch [1]", "[1]", [err(-32600)]),
    ("invalid batch [1,2,3]", "[1,2,3]", [err(-32600), err(-32600), err(-32600)]),
    (
        "mixed batch",
        """[
        {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
        {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
        {"foo": "boo"},
        {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
        {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
        ]""",
        [
            ok(7, "1"),
            ok(19, "2"),
            err(-32600),
            err(-32601, "5"),
            ok(["hello", 5], "9"),
        ],
    ),
    (
        "batch of notifications",
        """[
        {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
        {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
        ]""",
        NOTHING,
    ),
]


def matches(answer: Any, expected: Any) -> bool:
    """Whether an answer matches: error answers by code and id, results exactly."""
    if isinstance(expected, list):
        return (
            isinstance(answer, list)
            and len(answer) == len(expected)
            and all(matches(a, e) for a, e in zip(answer, expected, strict=True))
        )
    if expected is None or "result" in expected:
        return bool(answer == expected)
    return (
        isinstance(answer, dict)
        and set(answer) == {"jsonrpc", "error", "id"}
        and answer["jsonrpc"] == "2.0"
        and answer["id"] == expected["id"]
        and answer["error"]["code"] == expected["error"]["code"]
        and isinstance(answer["error"]["message"], str)
        and answer["error"]["message"]
    )

"""The JSON-RPC 2.0 dispatcher, in process: every example of the specification's section 7,
and the edge cases (ids, notifications that fail, batches, internal errors)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agentcore_training.rpc.protocol import Dispatcher, dumps, loads
from tests.unit import jsonrpc_examples as ex


async def call(body: str | bytes, registry: Dispatcher[str] | None = None) -> Any:
    answer = await (registry or ex.dispatcher()).handle(body, "alice")
    return None if answer is None else json.loads(answer)


@pytest.mark.parametrize(
    ("body", "expected"),
    [pytest.param(body, expected, id=name) for name, body, expected in ex.SPEC_EXAMPLES],
)
async def test_specification_examples(body: str, expected: Any) -> None:
    answer = await call(body)
    assert ex.matches(answer, expected), answer


async def test_notifications_run_but_are_not_answered() -> None:
    ex.NOTIFIED.clear()
    assert await call('{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}') is None
    assert ex.NOTIFIED == [("update", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})]


@pytest.mark.parametrize(
    "body",
    [
        '{"jsonrpc": "2.0", "method": "boom"}',
        '{"jsonrpc": "2.0", "method": "refuse"}',
        '{"jsonrpc": "2.0", "method": "no.such.method"}',
        '{"jsonrpc": "2.0", "method": "subtract", "params": [1, 2, 3]}',
        '{"jsonrpc": "2.0", "method": "not_json"}',
        '[{"jsonrpc": "2.0", "method": "boom"}, {"jsonrpc": "2.0", "method": "foobar"}]',
    ],
)
async def test_failing_notifications_are_never_answered(body: str) -> None:
    assert await call(body) is None


@pytest.mark.parametrize(
    "id_", ["1", "", "a b", 0, -7, 2**70, 1.5, None], ids=lambda v: f"id={v!r}"
)
async def test_ids_are_echoed_exactly(id_: Any) -> None:
    body = json.dumps({"jsonrpc": "2.0", "method": "get_data", "id": id_})
    answer = await call(body)
    assert answer == {"jsonrpc": "2.0", "result": ["hello", 5], "id": id_}
    assert type(answer["id"]) is type(id_)


async def test_null_id_is_a_call_not_a_notification() -> None:
    answer = await call('{"jsonrpc": "2.0", "method": "foobar", "id": null}')
    assert answer["id"] is None
    assert answer["error"]["code"] == -32601


@pytest.mark.parametrize("id_", ["true", "false", "{}", '{"a": 1}', "[1]", "[]"])
async def test_boolean_object_or_array_ids_are_invalid(id_: str) -> None:
    answer = await call(f'{{"jsonrpc": "2.0", "method": "get_data", "id": {id_}}}')
    assert ex.matches(answer, ex.err(-32600, None))


@pytest.mark.parametrize(
    "request_",
    [
        '{"method": "get_data", "id": 1}',
        '{"jsonrpc": "2", "method": "get_data", "id": 1}',
        '{"jsonrpc": 2.0, "method": "get_data", "id": 1}',
        '{"jsonrpc": "1.0", "method": "get_data", "id": 1}',
        '{"jsonrpc": "2.0", "id": 1}',
        '{"jsonrpc": "2.0", "method": null, "id": 1}',
        '{"jsonrpc": "2.0", "method": ["get_data"], "id": 1}',
        '{"jsonrpc": "2.0", "method": "get_data", "params": "x", "id": 1}',
        '{"jsonrpc": "2.0", "method": "get_data", "params": 3, "id": 1}',
    ],
)
async def test_invalid_requests_echo_a_valid_id(request_: str) -> None:
    answer = await call(request_)
    assert ex.matches(answer, ex.err(-32600, 1)), answer


@pytest.mark.parametrize("body", ["1", '"x"', "null", "true", "3.5"])
async def test_a_json_value_that_is_no_object_is_an_invalid_request(body: str) -> None:
    assert ex.matches(await call(body), ex.err(-32600))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"\xff\xfe{}",
        b'{"jsonrpc": "2.0", "method": "sum", "params": [NaN], "id": 1}',
        b'{"jsonrpc": "2.0", "method": "sum", "params": [1e999], "id": 1}',
        b"[" * 100000,
    ],
)
async def test_bodies_that_are_not_json_are_parse_errors(body: bytes) -> None:
    assert ex.matches(await call(body), ex.err(-32700))


async def test_an_empty_batch_gets_one_error_not_an_array() -> None:
    answer = await call("[]")
    assert isinstance(answer, dict)
    assert answer["error"]["code"] == -32600


async def test_nested_batches_are_invalid_entries() -> None:
    answer = await call('[[], [{"jsonrpc": "2.0", "method": "get_data", "id": 1}]]')
    assert ex.matches(answer, [ex.err(-32600), ex.err(-32600)])


async def test_a_batch_of_invalid_entries_and_notifications_answers_the_invalid_ones() -> None:
    answer = await call('[1, {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]')
    assert ex.matches(answer, [ex.err(-32600)])


async def test_batches_over_the_limit_are_refused() -> None:
    body = json.dumps([{"jsonrpc": "2.0", "method": "get_data", "id": i} for i in range(4)])
    assert ex.matches(await call(body, ex.dispatcher(max_batch=3)), ex.err(-32600))
    answer = await call(body, ex.dispatcher(max_batch=4))
    assert [a["id"] for a in answer] == [0, 1, 2, 3]


async def test_an_exception_is_an_internal_error_without_traceback() -> None:
    raw = await ex.dispatcher().handle('{"jsonrpc": "2.0", "method": "boom", "id": 7}', "alice")
    assert raw is not None
    answer = json.loads(raw)
    assert answer["error"]["code"] == -32603
    assert answer["error"]["message"] == "Internal error"
    assert set(answer["error"]["data"]) == {"error_id"}
    assert b"hunter2" not in raw
    assert b"Traceback" not in raw
    assert b"RuntimeError" not in raw


async def test_a_result_that_is_not_json_is_an_internal_error() -> None:
    answer = await call('{"jsonrpc": "2.0", "method": "not_json", "id": 1}')
    assert ex.matches(answer, ex.err(-32603, 1))


async def test_application_errors_keep_code_message_and_data() -> None:
    answer = await call('{"jsonrpc": "2.0", "method": "refuse", "id": "r"}')
    assert answer == {
        "jsonrpc": "2.0",
        "error": {"code": -32001, "message": "Job 123 not found", "data": {"why": "test"}},
        "id": "r",
    }


async def test_too_many_positional_params_is_invalid_params() -> None:
    answer = await call('{"jsonrpc": "2.0", "method": "subtract", "params": [1, 2, 3], "id": 1}')
    assert answer["error"]["code"] == -32602
    assert "at most 2 positional" in answer["error"]["message"]


async def test_fewer_positional_params_leave_the_rest_unset() -> None:
    answer = await call('{"jsonrpc": "2.0", "method": "echo", "params": [1], "id": 1}')
    assert answer["result"] == {"params": {"x": 1}, "caller": "alice"}


async def test_params_may_be_omitted_and_extra_members_are_ignored() -> None:
    answer = await call('{"jsonrpc": "2.0", "method": "echo", "id": 1, "extra": true}')
    assert answer["result"] == {"params": {}, "caller": "alice"}


async def test_null_params_are_omitted_params() -> None:
    # The original server accepted "params": null; its clients send it (issue 13).
    answer = await call('{"jsonrpc": "2.0", "method": "echo", "params": null, "id": 1}')
    assert answer["result"] == {"params": {}, "caller": "alice"}


async def test_an_answer_has_result_or_error_never_both() -> None:
    body = json.dumps(
        [
            {"jsonrpc": "2.0", "method": "get_data", "id": 1},
            {"jsonrpc": "2.0", "method": "boom", "id": 2},
            {"jsonrpc": "2.0", "method": "nope", "id": 3},
        ]
    )
    for answer in await call(body):
        assert ("result" in answer) != ("error" in answer)
        assert answer["jsonrpc"] == "2.0"


async def test_the_observer_sees_every_call_and_its_code() -> None:
    seen: list[tuple[str, int]] = []
    registry = ex.dispatcher()
    registry.observer = lambda method, code, _seconds: seen.append((method, code))
    await call(
        '[{"jsonrpc": "2.0", "method": "get_data", "id": 1},'
        '{"jsonrpc": "2.0", "method": "whatever", "id": 2}, 5]',
        registry,
    )
    assert sorted(seen) == sorted([("get_data", 0), ("<unknown>", -32601), ("<invalid>", -32600)])


def test_registering_a_method_twice_is_a_mistake() -> None:
    registry = ex.dispatcher()
    with pytest.raises(ValueError, match="twice"):
        registry.add("subtract", ex.subtract)


def test_dumps_is_compact_utf8_and_loads_is_strict() -> None:
    assert dumps({"a": "é", "b": [1, 2]}) == '{"a":"é","b":[1,2]}'.encode()
    assert loads(b'{"x": 1.25}') == {"x": 1.25}

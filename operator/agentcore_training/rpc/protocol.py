"""A JSON-RPC 2.0 dispatcher that follows the specification to the letter (pure).

`Dispatcher.handle(body, context)` takes the bytes of an HTTP body and gives back the bytes
of the answer, or None when there is nothing to answer (a notification, or a batch of them).
It does no I/O itself: the methods it calls do, and get `context` (the caller) with their
params. Rules, from https://www.jsonrpc.org/specification:

- invalid JSON: -32700, id null; a JSON value that is not an object or array: -32600.
- an empty batch: one -32600 (not an array); invalid entries of a batch are answered one by
  one; a batch of notifications gets nothing at all.
- a Request object needs `"jsonrpc": "2.0"`, a string `method`, `params` (if present) an
  array or object, or null (treated as omitted, as the original server did), `id` (if
  present) a string, number or null; a boolean, array or object id makes the request
  invalid (answered with id null).
- a notification (no `id` member) is never answered, not even when it fails.
- ids are echoed as they came; methods raise RpcError for their own errors; any other
  exception is -32603 with an error id in `data` that matches the log line, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from agentcore_training.rpc.errors import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    PARSE_ERROR,
    RpcError,
)

log = logging.getLogger(__name__)

C = TypeVar("C")
Handler = Callable[[dict[str, Any], C], Awaitable[Any]]
Observer = Callable[[str, int, float], None]
"""Called once per call that ran or was refused: (method, code or 0, seconds)."""

_NO_ID = object()  # marks a notification: the Request object has no "id" member
# A Decimal's digits travel through json.dumps as a string that starts with a NUL and a
# per-process nonce (no value from outside holds it), then become a bare number.
_NUMBER_MARK = f"\x00{secrets.token_hex(8)}:"
_MARKED_NUMBER = re.compile(r'"\\u0000' + _NUMBER_MARK[1:] + r'(-?[0-9]+(?:\.[0-9]+)?)"')
UNKNOWN_METHOD_LABEL = "<unknown>"
INVALID_LABEL = "<invalid>"


@dataclass(frozen=True)
class Method(Generic[C]):
    """A method: its handler, and the order of its params when they come by position."""

    name: str
    handler: Handler[C]
    positional: Sequence[str] = ()


class _ParseError(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise _ParseError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _ParseError(f"the number {text} is out of range")
    return value


def loads(body: bytes | str) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, no numbers that overflow a float."""
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)


def dumps(value: Any, indent: int | None = None) -> bytes:
    """Compact JSON (or indented by `indent`); a Decimal is written as a JSON number with its
    exact digits (money in the original methods' results), a datetime as an RFC 3339 string."""
    marked = False

    def default(obj: Any) -> Any:
        nonlocal marked
        if isinstance(obj, Decimal) and obj.is_finite():
            marked = True
            return f"{_NUMBER_MARK}{obj:f}"
        if isinstance(obj, datetime):
            return obj.isoformat().replace("+00:00", "Z")
        raise TypeError(f"{type(obj).__name__} is not JSON")

    text = json.dumps(
        value,
        indent=indent,
        separators=(",", ":") if indent is None else (",", ": "),
        ensure_ascii=False,
        allow_nan=False,
        default=default,
    )
    return (_MARKED_NUMBER.sub(r"\1", text) if marked else text).encode()


def _valid_id(value: Any) -> bool:
    return value is None or isinstance(value, str) or _is_number(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def error_response(code: int, message: str, id_: Any = None, data: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": RpcError(code, message, data).to_json(), "id": id_}


@dataclass
class Dispatcher(Generic[C]):
    """The method registry and the dispatch of one HTTP body."""

    max_batch: int = 100
    observer: Observer | None = None
    methods: dict[str, Method[C]] = field(default_factory=dict)

    def add(self, name: str, handler: Handler[C], positional: Sequence[str] = ()) -> None:
        if name in self.methods:
            raise ValueError(f"method {name} is registered twice")
        self.methods[name] = Method(name, handler, tuple(positional))

    async def handle(self, body: bytes | str, context: C) -> bytes | None:
        """The answer to one body: bytes, or None when nothing is to be sent back."""
        answer = await self.handle_json(body, context)
        if answer is None:
            return None
        try:
            return dumps(answer)
        except (TypeError, ValueError):
            # Some result is not JSON: that call (only) becomes an internal error.
            if isinstance(answer, list):
                return dumps([_serializable(one) for one in answer])
            return dumps(_serializable(answer))

    async def handle_json(self, body: bytes | str, context: C) -> Any:
        try:
            request = loads(body)
        except (_ParseError, ValueError, RecursionError) as error:
            self._observe(INVALID_LABEL, PARSE_ERROR, 0.0)
            return error_response(PARSE_ERROR, f"Parse error: {_short(error)}")
        if isinstance(request, list):
            if not request:
                return error_response(INVALID_REQUEST, "Invalid Request: empty batch")
            if len(request) > self.max_batch:
                return error_response(
                    INVALID_REQUEST,
                    f"Invalid Request: a batch may hold at most {self.max_batch} calls, "
                    f"got {len(request)}",
                )
            answers = await asyncio.gather(*(self._one(item, context) for item in request))
            kept = [answer for answer in answers if answer is not None]
            return kept or None
        return await self._one(request, context)

    async def _one(self, request: Any, context: C) -> dict[str, Any] | None:
        problem = _invalid(request)
        if problem is not None:
            self._observe(INVALID_LABEL, INVALID_REQUEST, 0.0)
            id_ = request.get("id") if isinstance(request, dict) else None
            return error_response(
                INVALID_REQUEST, f"Invalid Request: {problem}", id_ if _valid_id(id_) else None
            )
        id_ = request.get("id", _NO_ID)
        name: str = request["method"]
        started = time.perf_counter()
        try:
            result = await self._call(name, request.get("params"), context)
            answer: dict[str, Any] = {"jsonrpc": "2.0", "result": result, "id": id_}
            code = 0
        except RpcError as error:
            answer = {"jsonrpc": "2.0", "error": error.to_json(), "id": id_}
            code = error.code
        except Exception:
            error_id = uuid.uuid4().hex[:12]
            log.exception("JSON-RPC method %s failed (error_id %s)", name, error_id)
            answer = error_response(INTERNAL_ERROR, "Internal error", id_, {"error_id": error_id})
            code = INTERNAL_ERROR
        label = name if name in self.methods else UNKNOWN_METHOD_LABEL
        self._observe(label, code, time.perf_counter() - started)
        return None if id_ is _NO_ID else answer

    def _observe(self, label: str, code: int, seconds: float) -> None:
        if self.observer is not None:
            self.observer(label, code, seconds)

    async def _call(self, name: str, params: Any, context: C) -> Any:
        method = self.methods.get(name)
        if method is None:
            raise RpcError(METHOD_NOT_FOUND, f"Method not found: {name}")
        return await method.handler(by_name(method, params), context)


def _serializable(answer: dict[str, Any]) -> dict[str, Any]:
    """The answer, or an internal error in its place when its result is not JSON."""
    try:
        dumps(answer)
    except (TypeError, ValueError):
        error_id = uuid.uuid4().hex[:12]
        log.error("a JSON-RPC result could not be encoded as JSON (error_id %s)", error_id)
        return error_response(
            INTERNAL_ERROR, "Internal error", answer.get("id"), {"error_id": error_id}
        )
    return answer


def by_name(method: Method[Any], params: Any) -> dict[str, Any]:
    """Params as a dict: named ones as they came, positional ones in the documented order."""
    if params is None:
        return {}
    if isinstance(params, Mapping):
        return dict(params)
    order = method.positional
    if len(params) > len(order):
        raise RpcError(
            INVALID_PARAMS,
            f"Invalid params: {method.name} takes at most {len(order)} positional "
            f"parameters ({', '.join(order) or 'none'}), got {len(params)}",
        )
    return dict(zip(order, params, strict=False))


def _invalid(request: Any) -> str | None:
    """Why `request` is not a valid Request object, or None when it is one."""
    if not isinstance(request, dict):
        return "a Request must be a JSON object"
    if request.get("jsonrpc") != "2.0":
        return 'the "jsonrpc" member must be exactly "2.0"'
    if not isinstance(request.get("method"), str):
        return 'the "method" member must be a string'
    if request.get("params") is not None and not isinstance(request["params"], list | dict):
        return 'the "params" member must be an array, an object or null'
    if "id" in request and not _valid_id(request["id"]):
        return 'the "id" member must be a string, a number or null'
    return None


def _short(error: Exception) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 200 else text[:200] + "..."

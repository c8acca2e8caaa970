"""The list-then-watch loop's error paths, with a narrow scripted client (the happy path and
resumption run against the real apiserver in tests/integration/test_kube_watch.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from agentcore_training.kube.client import ApiError
from agentcore_training.kube.watch import Backoff, list_then_watch


class Recorder:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def listed(self, items: list[dict[str, Any]], version: str) -> None:
        self.seen.append(f"listed {len(items)} at {version}")

    def changed(self, event_type: str, obj: dict[str, Any]) -> None:
        self.seen.append(f"{event_type} {obj['metadata']['resourceVersion']}")


class ScriptedClient:
    """List answers in turn; each watch plays the script of the version it starts from."""

    def __init__(self, lists: list[Any], watches: dict[str, list[Any]]) -> None:
        self.lists, self.watches = lists, watches
        self.calls: list[str] = []
        self.idle = asyncio.Event()

    async def get(self, path: str, **query: Any) -> dict[str, Any]:
        self.calls.append("list")
        answer = self.lists.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, dict)
        return answer

    async def watch(self, path: str, *, resource_version: str, **_: Any) -> AsyncIterator[Any]:
        self.calls.append(f"watch {resource_version}")
        script = self.watches.pop(resource_version, None)
        if script is None:
            self.idle.set()
            await asyncio.Event().wait()
            return
        for step in script:
            if isinstance(step, Exception):
                raise step
            yield step


def _event(kind: str, version: str) -> dict[str, Any]:
    return {"type": kind, "object": {"metadata": {"resourceVersion": version}}}


async def _run(client: ScriptedClient, handler: Recorder, sleeps: list[float]) -> None:
    async def sleep(delay: float) -> None:
        sleeps.append(delay)

    task = asyncio.create_task(
        list_then_watch(
            client,  # type: ignore[arg-type]
            "/api/v1/pods",
            handler,
            backoff=Backoff(first=1.0, jitter=0.0),
            sleep=sleep,
        )
    )
    await asyncio.wait_for(client.idle.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_gone_relists_at_once_and_other_errors_back_off() -> None:
    client = ScriptedClient(
        lists=[
            {"metadata": {"resourceVersion": "1"}, "items": [{"metadata": {}}]},
            {"metadata": {"resourceVersion": "20"}, "items": []},
            ApiError(500, {"message": "etcd hiccup"}, ""),
            {"metadata": {"resourceVersion": "30"}, "items": []},
            {"metadata": {"resourceVersion": "40"}, "items": []},
            {"metadata": {"resourceVersion": "50"}, "items": []},
        ],
        watches={
            # the server ends the watch after a bookmark: resume from the bookmark
            "1": [_event("ADDED", "3"), _event("BOOKMARK", "5")],
            "5": [_event("MODIFIED", "6"), {"type": "ERROR", "object": {"code": 410}}],
            "20": [ApiError(410, {"reason": "Expired"}, "")],  # 410 as an HTTP answer
            "30": [{"type": "ERROR", "object": {"code": 500, "message": "boom"}}],
            "40": [ConnectionResetError("reset")],
        },
    )
    handler, sleeps = Recorder(), []
    await _run(client, handler, sleeps)
    assert client.calls == [
        "list", "watch 1", "watch 5",  # bookkeeping: 3, then the bookmark's 5
        "list", "watch 20",  # the ERROR 410 event: list again, no wait
        "list",  # the HTTP 410: list again, no wait; that list fails (500): back off
        "list", "watch 30",
        "list", "watch 40",  # the ERROR 500 event: back off, list again
        "list", "watch 50",  # a broken connection: back off, list again
    ]  # fmt: skip
    assert handler.seen == [
        "listed 1 at 1", "ADDED 3", "MODIFIED 6",
        "listed 0 at 20", "listed 0 at 30", "listed 0 at 40", "listed 0 at 50",
    ]  # fmt: skip
    assert sleeps == [1.0, 1.0, 1.0]  # each successful list resets the backoff


async def test_failing_lists_back_off_exponentially() -> None:
    failure = ApiError(503, {"message": "unavailable"}, "")
    client = ScriptedClient(
        lists=[failure, failure, failure, {"metadata": {"resourceVersion": "9"}, "items": []}],
        watches={},
    )
    handler, sleeps = Recorder(), []
    await _run(client, handler, sleeps)
    assert sleeps == [1.0, 2.0, 4.0]
    assert client.calls == ["list", "list", "list", "list", "watch 9"]


async def test_a_handler_bug_does_not_stop_the_watch() -> None:
    class Broken(Recorder):
        def changed(self, event_type: str, obj: dict[str, Any]) -> None:
            super().changed(event_type, obj)
            if len(self.seen) == 2:
                raise RuntimeError("bug")

    client = ScriptedClient(
        lists=[{"metadata": {"resourceVersion": "1"}, "items": []}] * 2,
        watches={"1": [_event("ADDED", "2")]},
    )
    handler, sleeps = Broken(), []
    await _run(client, handler, sleeps)
    assert handler.seen == ["listed 0 at 1", "ADDED 2", "listed 0 at 1"]
    assert sleeps == [1.0]

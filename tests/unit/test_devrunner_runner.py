"""The dev runner's watch loop survives watch expiry, 410 Gone and apiserver errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agentcore_training.devrunner.podrun import PodRun, RunContext
from agentcore_training.devrunner.runner import DevRunner
from agentcore_training.kube.client import ApiError


class FakeClient:
    """Scripted list and watch answers; records the calls."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.lists: list[Any] = [
            {"metadata": {"resourceVersion": "1"}, "items": []},
            ApiError(500, {"message": "etcd hiccup"}, ""),
            {"metadata": {"resourceVersion": "9"}, "items": []},
        ]
        self.watched = asyncio.Event()

    async def get(self, path: str, **query: Any) -> dict[str, Any]:
        self.calls.append("list")
        answer = self.lists.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, dict)
        return answer

    async def watch(self, path: str, *, resource_version: str, **_: Any) -> AsyncIterator[Any]:
        self.calls.append(f"watch {resource_version}")
        if resource_version == "1":  # expires after a bookmark: watch again from there
            yield {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "5"}}}
        elif resource_version == "5":
            yield {"type": "ERROR", "object": {"code": 410, "message": "too old"}}
        else:
            self.watched.set()
            await asyncio.Event().wait()


async def test_watch_expiry_gone_and_errors_lead_to_a_new_list(tmp_path: Path) -> None:
    client = FakeClient()
    settings = RunContext(workdir=tmp_path, base_env={}, logger=logging.getLogger("test"))
    runner = DevRunner(client, settings, namespace=None, selector="a=b")  # type: ignore[arg-type]
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    await asyncio.wait_for(client.watched.wait(), 10)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert client.calls == ["list", "watch 1", "watch 5", "list", "list", "watch 9"]
    assert runner.synced.is_set()


class FlakyStatusClient:
    """Refuses the first `failures` status writes as an apiserver that is down would."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.written: list[dict[str, Any]] = []

    async def patch(self, path: str, body: dict[str, Any], **_: Any) -> dict[str, Any]:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionRefusedError("apiserver restarting")
        self.written.append(body)
        return body


async def test_a_pod_status_write_is_retried_until_the_apiserver_is_back(
    tmp_path: Path, monkeypatch: Any
) -> None:
    """A kubelet never gives up on a status: with the old bounded retries (7 tries, ~25 s)
    an apiserver down for longer left the Pod Running for ever after its process ended."""
    slept: list[float] = []

    async def no_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("agentcore_training.devrunner.podapi.asyncio.sleep", no_sleep)
    client = FlakyStatusClient(failures=20)
    settings = RunContext(workdir=tmp_path, base_env={}, logger=logging.getLogger("test"))
    pod = {"metadata": {"namespace": "ns", "name": "p", "uid": "u"}}
    run = PodRun(client, pod, settings)  # type: ignore[arg-type]
    await run._report({"phase": "Succeeded"})
    assert client.written == [{"status": {"phase": "Succeeded"}}]
    assert len(slept) == 20
    assert max(slept) <= 15.0 * 1.5  # capped backoff, with jitter

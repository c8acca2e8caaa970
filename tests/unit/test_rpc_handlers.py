"""The methods' I/O with a fake apiserver: a start that fails half-way leaves nothing behind,
and authorization answers hide other namespaces' jobs."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from agentcore_training.kube.client import ApiError
from agentcore_training.rpc.cache import TrainingJobCache
from agentcore_training.rpc.errors import RpcError
from agentcore_training.rpc.handlers import Service, random_suffix
from agentcore_training.rpc.identity import Principal
from agentcore_training.rpc.settings import ShimSettings

ALICE = Principal("alice")
QUERIES = [{"query": f"q{i}", "expected_outcome": {"answer": "a"}} for i in range(100)]


class FakeClient:
    """Records calls; fails the ones named in `fail`."""

    def __init__(self, fail: Mapping[tuple[str, str], ApiError]) -> None:
        self.fail = fail
        self.calls: list[tuple[str, str]] = []
        self.objects: dict[str, dict[str, Any]] = {}

    def _maybe_fail(self, verb: str, path: str) -> None:
        self.calls.append((verb, path))
        kind = "configmaps" if "/configmaps" in path else "trainingjobs"
        if (verb, kind) in self.fail:
            raise self.fail[(verb, kind)]

    async def create(self, path: str, body: Mapping[str, Any], **_: str) -> dict[str, Any]:
        self._maybe_fail("create", path)
        created = {
            **body,
            "metadata": {
                **body["metadata"],
                "uid": "11111111-2222-4333-8444-555555555555",
                "resourceVersion": "1",
                "creationTimestamp": "2026-11-30T00:00:00Z",
            },
        }
        self.objects[f"{path}/{body['metadata']['name']}"] = created
        return created

    async def create_warned(
        self, path: str, body: Mapping[str, Any], **_: str
    ) -> tuple[dict[str, Any], list[str]]:
        return await self.create(path, body), []

    async def patch(self, path: str, body: Any, **_: Any) -> dict[str, Any]:
        self._maybe_fail("patch", path)
        return self.objects.get(path, {})

    async def delete(self, path: str, **_: str) -> dict[str, Any]:
        self.calls.append(("delete", path))
        self.objects.pop(path, None)
        return {}


async def allow_all(principal: Principal, verb: str, namespace: str, name: str) -> bool:
    return True


def service(client: FakeClient, suffix: Callable[[], str] = random_suffix) -> Service:
    cache = TrainingJobCache(client, None)  # type: ignore[arg-type]
    settings = ShimSettings(namespace="team-a")
    return Service(settings, client, cache, allow_all, suffix)  # type: ignore[arg-type]


async def test_a_refused_trainingjob_deletes_its_configmap() -> None:
    client = FakeClient({("create", "trainingjobs"): ApiError(422, {"message": "bad spec"}, "")})
    with pytest.raises(RpcError) as caught:
        await service(client).start_grpo({"agent_id": "bot", "training_queries": QUERIES}, ALICE)
    assert caught.value.code == -32602
    assert "bad spec" in caught.value.message
    assert [verb for verb, _ in client.calls] == ["create", "create", "delete"]
    assert client.calls[-1][1].endswith("/configmaps/" + client.calls[-1][1].rsplit("/", 1)[1])
    assert client.objects == {}


async def test_a_failed_owner_patch_deletes_both() -> None:
    client = FakeClient({("patch", "configmaps"): ApiError(500, {"message": "etcd"}, "")})
    with pytest.raises(RpcError) as caught:
        await service(client).start_grpo({"agent_id": "bot", "training_queries": QUERIES}, ALICE)
    assert caught.value.code == -32004
    deleted = [path for verb, path in client.calls if verb == "delete"]
    assert any("/trainingjobs/" in path for path in deleted)
    assert any("/configmaps/" in path for path in deleted)
    assert client.objects == {}


async def test_a_name_conflict_tries_another_name() -> None:
    client = FakeClient({})
    names = iter(["aaaaa", "bbbbb"])
    svc = service(client, lambda: next(names))
    original = client.create

    async def conflict_once(path: str, body: Mapping[str, Any], **_: str) -> dict[str, Any]:
        if body["metadata"]["name"] == "bot-aaaaa-queries":
            client.calls.append(("create", path))
            raise ApiError(409, {"reason": "AlreadyExists"}, "")
        return await original(path, body)

    client.create = conflict_once  # type: ignore[method-assign]
    result = await svc.start_grpo({"agent_id": "bot", "training_queries": QUERIES}, ALICE)
    assert result["name"] == "bot-bbbbb"
    assert result["namespace"] == "team-a"
    assert svc.cache.store.get(result["job_id"]) is not None

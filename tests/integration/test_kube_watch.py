"""kube/watch.py's list-then-watch loop against the real apiserver: the list, the events,
and resuming each watch the server ends from the last resourceVersion (nothing replayed,
nothing missed). The 410 Gone relist is tested with a narrow scripted client in
tests/unit/test_kube_watch.py: this apiserver (1.34, watch cache on) answered a watch from
resourceVersion 1 with ADDED events even after an etcd compaction, so no 410 could be
provoked here."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from agentcore_training.kube.client import KubeClient, path_for
from agentcore_training.kube.watch import Backoff, list_then_watch
from tests.support.cluster import Cluster

LABEL = "watch-test.agentcore.dev/of"


class Recorder:
    def __init__(self) -> None:
        self.lists: list[list[str]] = []
        self.events: list[tuple[str, str, str]] = []
        self.changed_event = asyncio.Event()
        self.listed_event = asyncio.Event()

    def listed(self, items: list[dict[str, Any]], version: str) -> None:
        assert version.isdecimal(), version
        assert all(item["kind"] == "ConfigMap" for item in items)
        self.lists.append(sorted(item["metadata"]["name"] for item in items))
        self.listed_event.set()

    def changed(self, event_type: str, obj: dict[str, Any]) -> None:
        data = obj.get("data") or {}
        self.events.append((event_type, obj["metadata"]["name"], data.get("v", "")))
        self.changed_event.set()


def _configmap(name: str, value: str, owner: str) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {LABEL: owner}},
            "data": {"v": value},
        }
    )


async def _until(recorder: Recorder, count: int, within: float = 30) -> None:
    async def wait() -> None:
        while len(recorder.events) < count:
            recorder.changed_event.clear()
            await recorder.changed_event.wait()

    await asyncio.wait_for(wait(), within)


async def test_list_then_watch_follows_a_collection_across_watch_ends(
    cluster: Cluster, namespace: str
) -> None:
    def apply(name: str, value: str, owner: str = "me") -> None:
        cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=_configmap(name, value, owner))

    apply("before", "0")
    apply("stranger", "0", owner="someone-else")  # not selected
    recorder = Recorder()
    async with await KubeClient.connect(str(cluster.kubeconfig)) as client:
        task = asyncio.create_task(
            list_then_watch(
                client,
                path_for("v1", "configmaps", namespace=namespace),
                recorder,
                label_selector=f"{LABEL}=me",
                timeout_seconds=1,  # the server ends every watch after a second
                backoff=Backoff(first=0.1),
            )
        )
        try:
            await asyncio.wait_for(recorder.listed_event.wait(), 30)
            apply("after", "1")
            await _until(recorder, 1)
            await asyncio.sleep(2.5)  # at least two watches end and are resumed
            apply("before", "2")
            cluster.kubectl("delete", "configmap", "after", "-n", namespace)
            await _until(recorder, 3)
            await asyncio.sleep(1.5)  # one more resumption: it must replay nothing
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert recorder.lists == [["before"]]  # one list: every resumption continued the watch
    assert recorder.events == [
        ("ADDED", "after", "1"),
        ("MODIFIED", "before", "2"),
        ("DELETED", "after", "1"),
    ]

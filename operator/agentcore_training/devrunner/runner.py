"""The dev runner's loop: list and watch the selected Pods, start one PodRun per Pending Pod
(once per uid), pass on updates and deletions, and on stop end every run."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from agentcore_training.devrunner.podrun import PodRun, RunContext
from agentcore_training.kube.client import KubeClient
from agentcore_training.kube.pods import pods_path
from agentcore_training.kube.watch import list_then_watch

WATCH_TIMEOUT_S = 240  # the server ends each watch after this; the runner watches again


class DevRunner:
    """Runs the selected Pending Pods as local processes. Only one runner per cluster: the
    set of uids it took lives in this process."""

    def __init__(
        self,
        client: KubeClient,
        settings: RunContext,
        *,
        namespace: str | None,
        selector: str,
    ) -> None:
        self._client = client
        self._settings = settings
        self._log = settings.logger
        self._namespace = namespace
        self._selector = selector
        self._taken: set[str] = set()  # every uid this runner started, never run twice
        self._runs: dict[str, PodRun] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.synced = asyncio.Event()  # set after the first successful list

    async def run(self, stop: asyncio.Event) -> None:
        """Watch until `stop` is set; then stop every process and report its pod."""
        watcher = asyncio.create_task(self._watch_forever())
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait([watcher, stopped], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (watcher, stopped):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self.shutdown()

    async def shutdown(self) -> None:
        """Stop every running process (SIGTERM, then SIGKILL) and mark its pod Failed."""
        if self._runs:
            self._log.info("stopping %d pod process(es)", len(self._runs))
        for pod_run in self._runs.values():
            pod_run.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _watch_forever(self) -> None:
        await list_then_watch(
            self._client,
            pods_path(self._namespace),
            self,
            label_selector=self._selector,
            timeout_seconds=WATCH_TIMEOUT_S,
            what="dev runner pods",
        )

    # The WatchHandler of the loop ---------------------------------------------------------

    def listed(self, items: list[dict[str, Any]], version: str) -> None:
        self._reconcile(items)
        self.synced.set()

    def changed(self, event_type: str, obj: dict[str, Any]) -> None:
        if event_type == "DELETED":
            self._on_gone(obj)
        else:
            self._on_pod(obj)

    def _reconcile(self, pods: list[dict[str, Any]]) -> None:
        """After a list: handle every pod; runs whose pod is no longer there were deleted."""
        present = {str(p["metadata"]["uid"]) for p in pods}
        for uid, pod_run in list(self._runs.items()):
            if uid not in present:
                pod_run.gone()
        for pod in pods:
            self._on_pod(pod)

    def _on_pod(self, pod: dict[str, Any]) -> None:
        uid = str(pod["metadata"]["uid"])
        if uid in self._runs:
            self._runs[uid].update(pod)
            return
        if uid in self._taken:
            return
        if pod.get("status", {}).get("phase") != "Pending":
            return
        if pod["metadata"].get("deletionTimestamp"):
            return
        self._taken.add(uid)
        pod_run = PodRun(self._client, pod, self._settings)
        self._log.info("%s: taking the pod (uid %s)", pod_run.key, uid)
        self._runs[uid] = pod_run
        task = asyncio.create_task(pod_run.run(), name=f"pod {pod_run.key}")
        self._tasks[uid] = task
        task.add_done_callback(lambda done: self._finished(uid, done))

    def _on_gone(self, pod: dict[str, Any]) -> None:
        uid = str(pod.get("metadata", {}).get("uid", ""))
        if uid in self._runs:
            self._runs[uid].gone()

    def _finished(self, uid: str, task: asyncio.Task[None]) -> None:
        pod_run = self._runs.pop(uid, None)
        self._tasks.pop(uid, None)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and pod_run is not None:
            self._log.error("%s: the run failed: %r", pod_run.key, error, exc_info=error)

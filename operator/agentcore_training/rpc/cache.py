"""An informer-style watch cache of TrainingJobs, on the shared list-then-watch loop.

Reads of the shim come from here. `wait_synced` bounds staleness at start; the shim puts
the objects its own writes return into the cache at once, so its next read sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from agentcore_training.api.resource import API_VERSION, PLURAL, TrainingJob
from agentcore_training.kube.client import KubeClient, path_for
from agentcore_training.kube.watch import list_then_watch
from agentcore_training.rpc.errors import unavailable
from agentcore_training.rpc.store import JobStore, from_api

log = logging.getLogger(__name__)


class TrainingJobCache:
    """TrainingJobs of one namespace, or of all, kept current by a watch."""

    def __init__(self, client: KubeClient, namespace: str | None = None) -> None:
        self._client = client
        self._path = path_for(API_VERSION, PLURAL, namespace=namespace)
        self.store = JobStore()
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def is_synced(self) -> bool:
        """Whether the first list is in."""
        return self._synced.is_set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="trainingjob-watch-cache")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def wait_synced(self, within: float) -> None:
        """Return once the first list is in; -32004 (unavailable) after `within` seconds."""
        if self._synced.is_set():
            return
        try:
            await asyncio.wait_for(self._synced.wait(), within)
        except TimeoutError:
            raise unavailable("the TrainingJob cache has not synced yet; retry") from None

    def put(self, trainingjob: TrainingJob) -> None:
        """A write's answer, visible to the next read at once."""
        self.store.upsert(trainingjob)

    async def _run(self) -> None:
        await list_then_watch(self._client, self._path, self, what="TrainingJob cache")

    # -- kube.watch.WatchHandler -----------------------------------------------------------

    def listed(self, items: list[dict[str, Any]], version: str) -> None:
        parsed = (_parsed(item) for item in items)
        self.store.replace((tj for tj in parsed if tj is not None), version)
        self._synced.set()
        log.info("TrainingJob cache listed %d objects at version %s", len(items), version)

    def changed(self, event_type: str, obj: dict[str, Any]) -> None:
        if event_type == "DELETED":
            self.store.delete(str(obj.get("metadata", {}).get("uid", "")))
            return
        trainingjob = _parsed(obj)
        if trainingjob is not None:
            self.store.upsert(trainingjob)


def _parsed(obj: Mapping[str, Any]) -> TrainingJob | None:
    """The model of a listed or watched object; None (and a warning) when the models refuse
    it, which the CRD's schema only allows when the shim is older than the CRD."""
    try:
        return from_api(obj)
    except ValidationError as error:
        meta = obj.get("metadata", {})
        log.warning(
            "TrainingJob %s/%s left out of the cache: %s",
            meta.get("namespace"),
            meta.get("name"),
            error,
        )
        return None

"""An informer-style watch cache of TrainingJobs: list, then watch; list again on 410 Gone.

Reads of the shim come from here. `wait_synced` bounds staleness at start; the shim puts
the objects its own writes return into the cache at once, so its next read sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from typing import Any

import aiohttp
from pydantic import ValidationError

from agentcore_training.api.resource import API_VERSION, PLURAL, TrainingJob
from agentcore_training.kube.client import ApiError, KubeClient, path_for
from agentcore_training.rpc.errors import unavailable
from agentcore_training.rpc.store import JobStore, from_api

log = logging.getLogger(__name__)

WATCH_TIMEOUT_SECONDS = 290
_BACKOFF_MAX = 30.0


class _Relist(Exception):  # noqa: N818 - a signal, not an error
    pass


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
        backoff = 0.5
        while True:
            try:
                version = await self._list()
                backoff = 0.5
                while True:
                    version = await self._watch(version)
            except asyncio.CancelledError:
                raise
            except _Relist:
                continue
            except (ApiError, aiohttp.ClientError, TimeoutError, ValueError) as error:
                log.warning("TrainingJob watch failed, listing again in %.1fs: %s", backoff, error)
            except Exception:
                log.exception("TrainingJob watch failed unexpectedly; listing again")
            await asyncio.sleep(backoff * (1 + random.random() / 2))  # noqa: S311 - jitter
            backoff = min(backoff * 2, _BACKOFF_MAX)

    async def _list(self) -> str:
        answer = await self._client.get(self._path)
        version = str(answer.get("metadata", {}).get("resourceVersion", ""))
        items = answer.get("items") or []
        kind = {"apiVersion": answer.get("apiVersion", API_VERSION), "kind": "TrainingJob"}
        parsed = (_parsed({**kind, **item}) for item in items)
        self.store.replace((tj for tj in parsed if tj is not None), version)
        self._synced.set()
        log.info("TrainingJob cache listed %d objects at version %s", len(items), version)
        return version

    async def _watch(self, version: str) -> str:
        """One watch request until the server ends it; the last version seen."""
        async for event in self._client.watch(
            self._path, resource_version=version, timeout_seconds=WATCH_TIMEOUT_SECONDS
        ):
            kind = event.get("type")
            obj = event.get("object") or {}
            if kind == "ERROR":
                code = obj.get("code")
                log.info("TrainingJob watch ended with %s %s", code, obj.get("reason"))
                raise _Relist
            new_version = str(obj.get("metadata", {}).get("resourceVersion", "")) or version
            if kind in ("ADDED", "MODIFIED"):
                trainingjob = _parsed(obj)
                if trainingjob is not None:
                    self.store.upsert(trainingjob)
            elif kind == "DELETED":
                self.store.delete(str(obj.get("metadata", {}).get("uid", "")))
            version = new_version
        return version


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

"""List, then watch: the informer loop of the package (the shim's cache, the dev runner).

One loop keeps a collection current: list it (the handler gets every object and the list's
resourceVersion), watch from that version, follow each event's resourceVersion (bookmarks
included) so that a watch the server ends is resumed where it stopped, list again at once
on 410 Gone (the version was compacted away), and on any other failure list again after a
jittered exponential backoff, which a successful list resets.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NoReturn, Protocol

from agentcore_training.kube.client import ApiError, KubeClient
from agentcore_training.kube.versions import version_of

GONE = 410
WATCH_TIMEOUT_SECONDS = 290  # the server ends each watch after this; the loop resumes it

log = logging.getLogger(__name__)


class WatchHandler(Protocol):
    """What the loop tells its user. Both are called on the loop's task, in order."""

    def listed(self, items: list[dict[str, Any]], version: str) -> None:
        """A complete list: everything not in `items` is gone."""

    def changed(self, event_type: str, obj: dict[str, Any]) -> None:
        """One ADDED, MODIFIED or DELETED event."""


class Backoff:
    """Exponential delays from `first` to at most `maximum`, each stretched by a random
    factor in [1, 1 + jitter) so that many clients do not retry in step."""

    def __init__(
        self,
        first: float = 0.5,
        maximum: float = 30.0,
        jitter: float = 0.5,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._first, self._maximum, self._jitter, self._rng = first, maximum, jitter, rng
        self._next = first

    def next(self) -> float:
        """The delay to wait now; the one after it doubles."""
        delay = self._next * (1 + self._jitter * self._rng())
        self._next = min(self._next * 2, self._maximum)
        return delay

    def reset(self) -> None:
        self._next = self._first


class _Relist(Exception):  # noqa: N818 - a signal, not an error
    def __init__(self, code: object, message: object) -> None:
        super().__init__(f"watch ended with {code}: {message}")
        self.gone = code == GONE


def items_of(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A list's items, each with the apiVersion and kind that lists leave out of them."""
    kind = str(answer.get("kind", "")).removesuffix("List")
    identity = {"apiVersion": answer.get("apiVersion", ""), "kind": kind}
    return [{**identity, **item} for item in answer.get("items") or []]


async def list_then_watch(
    client: KubeClient,
    path: str,
    handler: WatchHandler,
    *,
    label_selector: str | None = None,
    timeout_seconds: int = WATCH_TIMEOUT_SECONDS,
    backoff: Backoff | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    what: str = "",
) -> NoReturn:
    """Keep `handler` current with the collection at `path` until cancelled."""
    backoff = backoff or Backoff()
    what = what or path
    while True:
        try:
            query = {"labelSelector": label_selector} if label_selector else {}
            answer = await client.get(path, **query)
            version = version_of(answer)
            handler.listed(items_of(answer), version)
            backoff.reset()
            while True:
                version = await _watch_once(
                    client, path, handler, version, label_selector, timeout_seconds
                )
        except asyncio.CancelledError:
            raise
        except _Relist as relist:
            if relist.gone:
                log.info("%s: %s; listing again", what, relist)
                continue
            log.warning("%s: %s", what, relist)
        except ApiError as error:
            if error.status == GONE:
                log.info("%s: the watch's version is gone; listing again", what)
                continue
            log.warning("%s: %s", what, error)
        except Exception as error:  # network, decoding, a handler's bug: never stop watching
            log.warning("%s: list/watch failed: %r", what, error)
        delay = backoff.next()
        log.info("%s: listing again in %.1fs", what, delay)
        await sleep(delay)


async def _watch_once(
    client: KubeClient,
    path: str,
    handler: WatchHandler,
    version: str,
    label_selector: str | None,
    timeout_seconds: int,
) -> str:
    """One watch request until the server ends it; the last resourceVersion seen."""
    async for event in client.watch(
        path,
        resource_version=version,
        label_selector=label_selector,
        timeout_seconds=timeout_seconds,
    ):
        event_type = str(event.get("type", ""))
        obj: dict[str, Any] = event.get("object") or {}
        if event_type == "ERROR":
            raise _Relist(obj.get("code"), obj.get("message"))
        version = version_of(obj) or version
        if event_type in ("ADDED", "MODIFIED", "DELETED"):
            handler.changed(event_type, obj)
    return version

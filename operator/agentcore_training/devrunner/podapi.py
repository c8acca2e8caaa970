"""The API side of one PodRun: read what the Pod refers to, request its pod-bound tokens,
and retry the writes a kubelet retries."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from agentcore_training.devrunner.podmodel import (
    CONFIG_ERROR,
    UNSUPPORTED,
    Fetched,
    Needs,
    PlanError,
    TokenKey,
)
from agentcore_training.kube.client import ApiError, KubeClient, path_for
from agentcore_training.kube.tokens import request_pod_token
from agentcore_training.kube.watch import Backoff

T = TypeVar("T")

_RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0, 8.0)


class PodApi:
    """One Pod's reads and token requests; remembers when each token expires."""

    def __init__(self, client: KubeClient, namespace: str, name: str, uid: str) -> None:
        self._client = client
        self.namespace, self.name, self.uid = namespace, name, uid
        self.token_expiry: dict[TokenKey, datetime] = {}

    async def fetch(self, needs: Needs) -> Fetched:
        """The ConfigMaps and Secrets the pod names (absent: not found) and its tokens."""
        config_maps: dict[str, dict[str, Any]] = {}
        secrets: dict[str, dict[str, Any]] = {}
        for plural, names, into in (
            ("configmaps", needs.config_maps, config_maps),
            ("secrets", needs.secrets, secrets),
        ):
            for name in names:
                found = await self._client.get_or_none(
                    path_for("v1", plural, namespace=self.namespace, name=name)
                )
                if found is not None:
                    into[name] = found
        tokens = {key: await self.token(needs.service_account, key) for key in needs.tokens}
        return Fetched(config_maps, secrets, tokens)

    async def token(self, service_account: str, key: TokenKey) -> str:
        """A token bound to the pod; PlanError when the apiserver refuses it for good."""
        if not service_account:
            raise PlanError(
                UNSUPPORTED,
                "the pod has no spec.serviceAccountName (the ServiceAccount admission plugin, "
                "which sets it, is off on this apiserver), so no pod-bound token can be "
                "requested; set serviceAccountName in the pod template",
            )
        try:
            bound = await request_pod_token(
                self._client,
                namespace=self.namespace,
                service_account=service_account,
                audiences=[key.audience] if key.audience else [],
                expiration_seconds=key.expiration_seconds,
                pod_name=self.name,
                pod_uid=self.uid,
            )
        except ApiError as error:
            if error.status in (400, 403, 404, 422):
                raise PlanError(
                    CONFIG_ERROR, f"token for serviceaccount {service_account!r}: {error.message}"
                ) from None
            raise
        self.token_expiry[key] = bound.expires_at
        return bound.token


def transient(error: Exception) -> bool:
    """Worth retrying: connection trouble, timeouts, 429 and 5xx answers."""
    if isinstance(error, ApiError):
        return error.status == 429 or error.status >= 500
    return isinstance(error, OSError | TimeoutError) or type(error).__module__.startswith("aiohttp")


async def retrying(
    call: Callable[[], Awaitable[T]],
    logger: logging.Logger,
    what: str,
    *,
    until_done: bool = False,
) -> T:
    """`call()`, retried with backoff while the failure is transient: about 25 s in all, or,
    `until_done`, for as long as it takes (every 15 s at most). A kubelet never gives up on
    a pod's status: an apiserver that restarts for a minute must not leave a Pod Running
    for ever after its process ended."""
    delays = iter(_RETRY_DELAYS_S)
    backoff = Backoff(first=0.5, maximum=15.0)
    while True:
        delay = backoff.next() if until_done else next(delays, None)
        if delay is None:
            return await call()
        try:
            return await call()
        except Exception as error:
            if not transient(error):
                raise
            logger.warning("%s failed, retrying in %.1fs: %s", what, delay, error)
            await asyncio.sleep(delay)

"""Who is calling (bearer tokens: TokenReview, or local JWT verification) and what they may do
(a SubjectAccessReview per verb and namespace), each remembered briefly in a bounded cache.

Concurrent requests with the same question share one review (and one answer).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Hashable
from pathlib import Path
from typing import Any, Generic, TypeVar

import aiohttp

from agentcore_training.api.resource import GROUP, PLURAL
from agentcore_training.kube.client import ApiError, KubeClient
from agentcore_training.kube.reviews import review_access, review_token
from agentcore_training.rpc.identity import Principal
from agentcore_training.rpc.jwtverify import (
    JwtError,
    JwtVerifier,
    looks_like_jwt,
    unverified_issuer,
)
from agentcore_training.rpc.settings import ShimSettings
from agentcore_training.ttlcache import TTLCache

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
_REJECTED_TTL = 5.0  # a bad token is remembered only briefly
_JWKS_REFRESH_SECONDS = 60.0


class AuthUnavailableError(Exception):
    """The apiserver could not be asked (TokenReview or SubjectAccessReview failed)."""


class _Memo(Generic[K, V]):
    """A TTL cache in front of an async function; one call in flight per key."""

    def __init__(self, cache: TTLCache[K, V]) -> None:
        self.cache = cache
        self._inflight: dict[K, asyncio.Future[tuple[V, float | None]]] = {}

    async def get(self, key: K, compute: Callable[[], Awaitable[tuple[V, float | None]]]) -> V:
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        running = self._inflight.get(key)
        if running is not None:
            return (await asyncio.shield(running))[0]
        future: asyncio.Future[tuple[V, float | None]] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value, ttl = await compute()
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            self._inflight.pop(key, None)
        self.cache.put(key, value, ttl)
        future.set_result((value, ttl))
        return value


Authenticate = Callable[[str], Awaitable[Principal | None]]
"""Bearer token -> the caller, or None when the token is not accepted."""
Authorize = Callable[[Principal, str, str, str], Awaitable[bool]]
"""(caller, verb, namespace, name or "") -> whether RBAC allows it."""


def bearer_token(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def load_jwks_file(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


class Authenticator:
    """Bearer token -> Principal: local JWT verification for the configured issuer, else
    TokenReview. None when the token is not accepted."""

    def __init__(
        self,
        settings: ShimSettings,
        client: KubeClient | None,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        self._settings = settings
        self._client = client
        self._http = http
        self._memo: _Memo[bytes, Principal | bool] = _Memo(
            TTLCache(settings.auth_cache_size, settings.authn_cache_ttl_seconds)
        )
        self._jwt: JwtVerifier | None = None
        self._jwks_fetched_at = 0.0
        if settings.jwt_issuer is not None:
            secret: bytes | None = None
            if settings.jwt_hs256_secret is not None:
                secret = settings.jwt_hs256_secret.get_secret_value().encode()
            elif settings.jwt_hs256_secret_file is not None:
                secret = settings.jwt_hs256_secret_file.read_bytes().strip()
            self._jwt = JwtVerifier(
                issuer=settings.jwt_issuer,
                audiences=settings.jwt_audiences,
                algorithms=settings.jwt_algorithms,
                hs256_secret=secret,
                jwks=load_jwks_file(settings.jwt_jwks_file) if settings.jwt_jwks_file else None,
                leeway=settings.jwt_leeway_seconds,
                username_claim=settings.jwt_username_claim,
                groups_claim=settings.jwt_groups_claim,
                username_prefix=settings.jwt_username_prefix,
                groups_prefix=settings.jwt_groups_prefix,
            )

    async def start(self) -> None:
        """Fetch the JWKS from its URL, when one is configured."""
        if self._settings.jwt_jwks_url is not None:
            await self._refresh_jwks(force=True)

    async def __call__(self, token: str) -> Principal | None:
        key = hashlib.sha256(token.encode()).digest()
        found = await self._memo.get(key, lambda: self._authenticate(token))
        return found if isinstance(found, Principal) else None

    async def _authenticate(self, token: str) -> tuple[Principal | bool, float | None]:
        if (
            self._jwt is not None
            and looks_like_jwt(token)
            and unverified_issuer(token) == self._jwt.issuer
        ):
            return await self._verify_jwt(token)
        if not self._settings.tokenreview or self._client is None:
            return False, _REJECTED_TTL
        try:
            review = await review_token(self._client, token, self._settings.token_audiences)
        except (ApiError, aiohttp.ClientError, TimeoutError) as error:
            raise AuthUnavailableError(f"TokenReview failed: {error}") from None
        if not review.authenticated:
            log.info("bearer token refused by TokenReview: %s", review.error or "unauthenticated")
            return False, _REJECTED_TTL
        return Principal.from_user_info(review.user), None

    async def _verify_jwt(self, token: str) -> tuple[Principal | bool, float | None]:
        assert self._jwt is not None
        try:
            principal, expires = self._jwt.verify(token)
        except JwtError as first:
            if self._settings.jwt_jwks_url is None or not await self._refresh_jwks():
                log.info("JWT refused: %s", first)
                return False, _REJECTED_TTL
            try:
                principal, expires = self._jwt.verify(token)
            except JwtError as error:
                log.info("JWT refused: %s", error)
                return False, _REJECTED_TTL
        return principal, max(0.0, expires - time.time())

    async def _refresh_jwks(self, *, force: bool = False) -> bool:
        """Fetch the JWKS again (at most once a minute unless forced); whether it was."""
        url = self._settings.jwt_jwks_url
        now = time.monotonic()
        if url is None or self._jwt is None:
            return False
        if not force and now - self._jwks_fetched_at < _JWKS_REFRESH_SECONDS:
            return False
        self._jwks_fetched_at = now
        session = self._http or aiohttp.ClientSession()
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
                response.raise_for_status()
                self._jwt.set_jwks(await response.json(content_type=None))
        except (aiohttp.ClientError, TimeoutError, ValueError, JwtError) as error:
            log.warning("could not fetch the JWKS from %s: %s", url, error)
            return False
        finally:
            if self._http is None:
                await session.close()
        return True


class Authorizer:
    """SubjectAccessReviews on trainingjobs.training.agentcore.dev, remembered briefly.

    A namespace-wide decision is asked first (it covers every name); only when it is a no
    and a name is given is the named one asked, so rules with resourceNames still work.
    """

    def __init__(self, settings: ShimSettings, client: KubeClient) -> None:
        self._client = client
        self._memo: _Memo[tuple[Principal, str, str, str], bool] = _Memo(
            TTLCache(settings.auth_cache_size * 4, settings.authz_cache_ttl_seconds)
        )

    async def __call__(
        self, principal: Principal, verb: str, namespace: str, name: str = ""
    ) -> bool:
        if await self._decide(principal, verb, namespace, ""):
            return True
        return bool(name) and await self._decide(principal, verb, namespace, name)

    async def _decide(self, principal: Principal, verb: str, namespace: str, name: str) -> bool:
        key = (principal, verb, namespace, name)
        return await self._memo.get(key, lambda: self._review(principal, verb, namespace, name))

    async def _review(
        self, principal: Principal, verb: str, namespace: str, name: str
    ) -> tuple[bool, float | None]:
        try:
            allowed = await review_access(
                self._client,
                user=principal.username,
                uid=principal.uid,
                groups=principal.groups,
                extra=principal.extra_dict(),
                verb=verb,
                group=GROUP,
                resource=PLURAL,
                namespace=namespace,
                name=name,
            )
        except (ApiError, aiohttp.ClientError, TimeoutError) as error:
            raise AuthUnavailableError(f"SubjectAccessReview failed: {error}") from None
        return allowed, None

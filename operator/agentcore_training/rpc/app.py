"""The aiohttp application: POST /jsonrpc, /healthz, /readyz, /metrics.

`build_app` is the HTTP layer; its cleanup context creates the parts behind it and puts
them under typed AppKeys (the tests give it their own dispatcher and authenticator).
`create_app` composes the real one: KubeClient, watch cache, TokenReview/JWT authentication
and SubjectAccessReview authorization, created, started and stopped in its cleanup context.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from agentcore_training.kube.client import KubeClient
from agentcore_training.rpc import errors
from agentcore_training.rpc.auth import (
    Authenticate,
    Authenticator,
    Authorizer,
    AuthUnavailableError,
    bearer_token,
)
from agentcore_training.rpc.cache import TrainingJobCache
from agentcore_training.rpc.handlers import Service, build_dispatcher
from agentcore_training.rpc.identity import Principal
from agentcore_training.rpc.protocol import Dispatcher, dumps, error_response
from agentcore_training.rpc.settings import ShimSettings

log = logging.getLogger(__name__)

JSON_TYPE = "application/json"
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)


class Metrics:
    """The shim's Prometheus metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter(
            "agentcore_rpc_requests",
            "JSON-RPC calls by method and code (0: success).",
            ["method", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "agentcore_rpc_request_duration_seconds",
            "Time to answer one JSON-RPC call, by method.",
            ["method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.http = Counter(
            "agentcore_rpc_http_requests",
            "HTTP requests to /jsonrpc by status.",
            ["status"],
            registry=self.registry,
        )

    def observe(self, method: str, code: int, seconds: float) -> None:
        self.calls.labels(method, str(code)).inc()
        self.latency.labels(method).observe(seconds)


SETTINGS = web.AppKey("settings", ShimSettings)
METRICS = web.AppKey("metrics", Metrics)
# Put into the app by its cleanup context, on start-up:
DISPATCHER: web.AppKey[Dispatcher[Principal]] = web.AppKey("dispatcher")
AUTHENTICATE: web.AppKey[Authenticate] = web.AppKey("authenticate")
READY: web.AppKey[Callable[[], bool]] = web.AppKey("ready")
SERVICE = web.AppKey("service", Service)

CleanupContext = Callable[[web.Application], AsyncIterator[None]]
"""What starts the shim's parts (putting DISPATCHER, AUTHENTICATE and READY into the app)
and stops them."""


def _json(status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=dumps(body), content_type=JSON_TYPE, headers=headers)


def _refuse(status: int, code: int, message: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="agentcore-rpc"'} if status == 401 else None
    return _json(status, error_response(code, message), headers)


async def handle_jsonrpc(request: web.Request) -> web.StreamResponse:
    response = await _answer(request)
    request.app[METRICS].http.labels(str(response.status)).inc()
    return response


async def _answer(request: web.Request) -> web.StreamResponse:
    app = request.app
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        return _refuse(401, errors.UNAUTHENTICATED, "Unauthorized: a bearer token is required")
    try:
        principal = await app[AUTHENTICATE](token)
    except AuthUnavailableError as error:
        log.warning("cannot authenticate: %s", error)
        return _refuse(503, errors.UNAVAILABLE, "Unavailable: cannot authenticate now; retry")
    if principal is None:
        return _refuse(401, errors.UNAUTHENTICATED, "Unauthorized: the bearer token is not valid")
    limit = app[SETTINGS].max_request_bytes
    if request.content_length is not None and request.content_length > limit:
        return _refuse(413, errors.INVALID_REQUEST, f"Request body over {limit} bytes")
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _refuse(413, errors.INVALID_REQUEST, f"Request body over {limit} bytes")
    answer = await app[DISPATCHER].handle(body, principal)
    if answer is None:
        return web.Response(status=204)
    return web.Response(status=200, body=answer, content_type=JSON_TYPE)


async def handle_healthz(_: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def handle_readyz(request: web.Request) -> web.Response:
    if request.app[READY]():
        return web.Response(text="ok\n")
    return web.Response(status=503, text="the TrainingJob cache has not synced\n")


async def handle_metrics(request: web.Request) -> web.Response:
    registry = request.app[METRICS].registry
    response = web.Response(body=generate_latest(registry))
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def build_app(settings: ShimSettings, context: CleanupContext) -> web.Application:
    """The HTTP layer: the routes, the settings and the metrics; `context` starts the parts
    behind it (the tests give their own)."""
    app = web.Application(client_max_size=settings.max_request_bytes)
    app[SETTINGS] = settings
    app[METRICS] = Metrics()
    app.router.add_post("/jsonrpc", handle_jsonrpc)
    app.router.add_get("/healthz", handle_healthz)
    app.router.add_get("/readyz", handle_readyz)
    app.router.add_get("/metrics", handle_metrics)
    app.cleanup_ctx.append(context)
    return app


def create_app(settings: ShimSettings, *, client: KubeClient | None = None) -> web.Application:
    """The shim. On start-up the KubeClient is opened (from settings.kubeconfig unless one is
    given; a given one stays open), the watch cache started and the authenticator's JWKS
    fetched; on clean-up all are closed."""

    async def kubernetes(app: web.Application) -> AsyncIterator[None]:
        kube_client = client or await KubeClient.connect(settings.kubeconfig)
        http = aiohttp.ClientSession()
        cache = TrainingJobCache(kube_client, settings.watch_namespace)
        try:
            authenticator = Authenticator(settings, kube_client, http)
            await authenticator.start()
            authenticate: Authenticate = authenticator
            service = Service(
                settings=settings,
                client=kube_client,
                cache=cache,
                authorize=Authorizer(settings, kube_client),
            )
            app[SERVICE] = service
            app[AUTHENTICATE] = authenticate
            app[DISPATCHER] = build_dispatcher(service, app[METRICS].observe, settings.max_batch)
            app[READY] = cache.is_synced
            cache.start()
            yield
        finally:
            await cache.stop()
            await http.close()
            if client is None:
                await kube_client.close()

    return build_app(settings, kubernetes)

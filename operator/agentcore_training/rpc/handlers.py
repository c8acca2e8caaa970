"""The methods at work: authorize the call, read the watch cache, write to the apiserver.

Params are checked by params.py, what is written is built by manifests.py and results are
read back by results.py, all pure; this module adds the I/O.

Every call is authorized by Kubernetes RBAC for the caller (a SubjectAccessReview):
create, get, list, and the custom verb cancel, on trainingjobs.training.agentcore.dev.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp

from agentcore_training.api.resource import API_VERSION, PLURAL, TrainingJob
from agentcore_training.kube.client import ApiError, KubeClient, path_for
from agentcore_training.rpc import errors, manifests, methods, openrpc, params, results
from agentcore_training.rpc.auth import Authorize, AuthUnavailableError
from agentcore_training.rpc.cache import TrainingJobCache
from agentcore_training.rpc.errors import RpcError
from agentcore_training.rpc.identity import Principal
from agentcore_training.rpc.protocol import Dispatcher, Handler, Observer
from agentcore_training.rpc.ratelimit import RateLimiter
from agentcore_training.rpc.settings import ShimSettings
from agentcore_training.rpc.store import from_api

log = logging.getLogger(__name__)

_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
_NAME_ATTEMPTS = 3


def random_suffix() -> str:
    return "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(manifests.SUFFIX_LENGTH))


@dataclass
class Service:
    """What the methods need: the apiserver, the watch cache, RBAC, the settings."""

    settings: ShimSettings
    client: KubeClient
    cache: TrainingJobCache
    authorize: Authorize
    suffix: Callable[[], str] = random_suffix
    # get_status results by uid, for the resourceVersion they were built from.
    _status_memo: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    _summary_memo: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)

    # --- helpers ---------------------------------------------------------------------------

    async def _allowed(
        self, principal: Principal, verb: str, namespace: str, name: str = ""
    ) -> bool:
        try:
            return await self.authorize(principal, verb, namespace, name)
        except AuthUnavailableError as error:
            raise errors.unavailable(str(error)) from None

    async def _require(self, principal: Principal, verb: str, namespace: str) -> None:
        if not await self._allowed(principal, verb, namespace):
            raise errors.forbidden(verb, namespace, principal.username)

    def _served(self, namespace: str) -> None:
        served = self.settings.watch_namespace
        if served is not None and namespace != served:
            raise errors.invalid_params(
                f"Invalid namespace: {namespace!r}: this service serves namespace {served!r} only"
            )

    async def _visible_job(
        self, principal: Principal, job_id: str, namespace: str | None
    ) -> TrainingJob:
        """The cached job, if the caller may get it; -32001 alike when absent or hidden."""
        await self.cache.wait_synced(self.settings.cache_sync_timeout_seconds)
        job = self.cache.store.get(job_id)
        if job is None:
            raise errors.job_not_found(job_id)
        if namespace is not None and job.namespace != namespace:
            raise errors.job_not_found(job_id)
        if not await self._allowed(principal, "get", job.namespace, job.name):
            raise errors.job_not_found(job_id)
        return job

    # --- the methods -----------------------------------------------------------------------

    async def start_grpo(self, given: dict[str, Any], principal: Principal) -> dict[str, Any]:
        parsed = params.parse_start_grpo(given)
        namespace = parsed.namespace or self.settings.namespace
        self._served(namespace)
        jsonl = manifests.queries_jsonl(parsed)
        await self._require(principal, "create", namespace)
        for _ in range(_NAME_ATTEMPTS):
            name = manifests.job_name(parsed.agent_id, self.suffix())
            configmap = manifests.queries_configmap(name, namespace, parsed.agent_id, jsonl)
            cm_path = path_for("v1", "configmaps", namespace=namespace)
            try:
                await self.client.create(cm_path, configmap)
            except ApiError as error:
                if error.conflict:
                    continue
                raise _translate(error, "the queries ConfigMap") from None
            except (aiohttp.ClientError, TimeoutError) as error:
                raise errors.unavailable(f"the Kubernetes API did not answer: {error}") from None
            cm_name = configmap["metadata"]["name"]
            manifest = manifests.trainingjob_manifest(name, namespace, parsed, principal.username)
            try:
                answer, warnings = await self.client.create_warned(
                    path_for(API_VERSION, PLURAL, namespace=namespace), manifest
                )
                created = from_api(answer)
            except ApiError as error:
                await self._delete(path_for("v1", "configmaps", namespace=namespace, name=cm_name))
                if error.conflict:
                    continue
                raise _translate(error, "the TrainingJob") from None
            except BaseException:
                await self._delete(path_for("v1", "configmaps", namespace=namespace, name=cm_name))
                raise
            try:
                await self.client.patch(
                    path_for("v1", "configmaps", namespace=namespace, name=cm_name),
                    manifests.owner_patch(created),
                )
            except BaseException as error:
                await self._delete(path_for(API_VERSION, PLURAL, namespace=namespace, name=name))
                await self._delete(path_for("v1", "configmaps", namespace=namespace, name=cm_name))
                if isinstance(error, ApiError):
                    raise _translate(error, "the queries ConfigMap's owner") from None
                raise
            self.cache.put(created)
            log.info(
                "%s started TrainingJob %s/%s (%s) for agent %s",
                principal.username,
                namespace,
                name,
                created.uid,
                parsed.agent_id,
            )
            return results.start_result(created, warnings).to_json()
        raise errors.unavailable("could not find a free name for the TrainingJob; retry")

    async def _delete(self, path: str) -> None:
        """Best-effort clean-up of what a failed start left."""
        try:
            await asyncio.shield(self.client.delete(path))
        except ApiError as error:
            if not error.not_found:
                log.warning("could not clean up %s: %s", path, error)
        except Exception as error:  # clean-up must not hide the first error
            log.warning("could not clean up %s: %s", path, error)

    async def get_status(self, given: dict[str, Any], principal: Principal) -> dict[str, Any]:
        ref = params.parse_job_ref(given)
        job = await self._visible_job(principal, ref.job_id, ref.namespace)
        version = str(job.metadata.get("resourceVersion", ""))
        memo = self._status_memo.get(ref.job_id)
        if memo is not None and memo[0] == version:
            return memo[1]
        result = results.status_result(job).to_json()
        if len(self._status_memo) > 2 * len(self.cache.store) + 1000:
            self._status_memo.clear()
        self._status_memo[ref.job_id] = (version, result)
        return result

    async def cancel(self, given: dict[str, Any], principal: Principal) -> dict[str, Any]:
        ref = params.parse_job_ref(given)
        job = await self._visible_job(principal, ref.job_id, ref.namespace)
        namespace, name = job.namespace, job.name
        if not await self._allowed(principal, "cancel", namespace, name):
            raise errors.forbidden("cancel", namespace, principal.username)
        results.check_cancellable(job)
        if not job.spec.cancel:
            try:
                job = from_api(
                    await self.client.patch(
                        path_for(API_VERSION, PLURAL, namespace=namespace, name=name),
                        manifests.cancel_patch(),
                    )
                )
            except ApiError as error:
                if error.not_found:
                    raise errors.job_not_found(ref.job_id) from None
                raise _translate(error, "the TrainingJob") from None
            except (aiohttp.ClientError, TimeoutError) as error:
                raise errors.unavailable(f"the Kubernetes API did not answer: {error}") from None
            self.cache.put(job)
            log.info("%s cancelled TrainingJob %s/%s", principal.username, namespace, name)
        return results.cancel_result(job, datetime.now(UTC)).to_json()

    async def list_jobs(self, given: dict[str, Any], principal: Principal) -> dict[str, Any]:
        parsed = params.parse_list_jobs(given)
        await self.cache.wait_synced(self.settings.cache_sync_timeout_seconds)
        store = self.cache.store
        if parsed.namespace is not None:
            self._served(parsed.namespace)
            await self._require(principal, "list", parsed.namespace)
            jobs = store.select(namespace=parsed.namespace, agent_id=parsed.agent_id)
        elif self.settings.watch_namespace is None and await self._allowed(principal, "list", ""):
            jobs = store.select(agent_id=parsed.agent_id)
        else:
            candidates = (
                [self.settings.watch_namespace]
                if self.settings.watch_namespace is not None
                else store.namespaces()
            )
            decisions = await asyncio.gather(
                *(self._allowed(principal, "list", ns) for ns in candidates)
            )
            jobs = [
                job
                for ns, allowed in zip(candidates, decisions, strict=True)
                if allowed
                for job in store.select(namespace=ns, agent_id=parsed.agent_id)
            ]
        statuses = parsed.statuses()
        return results.list_result_json(
            (
                (results.created_key(job), self._summary(job))
                for job in jobs
                if statuses is None or results.status_of(job) in statuses
            ),
            offset=parsed.offset,
            limit=parsed.limit,
        )

    def _summary(self, job: TrainingJob) -> dict[str, Any]:
        """A job's list_jobs entry, built once per resourceVersion."""
        uid, version = job.uid, str(job.metadata.get("resourceVersion", ""))
        memo = self._summary_memo.get(uid)
        if memo is not None and memo[0] == version:
            return memo[1]
        summary = results.summary_of(job).to_json()
        if len(self._summary_memo) > 2 * len(self.cache.store) + 1000:
            self._summary_memo.clear()
        self._summary_memo[uid] = (version, summary)
        return summary

    async def evaluate(self, given: dict[str, Any], principal: Principal) -> dict[str, Any]:
        """The recorded evaluation: read from the cached TrainingJob, as get_status is."""
        parsed = params.parse_evaluate(given)
        job = await self._visible_job(principal, parsed.job_id, parsed.namespace)
        return results.evaluation_result(job, parsed.checkpoint_id).to_json()

    async def discover(self, given: dict[str, Any], principal: Principal) -> dict[str, Any]:
        params.parse_discover(given)
        return openrpc.served_document()


def _translate(error: ApiError, what: str) -> RpcError:
    """An apiserver refusal as the JSON-RPC error a caller can act on."""
    if error.status in (400, 422):
        return errors.invalid_params(
            f"Invalid params: the apiserver refused {what}: {error.message}"
        )
    if error.status == 404:
        return errors.invalid_params(f"Invalid namespace: {error.message}")
    if error.status == 403:
        return RpcError(
            errors.FORBIDDEN,
            f"Forbidden: the shim itself may not write {what}: {error.message}",
        )
    if error.status == 429 or error.status >= 500:
        return errors.unavailable(f"the Kubernetes API answered {error.status}: {error.message}")
    return RpcError(errors.INTERNAL_ERROR, f"Internal error: the apiserver answered {error}")


def rate_limiter(settings: ShimSettings) -> RateLimiter:
    """The limits of the settings, by method."""
    return RateLimiter(
        {
            methods.START_GRPO: settings.rate_limit_start_grpo_per_minute,
            methods.GET_STATUS: settings.rate_limit_get_status_per_minute,
            methods.CANCEL: settings.rate_limit_cancel_per_minute,
            methods.LIST_JOBS: settings.rate_limit_list_jobs_per_minute,
            methods.EVALUATE: settings.rate_limit_evaluate_per_minute,
        }
    )


def build_dispatcher(service: Service, observer: Observer, max_batch: int) -> Dispatcher[Principal]:
    """The JSON-RPC methods of `service`, registered with their positional order, each behind
    the caller's rate limit (a call over it does nothing)."""
    dispatcher: Dispatcher[Principal] = Dispatcher(max_batch=max_batch, observer=observer)
    limiter = rate_limiter(service.settings)
    handlers = {
        methods.START_GRPO: service.start_grpo,
        methods.GET_STATUS: service.get_status,
        methods.CANCEL: service.cancel,
        methods.LIST_JOBS: service.list_jobs,
        methods.EVALUATE: service.evaluate,
        methods.DISCOVER: service.discover,
    }
    for spec in methods.METHODS:
        dispatcher.add(
            spec.name, _limited(limiter, spec.name, handlers[spec.name]), spec.positional
        )
    return dispatcher


def _limited(limiter: RateLimiter, method: str, handler: Handler[Principal]) -> Handler[Principal]:
    if method not in limiter.per_minute:
        return handler

    async def call(params: dict[str, Any], principal: Principal) -> Any:
        wait = limiter.retry_after(principal.username, method)
        if wait is not None:
            raise errors.rate_limited(method, limiter.per_minute[method], wait)
        return await handler(params, principal)

    return call

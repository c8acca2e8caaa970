"""The operator's HTTPS server: the admission webhook and the trainers' progress endpoint.

One aiohttp application, one certificate. The progress endpoint authenticates the trainer's
projected, pod-bound ServiceAccount token with a TokenReview for the dedicated audience,
maps the pod to its TrainingJob, applies the report rules of controller.progress, and
coalesces status writes to at most one patch per job per interval.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp import web
from pydantic import ValidationError

from agentcore_training import labels
from agentcore_training.api.contract import (
    ATTEMPT_PATH_SUFFIX,
    AttemptAnswer,
    AttemptRequest,
    ProgressAnswer,
    ProgressReport,
    ProgressState,
)
from agentcore_training.api.resource import API_VERSION, PLURAL, TrainingJob
from agentcore_training.api.status import TrainingJobStatus
from agentcore_training.controller import metrics
from agentcore_training.controller.progress import (
    Accepted,
    Refusal,
    attempt_of,
    check_report,
    status_from_report,
)
from agentcore_training.controller.state import ClusterState
from agentcore_training.kube.client import ApiError, KubeClient, path_for
from agentcore_training.kube.reviews import review_token
from agentcore_training.ttlcache import TTLCache
from agentcore_training.webhook.admission import (
    Denial,
    admission_warnings,
    check_evaluation_queries,
    check_policy,
    check_queries,
    parse_spec,
    review_response,
)
from agentcore_training.webhook.configuration import WEBHOOK_PATH

log = logging.getLogger(__name__)

PROGRESS_PATH = "/progress"
MAX_REPORT_BYTES = 64 * 1024
POD_NAME_EXTRA = "authentication.kubernetes.io/pod-name"
POD_UID_EXTRA = "authentication.kubernetes.io/pod-uid"
TOKEN_CACHE_SECONDS = 10.0
TOKEN_CACHE_SIZE = 10_000
RETRY_AFTER_SECONDS = 5
"""What a trainer is told to wait while the apiserver cannot be reached (503 Retry-After)."""


@dataclass
class _JobProgress:
    """Per job: the last accepted report, and the write that coalesces the next ones."""

    accepted: Accepted | None = None
    pending: ProgressReport | None = None
    pending_at: datetime | None = None
    """When `pending` was accepted: status.lastReportTime (the stall watchdog)."""
    last_write: float = 0.0
    writer: asyncio.Task[None] | None = None


@dataclass
class ProgressService:
    """Accepts trainer reports and writes them to status, coalesced.

    It keeps a `_JobProgress` only while a job reports: the entry goes when the job's
    final report is written, when the job is finished or gone, or on `forget`.
    """

    client: KubeClient
    state: ClusterState
    interval: float
    on_written: Callable[[str], None] = lambda _uid: None
    _jobs: dict[str, _JobProgress] = field(default_factory=dict)
    _reviews: TTLCache[str, dict[str, Any]] = field(
        default_factory=lambda: TTLCache(TOKEN_CACHE_SIZE, TOKEN_CACHE_SECONDS)
    )

    async def authenticate(self, token: str) -> dict[str, Any] | None:
        """The TokenReview user of a token minted for the progress audience, or None."""
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self._reviews.get(key)
        if cached is not None:
            return cached
        review = await review_token(self.client, token, [labels.PROGRESS_TOKEN_AUDIENCE])
        if not review.authenticated or labels.PROGRESS_TOKEN_AUDIENCE not in review.audiences:
            return None
        user = dict(review.user)
        self._reviews.put(key, user)
        return user

    async def pod_of(self, user: dict[str, Any]) -> dict[str, Any] | None:
        """The trainer pod the token is bound to, if it is one of ours."""
        username = str(user.get("username", ""))
        extra = user.get("extra") or {}
        pod_names, pod_uids = extra.get(POD_NAME_EXTRA) or [], extra.get(POD_UID_EXTRA) or []
        parts = username.split(":")
        if len(parts) != 4 or parts[:2] != ["system", "serviceaccount"] or not pod_names:
            return None
        namespace, pod_name = parts[2], str(pod_names[0])
        pod = self.state.find_pod(namespace, pod_name)
        if pod is None:
            pod = await self.client.get_or_none(
                path_for("v1", "pods", namespace=namespace, name=pod_name)
            )
            if pod is None:
                return None
        pod_labels = pod["metadata"].get("labels") or {}
        if pod_uids and pod["metadata"].get("uid") != pod_uids[0]:
            return None
        if pod_labels.get(labels.MANAGED_BY) != labels.MANAGER or labels.JOB_ID not in pod_labels:
            return None
        return pod

    def forget(self, uid: str) -> None:
        """Drop what is kept for a job (it was deleted)."""
        self._jobs.pop(uid, None)

    def accept(self, uid: str, report: ProgressReport) -> Refusal | bool:
        """Apply the rules: whether the trainer should cancel, or why the report is refused."""
        body = self.state.trainingjobs.get(uid)
        if body is None:
            self.forget(uid)
            return Refusal(404, f"TrainingJob {uid} not found")
        trainingjob = TrainingJob.model_validate(body)
        if trainingjob.status.phase is not None and trainingjob.status.phase.is_finished:
            self.forget(uid)
            return Refusal(409, f"TrainingJob {uid} is {trainingjob.status.phase.value}")
        progress = self._jobs.setdefault(uid, _JobProgress())
        if progress.accepted is None and trainingjob.status.progress is not None:
            cost = trainingjob.status.cost
            progress.accepted = Accepted(
                trainingjob.status.progress.current_iteration,
                cost.cost_usd if cost is not None else report.cost_usd,
            )
        refusal = check_report(
            report,
            pod_job_id=uid,
            budget_usd=trainingjob.spec.config.max_budget_usd,
            last=progress.accepted,
        )
        if refusal is not None:
            return refusal
        progress.accepted = Accepted(report.iteration, report.cost_usd, report.pod_name)
        progress.pending = report
        progress.pending_at = datetime.now(UTC).replace(microsecond=0)
        if progress.writer is None or progress.writer.done():
            progress.writer = asyncio.create_task(self._write_later(uid, progress))
        return trainingjob.spec.cancel

    async def begin_attempt(self, uid: str, pod: dict[str, Any]) -> Refusal | AttemptAnswer:
        """The handshake: what the run has spent and reached, from the status we wrote.

        The pod's attempt is 1 + the Job's trainer pods before it (attempt_of); it is written to
        status.attempt before the answer goes out, and later reports of this pod may start
        again from iteration 0 (a retry without a checkpoint) but never lower the cost.
        """
        body = self.state.trainingjobs.get(uid)
        if body is None:
            return Refusal(404, f"TrainingJob {uid} not found")
        trainingjob = TrainingJob.model_validate(body)
        status = trainingjob.status
        if status.phase is not None and status.phase.is_finished:
            return Refusal(409, f"TrainingJob {uid} is {status.phase.value}")
        name = str(pod["metadata"]["name"])
        attempt = attempt_of(pod, self.state.pods_of(uid), self.state.jobs.get(uid), status.attempt)
        cost = status.cost.cost_usd if status.cost is not None else Decimal(0)
        iteration = status.progress.current_iteration if status.progress is not None else 0
        progress = self._jobs.setdefault(uid, _JobProgress())
        progress.accepted = Accepted(iteration, cost, name)
        if status.attempt != attempt:
            path = path_for(
                API_VERSION, PLURAL, namespace=trainingjob.namespace, name=trainingjob.name
            )
            patch = {"status": TrainingJobStatus(attempt=attempt).to_patch()}
            updated = await self.client.patch(f"{path}/status", patch)
            metrics.STATUS_PATCHES.labels("progress").inc()
            self.state.put_trainingjob(updated)
        return AttemptAnswer(
            attempt=attempt, cost_usd=cost, iteration=iteration, cancel=trainingjob.spec.cancel
        )

    async def _write_later(self, uid: str, progress: _JobProgress) -> None:
        delay = progress.last_write + self.interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        report, progress.pending = progress.pending, None
        received_at = progress.pending_at or datetime.now(UTC).replace(microsecond=0)
        body = self.state.trainingjobs.get(uid)
        if body is None:
            self._drop(uid, progress)
            return
        if report is None:
            return
        trainingjob = TrainingJob.model_validate(body)
        path = path_for(API_VERSION, PLURAL, namespace=trainingjob.namespace, name=trainingjob.name)
        progress.last_write = time.monotonic()
        try:
            patch = status_from_report(report, trainingjob.status.history, received_at)
            updated = await self.client.patch(f"{path}/status", {"status": patch})
        except ApiError as error:
            metrics.HANDLER_ERRORS.labels("progress-write").inc()
            log.warning("progress write for %s failed: %s", uid, error)
            return
        metrics.STATUS_PATCHES.labels("progress").inc()
        self.state.put_trainingjob(updated)
        self.on_written(uid)
        if progress.pending is not None:  # a newer report came in while this one was written
            progress.writer = asyncio.create_task(self._write_later(uid, progress))
        elif report.state != ProgressState.RUNNING:
            # The trainer's last report is written. Another attempt's reports would start
            # again from the written status (see accept).
            self._drop(uid, progress)

    def _drop(self, uid: str, progress: _JobProgress) -> None:
        if self._jobs.get(uid) is progress:
            del self._jobs[uid]


def _refuse(status: int, message: str) -> web.Response:
    metrics.PROGRESS_REPORTS.labels(str(status)).inc()
    return web.json_response({"error": message}, status=status)


PROGRESS_SERVICE = web.AppKey("progress_service", ProgressService)
KUBE_CLIENT = web.AppKey("kube_client", KubeClient)
MIN_QUERIES = web.AppKey("min_queries", int)


async def _trainer_pod(request: web.Request) -> web.Response | dict[str, Any]:
    """The trainer pod the request's bearer token is bound to, or the refusal."""
    service = request.app[PROGRESS_SERVICE]
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        return _refuse(401, "a bearer token is required")
    user = await service.authenticate(header[7:].strip())
    if user is None:
        return _refuse(401, f"the token is not valid for audience {labels.PROGRESS_TOKEN_AUDIENCE}")
    pod = await service.pod_of(user)
    if pod is None:
        return _refuse(403, "the token is not bound to a trainer pod of this operator")
    return pod


async def handle_attempt(request: web.Request) -> web.Response:
    """The attempt handshake: a starting trainer learns what the run spent and reached."""
    service = request.app[PROGRESS_SERVICE]
    pod = await _trainer_pod(request)
    if isinstance(pod, web.Response):
        return pod
    try:
        asked = AttemptRequest.model_validate_json(await request.read())
    except ValidationError as error:
        return _refuse(422, f"not an attempt request: {error.errors()[0]['msg']}")
    uid = pod["metadata"]["labels"][labels.JOB_ID]
    if asked.job_id is not None and asked.job_id != uid:
        return _refuse(403, f"this pod belongs to job {uid}, not {asked.job_id}")
    outcome = await service.begin_attempt(uid, pod)
    if isinstance(outcome, Refusal):
        return _refuse(outcome.http_status, outcome.message)
    return web.json_response(outcome.to_wire())


async def handle_progress(request: web.Request) -> web.Response:
    service = request.app[PROGRESS_SERVICE]
    pod = await _trainer_pod(request)
    if isinstance(pod, web.Response):
        return pod
    if request.content_length is not None and request.content_length > MAX_REPORT_BYTES:
        return _refuse(413, f"a report is at most {MAX_REPORT_BYTES} bytes")
    try:
        report = ProgressReport.model_validate_json(await request.read())
    except ValidationError as error:
        return _refuse(422, f"not a progress report: {error.errors()[0]['msg']}")
    outcome = service.accept(pod["metadata"]["labels"][labels.JOB_ID], report)
    if isinstance(outcome, Refusal):
        return _refuse(outcome.http_status, outcome.message)
    metrics.PROGRESS_REPORTS.labels("accepted").inc()
    return web.json_response(ProgressAnswer(cancel=outcome).to_wire())


async def handle_admission(request: web.Request) -> web.Response:
    review = await request.json()
    admission = review.get("request") or {}
    uid = str(admission.get("uid", ""))
    obj = admission.get("object") or {}
    namespace = str(admission.get("namespace") or obj.get("metadata", {}).get("namespace", ""))
    denial = await _judge(request.app[KUBE_CLIENT], obj, namespace, request.app[MIN_QUERIES])
    metrics.ADMISSION_REVIEWS.labels(str(denial is None).lower()).inc()
    spec = parse_spec(obj)
    warnings = admission_warnings(spec) if denial is None and not isinstance(spec, Denial) else []
    return web.json_response(review_response(uid, denial, warnings))


async def _judge(
    client: KubeClient, obj: dict[str, Any], namespace: str, min_queries: int
) -> Denial | None:
    spec = parse_spec(obj)
    if isinstance(spec, Denial):
        return spec
    denial = check_policy(spec)
    if denial is not None:
        return denial
    if spec.queries.config_map_ref is not None:
        name = spec.queries.config_map_ref.name
        configmap = await client.get_or_none(
            path_for("v1", "configmaps", namespace=namespace, name=name)
        )
        denial = check_queries(spec, namespace, configmap, min_queries=min_queries)
        if denial is not None:
            return denial
    evaluation = spec.evaluation.queries
    if evaluation is None or evaluation.config_map_ref is None:
        return None
    name = evaluation.config_map_ref.name
    configmap = await client.get_or_none(
        path_for("v1", "configmaps", namespace=namespace, name=name)
    )
    return check_evaluation_queries(spec, namespace, configmap)


def _apiserver_unavailable(error: Exception) -> bool:
    """Whether `error` says the apiserver is away or overloaded (worth a retry), not that it
    refused the operator (a 4xx is our fault, and stays a 500)."""
    if isinstance(error, ApiError):
        return error.status >= 500 or error.status == 429
    return isinstance(error, aiohttp.ClientError | TimeoutError | OSError)


@web.middleware
async def _unavailable_while_apiserver_away(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """503 + Retry-After while the apiserver cannot answer: the caller (a trainer, or the
    apiserver itself for a webhook) should try again, and a 500 would say the operator broke."""
    try:
        return await handler(request)
    except Exception as error:
        if not _apiserver_unavailable(error):
            raise
        log.warning("%s: the Kubernetes API is unavailable: %s", request.path, error)
        if request.path.startswith(PROGRESS_PATH):
            metrics.PROGRESS_REPORTS.labels("503").inc()
        return web.json_response(
            {"error": f"the Kubernetes API is unavailable, try again: {error}"[:500]},
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


async def handle_health(_: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def build_app(client: KubeClient, service: ProgressService, *, min_queries: int) -> web.Application:
    app = web.Application(
        client_max_size=2 * 1024 * 1024, middlewares=[_unavailable_while_apiserver_away]
    )
    app[KUBE_CLIENT] = client
    app[PROGRESS_SERVICE] = service
    app[MIN_QUERIES] = min_queries
    app.router.add_post(PROGRESS_PATH, handle_progress)
    app.router.add_post(PROGRESS_PATH + ATTEMPT_PATH_SUFFIX, handle_attempt)
    app.router.add_post(WEBHOOK_PATH, handle_admission)
    app.router.add_get("/healthz", handle_health)
    return app

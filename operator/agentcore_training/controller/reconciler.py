"""The reconcile loop: a work queue of job ids, each reconciled by one worker at a time.

Watches (kopf event handlers) and timers enqueue a job id; a worker turns what the state
holds into a plan (controller.phase, pure) and carries it out against the apiserver.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from agentcore_training import labels
from agentcore_training.api.resource import API_VERSION, PLURAL, TrainingJob
from agentcore_training.api.status import TrainingJobStatus
from agentcore_training.controller import job_metrics, metrics
from agentcore_training.controller.jobs import JobSettings
from agentcore_training.controller.multipod import build_trainer_job, build_trainer_service
from agentcore_training.controller.objects import lacks_summary_pod
from agentcore_training.controller.phase import Event, Plan, plan
from agentcore_training.controller.state import ClusterState
from agentcore_training.kube.client import ApiError, KubeClient, path_for
from agentcore_training.kube.events import record_event
from agentcore_training.kube.pods import delete_pod, pods_path
from agentcore_training.kube.watch import items_of

log = logging.getLogger(__name__)


class Reconciler:
    """A controller-runtime style work queue: one reconcile per job id at a time."""

    def __init__(
        self,
        client: KubeClient,
        state: ClusterState,
        job_settings: JobSettings,
        *,
        cancel_grace_seconds: float,
        workers: int = 16,
        resync_seconds: float = 60.0,
    ) -> None:
        self._client = client
        self._state = state
        self._job_settings = job_settings
        self._grace = cancel_grace_seconds
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._active: set[str] = set()
        self._dirty: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._workers = workers
        self._resync_seconds = resync_seconds
        self._background: set[asyncio.Task[None]] = set()
        # The stall watchdog counts no silence from before this: reports sent while the
        # operator was down went unheard.
        self._watching_since = datetime.now(UTC)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self._workers)]
        if self._resync_seconds > 0:
            self._tasks.append(asyncio.create_task(self._resync()))

    async def _resync(self) -> None:
        """Reconcile every TrainingJob now and then, so that a lost event heals."""
        while True:
            await asyncio.sleep(self._resync_seconds)
            for uid in list(self._state.trainingjobs):
                self.enqueue(uid)

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def enqueue(self, uid: str) -> None:
        if uid in self._active:
            self._dirty.add(uid)  # reconciled again as soon as the running one ends
        elif uid not in self._queued:
            self._queued.add(uid)
            self._queue.put_nowait(uid)

    def enqueue_after(self, uid: str, delay: float) -> None:
        previous = self._timers.pop(uid, None)
        if previous is not None:
            previous.cancel()
        loop = asyncio.get_running_loop()
        self._timers[uid] = loop.call_later(delay, self._fire, uid)

    def _fire(self, uid: str) -> None:
        self._timers.pop(uid, None)
        self.enqueue(uid)

    def forget(self, uid: str) -> None:
        """Drop what is kept for a job (it was deleted): its timer and a pending re-run."""
        timer = self._timers.pop(uid, None)
        if timer is not None:
            timer.cancel()
        self._dirty.discard(uid)

    async def _work(self) -> None:
        while True:
            uid = await self._queue.get()
            self._queued.discard(uid)
            self._active.add(uid)
            try:
                await self.reconcile(uid)
            except Exception:
                metrics.HANDLER_ERRORS.labels("reconcile").inc()
                log.exception("reconcile of %s failed; retrying in 5 s", uid)
                self.enqueue_after(uid, 5.0)
            finally:
                self._active.discard(uid)
                if uid in self._dirty:
                    self._dirty.discard(uid)
                    self.enqueue(uid)

    async def reconcile(self, uid: str) -> None:
        body = self._state.trainingjobs.get(uid)
        if body is None:
            self.forget(uid)
            return
        if body["metadata"].get("deletionTimestamp"):
            return
        metrics.RECONCILES.inc()
        try:
            trainingjob = TrainingJob.model_validate(body)
        except ValidationError as error:
            log.warning("TrainingJob %s does not parse; skipping: %s", uid, error)
            return
        job = self._state.jobs.get(uid)
        if job is None and trainingjob.status.job_name:
            job = await self._get_job(trainingjob.namespace, trainingjob.status.job_name)
        pods = self._state.pods_of(uid)
        if lacks_summary_pod(job, pods):
            pods = await self._read_pods(trainingjob.namespace, uid)
        result = plan(
            trainingjob,
            job,
            pods,
            now=datetime.now(UTC),
            cancel_grace_seconds=self._grace,
            watching_since=self._watching_since,
        )
        await self._carry_out(trainingjob, body, result)

    async def _read_pods(self, namespace: str, uid: str) -> list[dict[str, Any]]:
        """The job's trainer pods as the apiserver has them now (into the view as well)."""
        answer = await self._client.get(
            pods_path(namespace), labelSelector=f"{labels.JOB_ID}={uid}"
        )
        for pod in items_of(answer):
            self._state.put_pod(pod)
        return self._state.pods_of(uid)

    async def _get_job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return await self._client.get_or_none(
            path_for("batch/v1", "jobs", namespace=namespace, name=name)
        )

    async def _carry_out(self, tj: TrainingJob, body: dict[str, Any], result: Plan) -> None:
        jobs_path = path_for("batch/v1", "jobs", namespace=tj.namespace)
        if result.create_job:
            await self._create_job(tj, jobs_path)
        if result.delete_job and tj.status.job_name:
            try:
                await self._client.delete(f"{jobs_path}/{tj.status.job_name}")
            except ApiError as error:
                if not error.not_found:
                    raise
        for name, pod_uid in result.delete_pods:
            log.warning("deleting the hung trainer pod %s/%s", tj.namespace, name)
            await delete_pod(self._client, tj.namespace, name, pod_uid)
        if result.suspend_job is not None and tj.status.job_name:
            await self._client.patch(
                f"{jobs_path}/{tj.status.job_name}", {"spec": {"suspend": result.suspend_job}}
            )
        if result.status:
            path = path_for(API_VERSION, PLURAL, namespace=tj.namespace, name=tj.name)
            updated = await self._client.patch(f"{path}/status", {"status": result.status})
            metrics.STATUS_PATCHES.labels("reconcile").inc()
            job_metrics.count_phase_change(
                tj, TrainingJobStatus.model_validate(result.status).phase
            )
            self._state.put_trainingjob(updated)
            body = updated
        for event in result.events:
            # Events are for people: record them beside the reconcile, not in its way.
            task = asyncio.create_task(self._record(body, event))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        if result.requeue_after is not None:
            self.enqueue_after(tj.uid, result.requeue_after)

    async def _record(self, body: dict[str, Any], event: Event) -> None:
        try:
            await record_event(self._client, body, event.type, event.reason, event.message)
        except ApiError as error:
            log.warning("could not record event %s: %s", event.reason, error)

    async def _create_job(self, tj: TrainingJob, jobs_path: str) -> None:
        service = build_trainer_service(tj)
        if service is not None:  # first: the pods' rendezvous resolves its names
            await self._create_owned(
                tj, path_for("v1", "services", namespace=tj.namespace), service
            )
        created = await self._create_owned(tj, jobs_path, build_trainer_job(tj, self._job_settings))
        self._state.put_job(created)

    async def _create_owned(
        self, tj: TrainingJob, collection: str, manifest: dict[str, Any]
    ) -> dict[str, Any]:
        """Create `manifest` (owned by `tj`), or take the one there already."""
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        try:
            created = await self._client.create(collection, manifest)
            if kind == "Job":
                metrics.JOBS_CREATED.inc()
            return created
        except ApiError as error:
            if not error.conflict:
                raise
            # A retried reconcile or a restarted operator: the object is there already.
            existing = await self._client.get(f"{collection}/{name}")
            owners = existing["metadata"].get("ownerReferences", [])
            if not any(o.get("uid") == tj.uid for o in owners):
                raise RuntimeError(f"{kind} {name} exists but is not owned by {tj.uid}") from error
            return existing

"""One Pod's life on the dev runner, as a kubelet would live it: resolve its references,
prepare the sandbox, run the process, report status, and honour deletion and deadlines."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from agentcore_training.devrunner import sandbox, status
from agentcore_training.devrunner.podapi import PodApi, retrying
from agentcore_training.devrunner.podmodel import (
    LocalProcessPlan,
    PlanError,
    TokenKey,
)
from agentcore_training.devrunner.podspec import needs_of, plan_pod
from agentcore_training.devrunner.process import CONTAINER_LOG, LocalProcess
from agentcore_training.kube.client import ApiError, KubeClient
from agentcore_training.kube.pods import delete_pod_now, patch_pod_status

SHUTDOWN_GRACE_S = 10.0  # at most this long per process when the runner itself stops
START_ERROR_EXIT_CODE = 128  # what a kubelet reports when a container cannot start
TOKEN_REFRESH_FRACTION = 0.8  # a kubelet refreshes a projected token after 80 % of its life


class Ending(Enum):
    """Why the process ended."""

    EXITED = "exited"
    DELETED = "deleted"
    DEADLINE = "deadline"
    RUNNER_STOPPED = "runner-stopped"


@dataclass
class RunContext:
    """What every PodRun shares."""

    workdir: Path
    base_env: Mapping[str, str]
    logger: logging.Logger


class PodRun:
    """Runs one Pod once. The runner feeds it watch events (`update`, `gone`) and `stop`."""

    def __init__(self, client: KubeClient, pod: Mapping[str, Any], settings: RunContext) -> None:
        self._client = client
        self._settings = settings
        self._log = settings.logger
        metadata = pod["metadata"]
        self.namespace = str(metadata.get("namespace", "default"))
        self.name = str(metadata["name"])
        self.uid = str(metadata["uid"])
        self._pod: Mapping[str, Any] = pod
        self._gone = False  # the object is deleted from the API
        self._deleting = asyncio.Event()  # deletionTimestamp set, or gone
        self._stopping = asyncio.Event()  # the runner stops
        self._start_time = datetime.now(UTC)
        self._api = PodApi(client, self.namespace, self.name, self.uid)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    # Events from the runner ---------------------------------------------------------------

    def update(self, pod: Mapping[str, Any]) -> None:
        self._pod = pod
        if pod.get("metadata", {}).get("deletionTimestamp"):
            self._deleting.set()

    def gone(self) -> None:
        self._gone = True
        self._deleting.set()

    def stop(self) -> None:
        self._stopping.set()

    # The life -----------------------------------------------------------------------------

    async def run(self) -> None:
        plan = await self._plan()
        if plan is None:
            return
        container = status.ContainerInfo(plan.container_name, plan.image)
        try:
            sandbox.prepare(plan)
            process = await LocalProcess.start(plan, self._log)
        except OSError as error:
            self._log.warning("%s: cannot start %s: %s", self.key, plan.argv[:1], error)
            await self._finish(
                status.terminated_status(
                    container,
                    exit_code=START_ERROR_EXIT_CODE,
                    message=f"failed to start {plan.argv[0]!r}: {error}",
                    start_time=self._start_time,
                    started_at=None,
                    finished_at=datetime.now(UTC),
                    container_reason="StartError",
                )
            )
            return
        started_at = datetime.now(UTC)
        container = status.ContainerInfo(
            plan.container_name, plan.image, f"dev-runner://{process.pid}"
        )
        self._log.info("%s: started pid %d: %s", self.key, process.pid, " ".join(plan.argv))
        await self._report(
            status.running_status(container, start_time=self._start_time, started_at=started_at)
        )
        refresher = asyncio.create_task(self._refresh_tokens(plan))
        try:
            ending, returncode = await self._supervise(plan, process)
        finally:
            refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await refresher
        exit_code = status.exit_code_of(returncode)
        message = status.termination_message(
            sandbox.read_head(plan.termination_log, status.MAX_TERMINATION_MESSAGE_BYTES),
            policy=plan.termination_message_policy,
            exit_code=exit_code,
            log_tail=sandbox.read_tail(plan.logs_dir / CONTAINER_LOG, 16 * 1024),
        )
        self._log.info(
            "%s: pid %d ended (%s), exit code %d", self.key, process.pid, ending.value, exit_code
        )
        pod_reason, pod_message = {
            Ending.DEADLINE: (status.DEADLINE_EXCEEDED, status.DEADLINE_MESSAGE),
            Ending.RUNNER_STOPPED: (status.RUNNER_STOPPED, status.RUNNER_STOPPED_MESSAGE),
        }.get(ending, (None, None))
        await self._finish(
            status.terminated_status(
                container,
                exit_code=exit_code,
                message=message,
                start_time=self._start_time,
                started_at=started_at,
                finished_at=datetime.now(UTC),
                pod_reason=pod_reason,
                pod_message=pod_message,
            )
        )

    async def _plan(self) -> LocalProcessPlan | None:
        """The plan, retrying while a referenced object is missing (None: give up)."""
        delays = iter([1.0, 1.0, 2.0, 2.0, 5.0])
        last_message = ""
        while True:
            try:
                return await self._try_plan()
            except PlanError as error:
                container_name = self._container_name()
                container = status.ContainerInfo(container_name, self._image())
                if not error.retryable:
                    self._log.warning("%s: cannot run: %s", self.key, error.message)
                    await self._finish(
                        status.terminated_status(
                            container,
                            exit_code=START_ERROR_EXIT_CODE,
                            message=error.message,
                            start_time=self._start_time,
                            started_at=None,
                            finished_at=datetime.now(UTC),
                            pod_reason=error.reason,
                            pod_message=error.message,
                            container_reason=error.reason,
                        )
                    )
                    return None
                if error.message != last_message:
                    self._log.info("%s: waiting: %s", self.key, error.message)
                    last_message = error.message
                    await self._report(
                        status.waiting_status(
                            container,
                            reason=error.reason,
                            message=error.message,
                            start_time=self._start_time,
                        )
                    )
            except Exception as error:  # an apiserver hiccup: try again
                self._log.warning("%s: resolving the pod failed, retrying: %s", self.key, error)
            if await self._wait_any(self._deleting, self._stopping, seconds=next(delays, 5.0)):
                if self._deleting.is_set():
                    await self._confirm_deletion()
                return None

    async def _try_plan(self) -> LocalProcessPlan:
        needs = needs_of(self._pod)
        fetched = await self._api.fetch(needs)
        return plan_pod(
            self._pod,
            sandbox.sandbox_dir(self._settings.workdir, self.namespace, self.name, self.uid),
            fetched,
            self._settings.base_env,
            claims_dir=sandbox.claims_dir(self._settings.workdir, self.namespace),
            host_has=os.path.exists,
        )

    async def _supervise(self, plan: LocalProcessPlan, process: LocalProcess) -> tuple[Ending, int]:
        """Wait for the process to exit, or for deletion, the deadline or the runner's stop."""
        waiting: dict[asyncio.Task[Any], Ending] = {
            asyncio.create_task(process.wait()): Ending.EXITED,
            asyncio.create_task(self._deleting.wait()): Ending.DELETED,
            asyncio.create_task(self._stopping.wait()): Ending.RUNNER_STOPPED,
        }
        if plan.active_deadline_s is not None:
            deadline = self._start_time + timedelta(seconds=plan.active_deadline_s)
            remaining = (deadline - datetime.now(UTC)).total_seconds()
            waiting[asyncio.create_task(asyncio.sleep(max(0.0, remaining)))] = Ending.DEADLINE
        done, pending = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        exited = next((t for t in done if waiting[t] is Ending.EXITED), None)
        if exited is not None:
            return Ending.EXITED, int(exited.result())
        ending = waiting[next(iter(done))]
        grace = float(plan.grace_period_s)
        if ending is Ending.DELETED:
            # The apiserver sets deletionGracePeriodSeconds 0 for unscheduled pods (ours are
            # never bound to a node), so the pod spec's grace period is the one honoured.
            self._log.info("%s: deleted; stopping pid %d (grace %ss)", self.key, process.pid, grace)
        elif ending is Ending.RUNNER_STOPPED:
            grace = min(grace, SHUTDOWN_GRACE_S)
        else:
            self._log.info(
                "%s: activeDeadlineSeconds passed; stopping pid %d", self.key, process.pid
            )
        return ending, await process.terminate(grace)

    async def _refresh_tokens(self, plan: LocalProcessPlan) -> None:
        """Rewrite each projected token after 80 % of its life, as a kubelet does."""
        token_files = [f for f in plan.files if f.token is not None]
        service_account = needs_of(self._pod).service_account
        while token_files:
            now = datetime.now(UTC)
            due: dict[TokenKey, datetime] = {}
            for key, expires in self._api.token_expiry.items():
                life = timedelta(seconds=key.expiration_seconds)
                due[key] = expires - life * (1 - TOKEN_REFRESH_FRACTION)
            key, when = min(due.items(), key=lambda item: item[1])
            await asyncio.sleep(max(1.0, (when - now).total_seconds()))
            try:
                token = await self._api.token(service_account, key)
            except Exception as error:
                self._log.warning("%s: token refresh failed, retrying: %s", self.key, error)
                await asyncio.sleep(10)
                continue
            for planned in token_files:
                if planned.token == key:
                    sandbox.write_atomic(planned.path, token.encode(), planned.mode)
            self._log.info("%s: refreshed the token for audience %r", self.key, key.audience)

    # Reporting ----------------------------------------------------------------------------

    async def _report(self, pod_status: Mapping[str, Any]) -> None:
        """Write the status subresource (retrying hiccups); a gone pod is not an error."""
        if self._gone:
            return
        try:
            await retrying(
                lambda: patch_pod_status(self._client, self.namespace, self.name, pod_status),
                self._log,
                f"{self.key}: status",
                until_done=True,
            )
        except ApiError as error:
            if error.not_found:
                self.gone()
                return
            self._log.error("%s: writing status failed: %s", self.key, error)
        except Exception as error:  # never leave a process unsupervised over a status write
            self._log.error("%s: writing status failed: %s", self.key, error)

    async def _finish(self, pod_status: Mapping[str, Any]) -> None:
        """The terminal status, then, for a pod being deleted, the kubelet's final delete."""
        await self._report(pod_status)
        if self._deleting.is_set():
            await self._confirm_deletion()

    async def _confirm_deletion(self) -> None:
        if self._gone:
            return
        try:
            await retrying(
                lambda: delete_pod_now(self._client, self.namespace, self.name, self.uid),
                self._log,
                f"{self.key}: delete",
                until_done=True,
            )
        except Exception as error:
            self._log.error("%s: confirming the deletion failed: %s", self.key, error)

    # Helpers ------------------------------------------------------------------------------

    def _container_name(self) -> str:
        containers = self._pod.get("spec", {}).get("containers") or [{}]
        return str(containers[0].get("name", ""))

    def _image(self) -> str:
        containers = self._pod.get("spec", {}).get("containers") or [{}]
        return str(containers[0].get("image", ""))

    @staticmethod
    async def _wait_any(*events: asyncio.Event, seconds: float) -> bool:
        """Wait until one of the events is set (True) or the timeout passes (False)."""
        tasks = [asyncio.create_task(event.wait()) for event in events]
        try:
            done, _ = await asyncio.wait(
                tasks, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for task in tasks:
                task.cancel()
        return bool(done)

"""Pod status dicts as a kubelet writes them (for the status subresource): pure builders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from agentcore_training.api.timestamps import rfc3339
from agentcore_training.devrunner.podmodel import LOOPBACK_IP

MAX_TERMINATION_MESSAGE_BYTES = 4096  # what a kubelet reads of the termination-message file
FALLBACK_LOG_LINES = 80  # FallbackToLogsOnError: the kubelet's tail of the container log
FALLBACK_LOG_BYTES = 2048

DEADLINE_EXCEEDED = "DeadlineExceeded"
DEADLINE_MESSAGE = "Pod was active on the node longer than the specified deadline"
RUNNER_STOPPED = "DevRunnerStopped"
RUNNER_STOPPED_MESSAGE = "the dev runner stopped and killed the process"


@dataclass(frozen=True)
class ContainerInfo:
    """What a container status names: the container and its (ignored) image."""

    name: str
    image: str
    container_id: str = ""

    @property
    def image_id(self) -> str:
        # Nothing is pulled: say so instead of pretending a digest.
        return f"dev-runner://{self.image}" if self.image else ""


def exit_code_of(returncode: int) -> int:
    """A shell-style exit code: a process killed by signal N exits 128 + N, as in containers."""
    return 128 - returncode if returncode < 0 else returncode


def termination_message(
    file_content: bytes, *, policy: str, exit_code: int, log_tail: bytes = b""
) -> str:
    """The termination message: the file (at most 4096 bytes), or for FallbackToLogsOnError
    with an empty file and a non-zero exit, the last 80 lines (at most 2048 bytes) of the log."""
    message = file_content[:MAX_TERMINATION_MESSAGE_BYTES]
    if not message.strip() and policy == "FallbackToLogsOnError" and exit_code != 0:
        lines = log_tail.splitlines(keepends=True)[-FALLBACK_LOG_LINES:]
        message = b"".join(lines)[-FALLBACK_LOG_BYTES:]
    return message.decode(errors="replace")


def _conditions(now: datetime, *, ready: bool, reason: str | None = None) -> list[dict[str, Any]]:
    stamp = rfc3339(now)
    out: list[dict[str, Any]] = [
        {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": stamp},
        {"type": "Initialized", "status": "True", "lastTransitionTime": stamp},
    ]
    for kind in ("Ready", "ContainersReady"):
        condition: dict[str, Any] = {
            "type": kind,
            "status": "True" if ready else "False",
            "lastTransitionTime": stamp,
        }
        if reason:
            condition["reason"] = reason
        out.append(condition)
    out.append({"type": "PodScheduled", "status": "True", "lastTransitionTime": stamp})
    return out


def _ips() -> dict[str, Any]:
    return {
        "podIP": LOOPBACK_IP,
        "podIPs": [{"ip": LOOPBACK_IP}],
        "hostIP": LOOPBACK_IP,
        "hostIPs": [{"ip": LOOPBACK_IP}],
    }


def _container_status(
    container: ContainerInfo, state: dict[str, Any], *, ready: bool, started: bool
) -> dict[str, Any]:
    status: dict[str, Any] = {
        "name": container.name,
        "image": container.image,
        "imageID": container.image_id,
        "ready": ready,
        "started": started,
        "restartCount": 0,
        "state": state,
    }
    if container.container_id:
        status["containerID"] = container.container_id
    return status


def waiting_status(
    container: ContainerInfo, *, reason: str, message: str, start_time: datetime
) -> dict[str, Any]:
    """Pending, the container waiting (e.g. CreateContainerConfigError while a ConfigMap is
    missing), as a kubelet reports a pod it accepted but cannot start yet."""
    waiting = {"waiting": {"reason": reason, "message": message}}
    return {
        "phase": "Pending",
        "startTime": rfc3339(start_time),
        "conditions": [
            {
                "type": "PodScheduled",
                "status": "True",
                "lastTransitionTime": rfc3339(start_time),
            }
        ],
        "containerStatuses": [_container_status(container, waiting, ready=False, started=False)],
    }


def running_status(
    container: ContainerInfo, *, start_time: datetime, started_at: datetime
) -> dict[str, Any]:
    """Running: the process started, ready (no probes), on loopback."""
    running = {"running": {"startedAt": rfc3339(started_at)}}
    return {
        "phase": "Running",
        "startTime": rfc3339(start_time),
        **_ips(),
        "conditions": _conditions(started_at, ready=True),
        "containerStatuses": [_container_status(container, running, ready=True, started=True)],
    }


def terminated_status(
    container: ContainerInfo,
    *,
    exit_code: int,
    message: str,
    start_time: datetime,
    started_at: datetime | None,
    finished_at: datetime,
    pod_reason: str | None = None,
    pod_message: str | None = None,
    container_reason: str | None = None,
) -> dict[str, Any]:
    """Succeeded (exit 0, no pod-level reason) or Failed, with the terminated state."""
    phase = "Succeeded" if exit_code == 0 and pod_reason is None else "Failed"
    terminated: dict[str, Any] = {
        "exitCode": exit_code,
        "reason": container_reason or ("Completed" if exit_code == 0 else "Error"),
        "finishedAt": rfc3339(finished_at),
    }
    if started_at is not None:
        terminated["startedAt"] = rfc3339(started_at)
    if message:
        terminated["message"] = message
    if container.container_id:
        terminated["containerID"] = container.container_id
    status: dict[str, Any] = {
        "phase": phase,
        "startTime": rfc3339(start_time),
        **_ips(),
        "conditions": _conditions(finished_at, ready=False, reason="PodCompleted"),
        "containerStatuses": [
            _container_status(container, {"terminated": terminated}, ready=False, started=False)
        ],
    }
    if pod_reason:
        status["reason"] = pod_reason
        status["message"] = pod_message or pod_reason
    return status

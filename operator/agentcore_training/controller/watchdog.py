"""The stall watchdog (pure): is a running trainer silent for longer than its deadline?

A trainer reports after every iteration; one that sent no accepted report for
`spec.runtime.progressDeadlineSeconds` is treated as hung. Silence is counted from the
latest of: the last accepted report (status.lastReportTime, so it survives an
operator restart), the trainer container's start (a retried pod gets a fresh deadline),
and the moment this operator began watching (it cannot have heard reports sent while it
was down, so a restart never kills a healthy trainer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agentcore_training.api.status import Condition, ConditionStatus
from agentcore_training.api.timestamps import parse_rfc3339
from agentcore_training.controller.jobs import TRAINER_CONTAINER

REASON = "ProgressDeadlineExceeded"


@dataclass(frozen=True)
class Hung:
    """A running trainer pod that has been silent past the deadline: delete it."""

    name: str
    uid: str
    silent_seconds: float

    def message(self, deadline_seconds: int, attempt: int) -> str:
        return (
            f"the trainer sent no progress report for {self.silent_seconds:.0f} s "
            f"(spec.runtime.progressDeadlineSeconds {deadline_seconds}); its pod {self.name} "
            f"(attempt {attempt}) was deleted"
        )


@dataclass(frozen=True)
class Silent:
    """The running trainer is within its deadline; look again after `check_after` s."""

    check_after: float


def _trainer_started(pod: dict[str, Any]) -> datetime | None:
    """When the trainer container of `pod` started (running or since terminated)."""
    for status in pod.get("status", {}).get("containerStatuses", []) or []:
        if status.get("name") != TRAINER_CONTAINER:
            continue
        state = status.get("state", {}) or {}
        for key in ("running", "terminated"):
            started = (state.get(key) or {}).get("startedAt")
            if started:
                return parse_rfc3339(str(started))
    return None


def _running_trainer(pods: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], datetime] | None:
    """The pod whose trainer runs now (not one being deleted), with its start."""
    for pod in pods:
        if pod.get("metadata", {}).get("deletionTimestamp"):
            continue
        if pod.get("status", {}).get("phase") != "Running":
            continue
        for status in pod.get("status", {}).get("containerStatuses", []) or []:
            if status.get("name") == TRAINER_CONTAINER and (status.get("state") or {}).get(
                "running"
            ):
                started = _trainer_started(pod)
                if started is not None:
                    return pod, started
    return None


def check(
    pods: Sequence[dict[str, Any]],
    *,
    last_report: datetime | None,
    deadline_seconds: float,
    now: datetime,
    watching_since: datetime,
    stalled: Condition | None = None,
) -> Hung | Silent | None:
    """Hung (delete the pod), Silent (re-check later), or None when no trainer runs (or
    the running one was ended already: `stalled`, the Hung condition, is True since after
    it started, and the watch has not shown its deletion yet)."""
    running = _running_trainer(pods)
    if running is None:
        return None
    pod, started = running
    ended_at = _stalled_at(stalled)
    if ended_at is not None and ended_at >= started:
        return None
    since = max(t for t in (last_report, started, watching_since) if t is not None)
    silent = (now - since).total_seconds()
    if silent >= deadline_seconds:
        metadata = pod["metadata"]
        return Hung(str(metadata["name"]), str(metadata.get("uid", "")), silent)
    return Silent(deadline_seconds - silent)


def _stalled_at(stalled: Condition | None) -> datetime | None:
    """When the watchdog last ended a pod, if Hung is (still) True."""
    if stalled is None or stalled.status != ConditionStatus.TRUE or stalled.reason != REASON:
        return None
    return stalled.last_transition_time


def ended_last_attempt(stalled: Condition | None, pods: Sequence[dict[str, Any]]) -> bool:
    """Whether the watchdog ended the Job's last attempt: Hung is True and no trainer
    started after it deleted the hung pod (a later attempt that crashed is its own cause)."""
    killed_at = _stalled_at(stalled)
    if killed_at is None:
        return False
    return not any(
        started > killed_at for started in map(_trainer_started, pods) if started is not None
    )


def resumed(stalled: Condition | None, last_report: datetime | None) -> bool:
    """Whether a report was accepted after the watchdog's Hung=True (it may go False)."""
    if stalled is None or stalled.status != ConditionStatus.TRUE or last_report is None:
        return False
    # Whole seconds in status: a report within the same second is not proof of life after.
    return last_report >= stalled.last_transition_time + timedelta(seconds=1)

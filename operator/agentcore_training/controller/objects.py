"""Reading the Jobs and Pods the operator watches (pure): conditions and trainer states."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentcore_training.controller.jobs import TRAINER_CONTAINER


def job_condition(job: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for condition in job.get("status", {}).get("conditions", []) or []:
        if condition.get("type") == type_ and condition.get("status") == "True":
            return dict(condition)
    return None


def trainer_state(pod: dict[str, Any]) -> dict[str, Any]:
    for status in pod.get("status", {}).get("containerStatuses", []) or []:
        if status.get("name") == TRAINER_CONTAINER:
            return dict(status.get("state", {}) or {})
    return {}


def latest_terminated(pods: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The terminated state of the most recently finished trainer container."""
    finished = [trainer_state(p)["terminated"] for p in pods if "terminated" in trainer_state(p)]
    if not finished:
        return None
    latest: dict[str, Any] = max(finished, key=lambda t: str(t.get("finishedAt") or ""))
    return latest


def lacks_summary_pod(job: dict[str, Any] | None, pods: Sequence[dict[str, Any]]) -> bool:
    """Whether `job` has finished but no pod of it shows a terminated trainer: the pod view
    may lag the Job's (after a restart the watches list apart), so the pods must be read
    before the summary may be called lost."""
    finished = job is not None and (
        job_condition(job, "Complete") is not None or job_condition(job, "Failed") is not None
    )
    return finished and latest_terminated(pods) is None


def running_since(pods: Sequence[dict[str, Any]]) -> str | None:
    for pod in pods:
        running = trainer_state(pod).get("running")
        if pod.get("status", {}).get("phase") == "Running" and running is not None:
            return str(running.get("startedAt") or "") or None
    return None

"""Reading the Jobs and Pods the operator watches (pure): conditions and trainer states."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentcore_training.controller.jobs import TRAINER_CONTAINER
from agentcore_training.labels import COMPLETION_INDEX_ANNOTATION


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


def is_reporting_pod(pod: dict[str, Any]) -> bool:
    """Whether `pod` runs rank 0: the only pod of a one-pod Job, or index 0 of an Indexed
    one. Only it reports progress, makes the attempt handshake and writes the summary, so
    the operator's view of attempts, stalls and endings is made of these pods alone."""
    annotations = pod.get("metadata", {}).get("annotations") or {}
    return str(annotations.get(COMPLETION_INDEX_ANNOTATION, "0")) == "0"


def pods_per_attempt(job: dict[str, Any] | None) -> int:
    """The pods an attempt of `job` runs (completions of an Indexed Job, else 1): the
    Job's failed count counts each of them."""
    spec = (job or {}).get("spec") or {}
    if spec.get("completionMode") != "Indexed":
        return 1
    return max(1, int(spec.get("completions") or 1))

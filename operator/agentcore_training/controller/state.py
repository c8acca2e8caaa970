"""What the operator knows from its watches: TrainingJobs, their Jobs and pods, by job id.

Filled by the kopf event handlers, read by the reconciler and the progress endpoint, so
neither needs an API read on its hot path. No state outside the cluster: after a restart
the watches' initial lists rebuild all of it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from agentcore_training import labels
from agentcore_training.controller.objects import is_reporting_pod
from agentcore_training.kube.versions import is_newer


@dataclass
class ClusterState:
    """The latest objects seen, keyed by the TrainingJob's uid (the job id)."""

    trainingjobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    pods: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def put_trainingjob(self, obj: dict[str, Any]) -> str:
        uid = str(obj["metadata"]["uid"])
        if is_newer(obj, self.trainingjobs.get(uid)):
            self.trainingjobs[uid] = obj
        return uid

    def forget_trainingjob(self, uid: str) -> None:
        self.trainingjobs.pop(uid, None)
        self.jobs.pop(uid, None)
        self.pods.pop(uid, None)

    def put_job(self, obj: dict[str, Any], *, deleted: bool = False) -> str | None:
        uid = obj.get("metadata", {}).get("labels", {}).get(labels.JOB_ID)
        if uid is None:
            return None
        if deleted:
            current = self.jobs.get(uid)
            if current is not None and current["metadata"]["uid"] == obj["metadata"]["uid"]:
                del self.jobs[uid]
        elif is_newer(obj, self.jobs.get(uid)):
            self.jobs[uid] = obj
        return str(uid)

    def put_pod(self, obj: dict[str, Any], *, deleted: bool = False) -> str | None:
        uid = obj.get("metadata", {}).get("labels", {}).get(labels.JOB_ID)
        if uid is None:
            return None
        pods = self.pods.setdefault(str(uid), {})
        name = str(obj["metadata"]["name"])
        if deleted:
            pods.pop(name, None)
        elif is_newer(obj, pods.get(name)):
            pods[name] = obj
        return str(uid)

    def pods_of(self, uid: str) -> list[dict[str, Any]]:
        """The job's pods that run rank 0 (all of a one-pod Job's; index 0 of a multi-pod
        one): the others report nothing, so attempts, stalls and endings are theirs."""
        return [pod for pod in self.pods.get(uid, {}).values() if is_reporting_pod(pod)]

    def find_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        for pods in self.pods.values():
            pod = pods.get(name)
            if pod is not None and pod["metadata"].get("namespace") == namespace:
                return pod
        return None

    def phase_counts(self) -> Counter[str]:
        return Counter(
            str((tj.get("status") or {}).get("phase") or "Pending")
            for tj in self.trainingjobs.values()
        )

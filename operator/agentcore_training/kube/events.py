"""Kubernetes Events on TrainingJobs (core/v1, which `kubectl describe` shows)."""

from __future__ import annotations

from typing import Any

from agentcore_training.api.timestamps import rfc3339
from agentcore_training.kube.client import KubeClient, path_for

COMPONENT = "agentcore-training-operator"


async def record_event(
    client: KubeClient, involved: dict[str, Any], type_: str, reason: str, message: str
) -> None:
    """Record one Event about `involved`; failures are the caller's to log, not to raise."""
    meta = involved["metadata"]
    now = rfc3339()
    event = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {
            "apiVersion": involved.get("apiVersion"),
            "kind": involved.get("kind"),
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta["uid"],
            "resourceVersion": meta.get("resourceVersion"),
        },
        "type": type_,
        "reason": reason,
        "message": message[:1024],
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": COMPONENT,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }
    await client.create(path_for("v1", "events", namespace=meta["namespace"]), event)

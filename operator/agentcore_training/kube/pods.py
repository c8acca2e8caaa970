"""Pod requests: a kubelet's (the status subresource, confirm deletion) and a controller's
(delete a pod it gave up on); list and watch: kube/watch.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentcore_training.kube.client import ApiError, KubeClient, path_for


def pods_path(namespace: str | None = None, name: str | None = None) -> str:
    """The Pods collection (all namespaces when `namespace` is None) or one Pod."""
    return path_for("v1", "pods", namespace=namespace, name=name)


async def patch_pod_status(
    client: KubeClient, namespace: str, name: str, status: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge-patch the Pod's status subresource (lists in `status` replace the old ones)."""
    path = path_for("v1", "pods", namespace=namespace, name=name, subresource="status")
    return await client.patch(path, {"status": dict(status)})


async def delete_pod(client: KubeClient, namespace: str, name: str, uid: str) -> bool:
    """Delete gracefully (the pod's own grace period), only this uid, as a controller
    deletes a pod it gave up on. False when it was already gone (or replaced)."""
    return await _delete(client, namespace, name, {"preconditions": {"uid": uid}})


async def delete_pod_now(client: KubeClient, namespace: str, name: str, uid: str) -> bool:
    """Delete with gracePeriodSeconds=0, as a kubelet confirms a graceful deletion once the
    containers are gone; only this uid. False when it was already gone (or replaced)."""
    options = {"gracePeriodSeconds": 0, "preconditions": {"uid": uid}}
    return await _delete(client, namespace, name, options)


async def _delete(client: KubeClient, namespace: str, name: str, options: dict[str, Any]) -> bool:
    body = {"kind": "DeleteOptions", "apiVersion": "v1", **options}
    try:
        await client.request("DELETE", pods_path(namespace, name), body=body)
    except ApiError as error:
        if error.not_found or error.conflict:
            return False
        raise
    return True

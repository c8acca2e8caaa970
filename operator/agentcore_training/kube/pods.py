"""Pod requests a kubelet makes: list/watch, the status subresource, confirm deletion."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from agentcore_training.kube.client import ApiError, KubeClient, path_for


def pods_path(namespace: str | None = None, name: str | None = None) -> str:
    """The Pods collection (all namespaces when `namespace` is None) or one Pod."""
    return path_for("v1", "pods", namespace=namespace, name=name)


async def list_pods(
    client: KubeClient, *, namespace: str | None, selector: str
) -> tuple[list[dict[str, Any]], str]:
    """The Pods matching `selector`, and the list's resourceVersion to watch from."""
    answer = await client.get(pods_path(namespace), labelSelector=selector)
    items: list[dict[str, Any]] = answer.get("items") or []
    return items, str(answer.get("metadata", {}).get("resourceVersion", ""))


def watch_pods(
    client: KubeClient,
    *,
    namespace: str | None,
    selector: str,
    resource_version: str,
    timeout_seconds: int = 300,
) -> AsyncIterator[dict[str, Any]]:
    """Watch events of the matching Pods from `resource_version` (ERROR 410: list again)."""
    return client.watch(
        pods_path(namespace),
        resource_version=resource_version,
        label_selector=selector,
        timeout_seconds=timeout_seconds,
    )


async def get_pod(client: KubeClient, namespace: str, name: str) -> dict[str, Any] | None:
    """The Pod, or None when it is gone."""
    try:
        return await client.get(pods_path(namespace, name))
    except ApiError as error:
        if error.not_found:
            return None
        raise


async def patch_pod_status(
    client: KubeClient, namespace: str, name: str, status: Mapping[str, Any]
) -> dict[str, Any]:
    """Merge-patch the Pod's status subresource (lists in `status` replace the old ones)."""
    path = path_for("v1", "pods", namespace=namespace, name=name, subresource="status")
    return await client.patch(path, {"status": dict(status)})


async def delete_pod_now(client: KubeClient, namespace: str, name: str, uid: str) -> bool:
    """Delete with gracePeriodSeconds=0, as a kubelet confirms a graceful deletion once the
    containers are gone; only this uid. False when it was already gone (or replaced)."""
    body = {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "gracePeriodSeconds": 0,
        "preconditions": {"uid": uid},
    }
    try:
        await client.request("DELETE", pods_path(namespace, name), body=body)
    except ApiError as error:
        if error.not_found or error.conflict:
            return False
        raise
    return True

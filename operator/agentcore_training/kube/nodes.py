"""Nodes: whether a real kubelet serves this cluster."""

from __future__ import annotations

from agentcore_training.kube.client import KubeClient, path_for


async def ready_node_names(client: KubeClient) -> list[str]:
    """The names of the Nodes whose Ready condition is True."""
    answer = await client.get(path_for("v1", "nodes"))
    ready = []
    for node in answer.get("items") or []:
        conditions = node.get("status", {}).get("conditions") or []
        if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
            ready.append(str(node["metadata"]["name"]))
    return ready

"""ServiceAccount tokens: TokenRequest bound to a Pod, as a kubelet asks (reviews: reviews.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from agentcore_training.api.timestamps import parse_rfc3339
from agentcore_training.kube.client import KubeClient, path_for


@dataclass(frozen=True)
class BoundToken:
    token: str
    expires_at: datetime


async def request_pod_token(
    client: KubeClient,
    *,
    namespace: str,
    service_account: str,
    audiences: Sequence[str],
    expiration_seconds: int,
    pod_name: str,
    pod_uid: str,
) -> BoundToken:
    """A token of the ServiceAccount bound to the Pod (invalid once the Pod is gone).

    An empty `audiences` means the apiserver's own audiences, as for a kubelet.
    """
    path = path_for(
        "v1", "serviceaccounts", namespace=namespace, name=service_account, subresource="token"
    )
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {
            "audiences": list(audiences),
            "expirationSeconds": expiration_seconds,
            "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": pod_name, "uid": pod_uid},
        },
    }
    answer = await client.create(path, body)
    status = answer["status"]
    expires = parse_rfc3339(str(status["expirationTimestamp"]))
    return BoundToken(str(status["token"]), expires)

"""TokenReview and SubjectAccessReview: ask the apiserver who a token is, and what they may do."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentcore_training.kube.client import KubeClient

TOKENREVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
SUBJECTACCESSREVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"


@dataclass(frozen=True)
class TokenReviewResult:
    authenticated: bool
    user: Mapping[str, Any]
    audiences: Sequence[str]
    error: str


async def review_token(
    client: KubeClient, token: str, audiences: Sequence[str] = ()
) -> TokenReviewResult:
    """Who `token` belongs to, as the apiserver's authenticators say (TokenReview)."""
    spec: dict[str, Any] = {"token": token}
    if audiences:
        spec["audiences"] = list(audiences)
    answer = await client.create(
        TOKENREVIEWS,
        {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec},
    )
    status = answer.get("status") or {}
    return TokenReviewResult(
        authenticated=bool(status.get("authenticated")),
        user=status.get("user") or {},
        audiences=list(status.get("audiences") or ()),
        error=str(status.get("error", "")),
    )


async def review_access(
    client: KubeClient,
    *,
    user: str,
    uid: str = "",
    groups: Sequence[str] = (),
    extra: Mapping[str, Sequence[str]] | None = None,
    verb: str,
    group: str,
    resource: str,
    namespace: str = "",
    name: str = "",
    subresource: str = "",
) -> bool:
    """Whether the user may do `verb` on the resource (SubjectAccessReview)."""
    attributes: dict[str, str] = {"verb": verb, "group": group, "resource": resource}
    if namespace:
        attributes["namespace"] = namespace
    if name:
        attributes["name"] = name
    if subresource:
        attributes["subresource"] = subresource
    spec: dict[str, Any] = {"user": user, "groups": list(groups), "resourceAttributes": attributes}
    if uid:
        spec["uid"] = uid
    if extra:
        spec["extra"] = {key: list(values) for key, values in extra.items()}
    answer = await client.create(
        SUBJECTACCESSREVIEWS,
        {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec},
    )
    status = answer.get("status") or {}
    return bool(status.get("allowed")) and not bool(status.get("denied"))

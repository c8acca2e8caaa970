"""Who is calling (pure): the user info that authentication finds and authorization checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Principal:
    """A Kubernetes user: what TokenReview answers, and what a SubjectAccessReview asks about."""

    username: str
    uid: str = ""
    groups: tuple[str, ...] = ()
    extra: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())

    @classmethod
    def from_user_info(cls, user: Mapping[str, Any]) -> Principal:
        """From a TokenReview's status.user."""
        extra = user.get("extra") or {}
        return cls(
            username=str(user.get("username", "")),
            uid=str(user.get("uid", "") or ""),
            groups=tuple(str(g) for g in user.get("groups") or ()),
            extra=tuple(sorted((str(k), tuple(str(x) for x in v)) for k, v in extra.items())),
        )

    def extra_dict(self) -> dict[str, list[str]]:
        return {key: list(values) for key, values in self.extra}

    @property
    def service_account_namespace(self) -> str | None:
        """The namespace of a ServiceAccount user (system:serviceaccount:NS:NAME), else None."""
        parts = self.username.split(":")
        if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"]:
            return parts[2]
        return None


def map_claims(
    claims: Mapping[str, Any],
    *,
    username_claim: str,
    groups_claim: str,
    username_prefix: str,
    groups_prefix: str,
) -> Principal | None:
    """A Principal from verified JWT claims, prefixed like the apiserver's OIDC options.

    None when the username claim is missing or empty. A string groups claim is one group.
    """
    username = claims.get(username_claim)
    if not isinstance(username, str) or not username:
        return None
    raw_groups = claims.get(groups_claim)
    groups: Sequence[Any]
    if isinstance(raw_groups, str):
        groups = [raw_groups]
    elif isinstance(raw_groups, list):
        groups = raw_groups
    else:
        groups = []
    return Principal(
        username=f"{username_prefix}{username}",
        groups=(
            *(f"{groups_prefix}{g}" for g in groups if isinstance(g, str) and g),
            "system:authenticated",
        ),
    )

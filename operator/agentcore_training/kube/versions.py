"""Ordering of resourceVersions (pure: imports nothing of Kubernetes' clients).

The API conventions say resourceVersions are opaque: a client may compare them for
equality and pass them back, and must not assume they are numbers. In practice an
apiserver backed by etcd writes etcd's modification revision, a decimal integer without
leading zeros that grows with every write. So this module orders only what it can:

- two decimal versions compare as integers ("10" is newer than "9"; never as strings);
- when either is not a decimal integer (empty, or an opaque value from another storage),
  the order is unknown, and `is_newer` says the candidate wins. Objects arrive from one
  watch in the apiserver's order, so the latest delivery is the best guess there is; the
  alternative (keep what is held) would freeze an object for ever on such a server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def version_of(obj: Mapping[str, Any]) -> str:
    """`metadata.resourceVersion`, or "" when there is none."""
    metadata = obj.get("metadata") or {}
    return str(metadata.get("resourceVersion") or "")


def _decimal(version: str) -> int | None:
    return int(version) if version.isdecimal() and version.isascii() else None


def compare_versions(a: str, b: str) -> int | None:
    """-1, 0 or 1 as `a` is older than, the same as, or newer than `b`; None when unknown."""
    if a == b:
        return 0
    left, right = _decimal(a), _decimal(b)
    if left is None or right is None:
        return None
    return (left > right) - (left < right)


def is_newer(candidate: Mapping[str, Any], held: Mapping[str, Any] | None) -> bool:
    """Whether `candidate` should replace `held`: not older by resourceVersion (the same
    version counts as newer: it is the same object); an unknown order counts as newer."""
    if held is None:
        return True
    order = compare_versions(version_of(candidate), version_of(held))
    return order is None or order >= 0


def newer_than_list(obj: Mapping[str, Any], list_version: str) -> bool:
    """Whether `obj` is known to be newer than a list taken at `list_version` (a write seen
    before the list's answer came back); False when the order is unknown."""
    return compare_versions(version_of(obj), list_version) == 1

"""Timestamps as the Kubernetes API writes them (pure): RFC 3339, UTC, second precision.

The one formatter of the package: conditions, events, pod status and JSON-RPC results all
carry `2026-01-02T03:04:05Z`, which is what the apiserver itself writes into
`metav1.Time` fields (it drops sub-second digits).
"""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(moment: datetime | None = None) -> str:
    """`moment` (now when None; a naive one counts as UTC) as `YYYY-MM-DDTHH:MM:SSZ`."""
    if moment is None:
        moment = datetime.now(UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 time (`Z` or an offset, any precision) as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))

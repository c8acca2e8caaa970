"""Rate limits per caller and method (pure; the clock is injectable for tests).

A token bucket per (user, method): `per_minute` calls a minute on average, in bursts of up to
that many. A bucket left alone for a minute is full again, so it is forgotten after one
(a bounded TTLCache keeps the rest).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from agentcore_training.ttlcache import TTLCache

REFILL_SECONDS = 60.0
MAX_BUCKETS = 65536


@dataclass(frozen=True)
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    """Whether a user may call a method now; a method without a limit (or 0) is never limited."""

    def __init__(
        self,
        per_minute: Mapping[str, int],
        clock: Callable[[], float] = time.monotonic,
        max_buckets: int = MAX_BUCKETS,
    ) -> None:
        self.per_minute = {method: n for method, n in per_minute.items() if n > 0}
        self._clock = clock
        self._buckets: TTLCache[tuple[str, str], _Bucket] = TTLCache(
            max_buckets, REFILL_SECONDS, clock
        )

    def retry_after(self, user: str, method: str) -> float | None:
        """None when the call may run (it is counted); else the seconds until one may."""
        rate = self.per_minute.get(method)
        if rate is None:
            return None
        now = self._clock()
        key = (user, method)
        held = self._buckets.get(key)
        tokens = float(rate)
        if held is not None:
            tokens = min(tokens, held.tokens + (now - held.stamp) * rate / REFILL_SECONDS)
        if tokens >= 1:
            self._buckets.put(key, _Bucket(tokens - 1, now))
            return None
        wait = (1 - tokens) * REFILL_SECONDS / rate
        return math.ceil(wait * 1000) / 1000

"""Paired significance tests of a held-out evaluation against the baseline (pure Python).

Both evaluations score the same held-out queries, so the tests are paired:

- `mcnemar_exact(b, c)`: success is 0/1 per query. `b` queries failed at the baseline and
  succeed now, `c` succeeded and fail now; under "no change" each discordant query is a fair
  coin, so the two-sided p-value is the exact binomial tail, doubled:
  `min(1, 2 * sum_{i <= min(b, c)} C(b + c, i) / 2^(b + c))`.
- `paired_permutation_p(differences)`: a sign-flip permutation test of the mean of per-query
  differences (rewards, or success fractions with several samples per query): under "no
  change" each difference is as likely negative as positive. Exact enumeration up to
  `EXACT_MAX` non-zero differences, else `resamples` seeded random sign flips with the
  (count + 1) / (resamples + 1) estimate, which never reports 0.

No scipy: neither the trainer image nor the operator carries it, and these need none.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from math import comb

EXACT_MAX = 12
"""Up to this many non-zero differences the permutation test enumerates all 2^n signs."""

DEFAULT_RESAMPLES = 10_000
SIGNIFICANCE_LEVEL = 0.05
_TOLERANCE = 1e-12  # sums of floats that tie the observed statistic count as ties


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the two discordant counts."""
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got {b} and {c}")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(min(b, c) + 1))
    return min(1.0, 2 * tail / float(1 << n))


def discordant(before: Sequence[bool], after: Sequence[bool]) -> tuple[int, int]:
    """(b, c): queries that went from fail to success, and from success to fail."""
    if len(before) != len(after):
        raise ValueError(f"paired samples differ in length: {len(before)} and {len(after)}")
    gained = sum(1 for x, y in zip(before, after, strict=True) if not x and y)
    lost = sum(1 for x, y in zip(before, after, strict=True) if x and not y)
    return gained, lost


def paired_permutation_p(
    differences: Sequence[float], *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> float:
    """Two-sided sign-flip permutation p-value of mean(differences) == 0."""
    values = [float(d) for d in differences if d != 0]
    n = len(values)
    if n == 0:
        return 1.0
    observed = abs(sum(values)) - _TOLERANCE
    if n <= EXACT_MAX:
        hits = sum(
            1
            for signs in itertools.product((1.0, -1.0), repeat=n)
            if abs(sum(s * v for s, v in zip(signs, values, strict=True))) >= observed
        )
        return hits / float(1 << n)
    rng = random.Random(seed)  # noqa: S311 - a statistical resampling, not a secret
    hits = 0
    for _ in range(resamples):
        bits = rng.getrandbits(n)
        total = 0.0
        for index, value in enumerate(values):
            total += value if bits >> index & 1 else -value
        if abs(total) >= observed:
            hits += 1
    return (hits + 1) / (resamples + 1)


def paired_p_value(before: Sequence[float], after: Sequence[float], *, binary: bool) -> float:
    """McNemar for 0/1 outcomes, else the permutation test of the differences."""
    if len(before) != len(after):
        raise ValueError(f"paired samples differ in length: {len(before)} and {len(after)}")
    if binary:
        b, c = discordant([x >= 1.0 for x in before], [y >= 1.0 for y in after])
        return mcnemar_exact(b, c)
    return paired_permutation_p([y - x for x, y in zip(before, after, strict=True)])

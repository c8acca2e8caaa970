"""The paired tests of the held-out evaluation, against values worked by hand (and scipy's
`binomtest(k, n, 0.5).pvalue` / statsmodels' exact McNemar, which agree on these)."""

from __future__ import annotations

import pytest

from agentcore_training.api.evaluation_spec import EvaluationSpec
from agentcore_training.trainer.evaluation_split import split_queries
from agentcore_training.trainer.evaluation_stats import (
    discordant,
    mcnemar_exact,
    paired_p_value,
    paired_permutation_p,
)


@pytest.mark.parametrize(
    ("b", "c", "expected"),
    [
        (0, 0, 1.0),  # no discordant pair: no evidence at all
        (6, 0, 2 / 64),  # 0.03125
        (5, 0, 2 / 32),  # 0.0625: five wins alone are not significant at 0.05
        (10, 2, 2 * (1 + 12 + 66) / 4096),  # 0.0385742...
        (2, 10, 2 * (1 + 12 + 66) / 4096),  # symmetric
        (3, 3, 1.0),  # the doubled tail is capped at 1
        (20, 5, 2 * sum(__import__("math").comb(25, i) for i in range(6)) / 2**25),
    ],
)
def test_mcnemar_exact_known_values(b: int, c: int, expected: float) -> None:
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12)


def test_mcnemar_20_5_is_about_0_0041() -> None:
    assert mcnemar_exact(20, 5) == pytest.approx(0.004077, abs=1e-6)


def test_mcnemar_refuses_negative_counts() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        mcnemar_exact(-1, 2)


def test_discordant_counts_both_directions() -> None:
    before = [False, False, True, True, False]
    after = [True, False, False, True, True]
    assert discordant(before, after) == (2, 1)
    with pytest.raises(ValueError, match="length"):
        discordant([True], [])


def test_exact_permutation_known_values() -> None:
    # Five equal positive differences: only all-plus and all-minus reach |sum| 5: 2/32.
    assert paired_permutation_p([1, 1, 1, 1, 1]) == pytest.approx(2 / 32)
    # [1, 2, 3]: sums of sign flips are +-6, +-4, +-2, +-0: |sum| >= 6 twice of 8.
    assert paired_permutation_p([1.0, 2.0, 3.0]) == pytest.approx(2 / 8)
    # Zeros carry no sign information and are dropped; none left: p = 1.
    assert paired_permutation_p([0, 0, 0]) == 1.0
    assert paired_permutation_p([0, 1, 1, 1, 1, 1, 0]) == pytest.approx(2 / 32)
    # A balanced sample is as far from significance as it gets.
    assert paired_permutation_p([1, -1, 1, -1]) == 1.0


def test_sampled_permutation_is_seeded_and_close_to_the_exact_value() -> None:
    # 20 differences of +1: exact p = 2 / 2^20, the estimate is bounded below by
    # 1 / (resamples + 1) and seeded (the same call gives the same p).
    values = [1.0] * 20
    assert paired_permutation_p(values) == pytest.approx(1 / 10_001)
    # 12 of +1 and 8 of -1: exact two-sided p = P(|2k - 20| >= 4) with k ~ Bin(20, 1/2).
    mixed = [1.0] * 12 + [-1.0] * 8
    exact = sum(__import__("math").comb(20, k) for k in range(21) if abs(2 * k - 20) >= 4) / 2**20
    estimate = paired_permutation_p(mixed, seed=3)
    assert estimate == paired_permutation_p(mixed, seed=3)
    assert estimate == pytest.approx(exact, abs=0.015)  # exact = 0.5034...


def test_paired_p_value_picks_the_test() -> None:
    before = [0.0] * 10 + [1.0] * 2
    after = [1.0] * 6 + [0.0] * 4 + [1.0] * 2
    assert paired_p_value(before, after, binary=True) == pytest.approx(2 / 64)
    assert paired_p_value(before, after, binary=False) == pytest.approx(2 / 64)
    with pytest.raises(ValueError, match="length"):
        paired_p_value([1.0], [1.0, 0.0], binary=True)


def test_held_out_count_floors_after_rounding() -> None:
    default = EvaluationSpec()
    assert default.held_out_count(100) == 20
    assert default.held_out_count(124) == 24
    assert default.held_out_count(125) == 25
    # 0.29 * 100
    # is 28.999999999999996, which a bare floor would make 28.
    assert EvaluationSpec(held_out_fraction=0.29).held_out_count(100) == 29
    assert EvaluationSpec(held_out_fraction=0.7).held_out_count(10) == 7
    assert EvaluationSpec(held_out_fraction=0).held_out_count(100) == 0
    own = EvaluationSpec.model_validate({"queries": {"configMapRef": {"name": "held-out"}}})
    assert own.held_out_count(500) == 0


def test_split_is_seeded_disjoint_and_complete() -> None:
    split = split_queries(125, 25, seed=7)
    assert len(split.held_out) == 25
    assert len(split.train) == 100
    assert set(split.train).isdisjoint(split.held_out)
    assert sorted(split.train + split.held_out) == list(range(125))
    assert split == split_queries(125, 25, seed=7)
    assert split.held_out != split_queries(125, 25, seed=8).held_out
    # Not simply the file's last 20 %: the order is shuffled first.
    assert split.held_out != tuple(range(100, 125))
    assert split_queries(10, 0, seed=1).held_out == ()
    with pytest.raises(ValueError, match="cannot hold out"):
        split_queries(10, 11, seed=1)

"""Credit assignment of multi-step trajectories: the documented formula, by hand."""

from __future__ import annotations

import math

import pytest

from agentcore_training.trainer.credit import ADVANTAGE_EPS, step_advantages, step_returns


def test_step_returns_discount_per_remaining_step() -> None:
    assert step_returns(1.0, 3, 0.9) == pytest.approx([0.81, 0.9, 1.0])
    assert step_returns(-1.0, 2, 0.5) == pytest.approx([-0.5, -1.0])
    assert step_returns(1.0, 3, 0.0) == [0.0, 0.0, 1.0]  # gamma 0: only the last step


# The example of docs/trainer.md: a group of two. Trajectory A calls the tool, then answers
# right (T = 2, R = 1); trajectory B answers wrong at once (T = 1, R = 0).


def test_hand_worked_example_gamma_1() -> None:
    # Returns: A = [1, 1], B = [0]; mean 2/3, sample std sqrt(((1/3)^2 * 2 + (2/3)^2) / 2)
    # = sqrt(1/3) = 0.57735.
    std = math.sqrt(1 / 3)
    a = (1 - 2 / 3) / (std + ADVANTAGE_EPS)
    b = (0 - 2 / 3) / (std + ADVANTAGE_EPS)
    advantages = step_advantages([1.0, 0.0], [2, 1], group_size=2, gamma=1.0)
    assert advantages[0] == pytest.approx([a, a])
    assert advantages[1] == pytest.approx([b])
    assert advantages == [
        pytest.approx([0.57725, 0.57725], abs=1e-5),
        [pytest.approx(-1.1545, abs=1e-4)],
    ]


def test_hand_worked_example_gamma_09() -> None:
    # Returns: A = [0.9, 1.0], B = [0]; mean 1.9/3 = 0.63333, sample std
    # sqrt((0.26667^2 + 0.36667^2 + 0.63333^2) / 2) = 0.55076.
    mean = 1.9 / 3
    std = math.sqrt(((0.9 - mean) ** 2 + (1.0 - mean) ** 2 + mean**2) / 2)
    assert std == pytest.approx(0.55076, abs=1e-5)
    advantages = step_advantages([1.0, 0.0], [2, 1], group_size=2, gamma=0.9)
    assert advantages[0] == pytest.approx(
        [(0.9 - mean) / (std + ADVANTAGE_EPS), (1.0 - mean) / (std + ADVANTAGE_EPS)]
    )
    assert advantages[0] == pytest.approx([0.48409, 0.66563], abs=1e-5)
    assert advantages[1] == pytest.approx([-1.14972], abs=1e-5)


def test_one_step_trajectories_give_the_outcome_grpo_advantage() -> None:
    import torch

    from agentcore_training.trainer.grpo import group_advantages

    rewards = [1.0, 0.0, 0.0, 0.0, 5.0, 7.0, 9.0, 11.0]
    per_step = step_advantages(rewards, [1] * 8, group_size=4, gamma=0.9)
    expected = group_advantages(torch.tensor(rewards), 4).tolist()
    assert [s[0] for s in per_step] == pytest.approx(expected, rel=1e-5)


def test_equal_returns_give_zero_and_groups_are_separate() -> None:
    advantages = step_advantages([1.0, 1.0, 0.0, 1.0], [2, 2, 1, 1], group_size=2, gamma=1.0)
    assert advantages[:2] == [[0.0, 0.0], [0.0, 0.0]]
    assert advantages[2][0] < 0 < advantages[3][0]
    # With gamma < 1 equal outcomes of different lengths differ: the shorter is preferred.
    short_first = step_advantages([1.0, 1.0], [1, 3], group_size=2, gamma=0.5)
    assert short_first[0][0] > 0 > short_first[1][0]


def test_groups_must_be_whole() -> None:
    with pytest.raises(ValueError, match="whole groups"):
        step_advantages([1.0, 0.0, 1.0], [1, 1, 1], group_size=2, gamma=1.0)

"""Unit tests of the GRPO math: advantages, the clipped objective, the k3 KL."""

from __future__ import annotations

import math

import pytest
import torch

from agentcore_training.trainer.grpo import (
    ADVANTAGE_EPS,
    clipped_surrogate_loss,
    group_advantages,
    k3_kl,
    token_entropy,
    token_logprobs,
    zero_std_fraction,
)
from agentcore_training.trainer.rollout import completion_mask, left_pad


def test_advantages_are_normalised_within_each_group() -> None:
    rewards = torch.tensor([1.0, 0.0, 0.0, 0.0, 5.0, 7.0, 9.0, 11.0])
    advantages = group_advantages(rewards, group_size=4)
    for group in advantages.view(2, 4):
        assert float(group.mean()) == pytest.approx(0.0, abs=1e-6)
        assert float(group.std()) == pytest.approx(1.0, abs=1e-3)
    # By hand: group 1 has mean 0.25 and sample std 0.5.
    assert float(advantages[0]) == pytest.approx(0.75 / (0.5 + ADVANTAGE_EPS))


def test_a_group_without_variance_has_zero_advantage() -> None:
    rewards = torch.tensor([1.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    advantages = group_advantages(rewards, group_size=3)
    assert torch.equal(advantages[:3], torch.zeros(3))
    assert zero_std_fraction(rewards, group_size=3) == pytest.approx(0.5)


def test_a_group_of_one_has_zero_advantage() -> None:
    assert torch.equal(group_advantages(torch.tensor([3.0, 1.0]), 1), torch.zeros(2))


def test_k3_kl_is_zero_at_equality_nonnegative_and_unbiased() -> None:
    logp = torch.log(torch.tensor([0.2, 0.5, 0.3]))
    assert torch.allclose(k3_kl(logp, logp), torch.zeros(3))
    ref = torch.log(torch.tensor([0.4, 0.4, 0.2]))
    assert bool((k3_kl(logp, ref) >= 0).all())
    # E_{x~p}[k3] = KL(p || ref) exactly, for a categorical distribution.
    p = logp.exp()
    expected = float((p * (logp - ref)).sum())
    assert float((p * k3_kl(logp, ref)).sum()) == pytest.approx(expected, rel=1e-5)


def test_clipped_objective_matches_a_hand_computation() -> None:
    old = torch.zeros(1, 4)
    # Ratios 1.5, 0.5, 1.1, 0.7 with advantages +1, -1, -1, +1.
    logp = torch.log(torch.tensor([[1.5, 0.5, 1.1, 0.7]]))
    advantages = torch.tensor([[1.0, -1.0, -1.0, 1.0]])
    mask = torch.ones(1, 4)
    terms = clipped_surrogate_loss(
        logp, old, advantages, mask, clip_epsilon=0.2, kl_coef=0.0, ref_logp=None
    )
    # min(rA, clip(r)A): 1.2, -0.8, -1.1, 0.7 -> loss = -mean.
    assert float(terms.loss) == pytest.approx(-(1.2 - 0.8 - 1.1 + 0.7) / 4, rel=1e-5)
    # The clip binds on tokens 0 (r>1+eps, A>0) and 1 (r<1-eps, A<0).
    assert terms.clip_ratio == pytest.approx(0.5)


def test_clipped_tokens_get_no_gradient_and_the_mask_is_honoured() -> None:
    logp = torch.log(torch.tensor([[1.5, 1.0, 1.0]])).requires_grad_(True)
    old = torch.zeros(1, 3)
    advantages = torch.tensor([[1.0, 1.0, 5.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    terms = clipped_surrogate_loss(
        logp, old, advantages, mask, clip_epsilon=0.2, kl_coef=0.0, ref_logp=None
    )
    terms.loss.backward()
    assert logp.grad is not None
    assert float(logp.grad[0, 0]) == 0.0  # clipped
    assert float(logp.grad[0, 1]) == pytest.approx(-0.5)  # -A * r / 2 tokens
    assert float(logp.grad[0, 2]) == 0.0  # masked out


def test_kl_penalty_adds_beta_times_k3() -> None:
    logp = torch.log(torch.tensor([[0.5, 0.25]]))
    ref = torch.log(torch.tensor([[0.25, 0.5]]))
    mask = torch.ones(1, 2)
    zero = torch.zeros(1, 2)
    terms = clipped_surrogate_loss(
        logp, logp.clone(), zero, mask, clip_epsilon=0.2, kl_coef=0.1, ref_logp=ref
    )
    kl = k3_kl(logp, ref).mean()
    assert float(terms.loss) == pytest.approx(0.1 * float(kl), rel=1e-5)
    assert terms.kl == pytest.approx(float(kl), rel=1e-5)


def test_micro_batches_add_up_to_the_full_batch() -> None:
    torch.manual_seed(0)
    logp = torch.randn(4, 3)
    old = logp + 0.1 * torch.randn(4, 3)
    advantages = torch.randn(4, 3)
    mask = torch.tensor([[1.0, 1, 0], [1, 0, 0], [1, 1, 1], [0, 1, 1]])
    kwargs = {"clip_epsilon": 0.2, "kl_coef": 0.0, "ref_logp": None}
    full = clipped_surrogate_loss(logp, old, advantages, mask, **kwargs).loss
    count = float(mask.sum())
    parts = sum(
        float(
            clipped_surrogate_loss(
                logp[s], old[s], advantages[s], mask[s], token_count=count, **kwargs
            ).loss
        )
        for s in (slice(0, 2), slice(2, 4))
    )
    assert parts == pytest.approx(float(full), rel=1e-5)


def test_logprobs_and_entropy() -> None:
    logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25]]]))
    assert float(token_logprobs(logits, torch.tensor([[1]]))) == pytest.approx(math.log(0.25))
    expected = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    assert float(token_entropy(logits)) == pytest.approx(expected)


def test_completion_mask_keeps_tokens_up_to_the_first_eos() -> None:
    eos = 1
    completions = torch.tensor([[5, 1, 0, 0], [5, 6, 7, 8], [1, 0, 0, 0]])
    expected = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]])
    assert torch.equal(completion_mask(completions, eos), expected)


def test_left_pad() -> None:
    ids, mask = left_pad([[3, 4], [5]], pad_id=0)
    assert ids.tolist() == [[3, 4], [0, 5]]
    assert mask.tolist() == [[1, 1], [0, 1]]

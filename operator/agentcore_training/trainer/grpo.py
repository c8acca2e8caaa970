"""The GRPO math, as pure torch functions on tensors: advantages, k3 KL, clipped loss.

Everything is per token with a loss mask, so multi-step trajectories (whose environment
tokens are masked out) reuse it unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

ADVANTAGE_EPS = 1e-4


def group_advantages(rewards: torch.Tensor, group_size: int) -> torch.Tensor:
    """(r - group mean) / (group std + 1e-4), for rewards laid out group after group.

    The std is the sample std (as TRL computes it); a group of one has advantage 0.
    """
    groups = rewards.view(-1, group_size)
    mean = groups.mean(dim=1, keepdim=True)
    if group_size == 1:
        return torch.zeros_like(rewards)
    std = groups.std(dim=1, keepdim=True)
    return ((groups - mean) / (std + ADVANTAGE_EPS)).reshape(-1)


def zero_std_fraction(rewards: torch.Tensor, group_size: int) -> float:
    """Fraction of groups whose rewards are all equal: they carry no learning signal."""
    groups = rewards.view(-1, group_size)
    flat = (groups.max(dim=1).values - groups.min(dim=1).values) == 0
    return float(flat.float().mean())


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log p(target) for each position: logits [B, T, V], targets [B, T] -> [B, T]."""
    logp = torch.log_softmax(logits, dim=-1)
    return logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)


def token_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Entropy of the next-token distribution at each position: [B, T, V] -> [B, T]."""
    logp = torch.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum(dim=-1)


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Schulman's k3 estimator of KL(policy || reference), per token, always >= 0."""
    delta = ref_logp - logp
    return torch.exp(delta) - delta - 1


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values * mask).sum() / mask.sum().clamp(min=1)


@dataclass(frozen=True)
class LossTerms:
    """The loss to minimise and the statistics of the step (detached floats)."""

    loss: torch.Tensor
    kl: float
    clip_ratio: float


def clipped_surrogate_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    clip_epsilon: float,
    kl_coef: float,
    ref_logp: torch.Tensor | None,
    token_count: float | None = None,
) -> LossTerms:
    """The GRPO objective, per token, averaged over the masked tokens.

    loss = -[min(r A, clip(r, 1-eps, 1+eps) A) - beta * k3(pi, ref)], r = exp(logp - old).
    `token_count` is the number of loss tokens in the whole batch when this call sees only
    a micro-batch of it, so that summed micro-batch gradients equal the full batch's.
    """
    mask = mask.to(logp.dtype)
    ratio = torch.exp(logp - old_logp)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1 - clip_epsilon, 1 + clip_epsilon) * advantages
    per_token = -torch.min(unclipped, clipped)
    kl_value = 0.0
    if ref_logp is not None and kl_coef > 0:
        kl = k3_kl(logp, ref_logp)
        per_token = per_token + kl_coef * kl
        kl_value = float(masked_mean(kl.detach(), mask))
    denominator = mask.sum().clamp(min=1) if token_count is None else max(token_count, 1.0)
    loss = (per_token * mask).sum() / denominator
    # The clip binds where it removes the gradient: below 1-eps with A<0, above 1+eps with A>0.
    bound = ((ratio < 1 - clip_epsilon) & (advantages < 0)) | (
        (ratio > 1 + clip_epsilon) & (advantages > 0)
    )
    clip_ratio = float(masked_mean(bound.to(mask.dtype).detach(), mask))
    return LossTerms(loss=loss, kl=kl_value, clip_ratio=clip_ratio)

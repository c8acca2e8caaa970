"""One GRPO policy update over a sampled batch: inner epochs, micro-batches, AdamW step."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from agentcore_training.trainer import distributed
from agentcore_training.trainer.grpo import (
    clipped_surrogate_loss,
    token_entropy,
    token_logprobs,
)
from agentcore_training.trainer.optim import AdamW
from agentcore_training.trainer.policy.protocol import Policy
from agentcore_training.trainer.rollout import RolloutBatch

GRAD_CLIP_NORM = 1.0


@dataclass(frozen=True)
class EpochStats:
    """One inner epoch: its loss and KL before its optimiser step, its gradient's norm."""

    loss: float
    kl: float
    clip_ratio: float
    grad_norm: float


@dataclass(frozen=True)
class UpdateStats:
    """Means over the inner epochs (entropy: of the first), and each epoch's figures."""

    loss: float
    kl: float
    clip_ratio: float
    entropy: float
    grad_norm: float
    epochs: tuple[EpochStats, ...] = ()


def _slices(total: int, size: int | None) -> list[slice]:
    step = total if not size or size >= total else size
    return [slice(start, start + step) for start in range(0, total, step)]


def _loss_start(mask: torch.Tensor) -> int:
    """The first position (of the shifted targets) where any row has a loss token."""
    columns = mask.any(dim=0).nonzero()
    return int(columns[0]) if columns.numel() else 0


def _scaled_logits(
    policy: Policy, ids: torch.Tensor, mask: torch.Tensor, temperature: float, start: int
) -> torch.Tensor:
    """Logits of the positions from `start` on: the prompt's positions carry no loss, so
    their vocabulary-wide logits are never computed, and a group's prompt (the columns up
    to `start`, the same in each row of a group) may run once for the group."""
    width = ids.shape[1] - 1
    logits = policy.logits(
        ids[:, :-1], mask[:, :-1], keep=width - start, shared_prefix=start + 1 if start else 0
    )
    # The ratio and the KL are taken under the distribution that was sampled from.
    return logits / temperature if temperature != 1.0 else logits


def policy_update(
    policy: Policy,
    reference: Policy | None,
    optimizer: AdamW,
    batch: RolloutBatch,
    *,
    inner_epochs: int,
    clip_epsilon: float,
    kl_coef: float,
    temperature: float,
    micro_batch_size: int | None = None,
) -> UpdateStats:
    """`inner_epochs` optimiser steps on the batch; returns the statistics of each epoch
    and their means.

    The old log-probabilities are those of the first epoch's forward pass (no dropout,
    so they equal the sampling policy's), which saves one forward pass an iteration.
    """
    ids, attn = batch.input_ids, batch.attention_mask
    start = _loss_start(batch.loss_mask[:, 1:])
    targets = ids[:, 1 + start :]
    mask = batch.loss_mask[:, 1 + start :]
    advantages = batch.advantages[:, 1 + start :]
    # Under torchrun each rank holds its share of the batch: the loss is normalised by
    # the whole batch's tokens and the gradients are summed, which is the 1-rank update.
    (token_count,) = distributed.sum_floats([float(mask.sum())], ids.device)
    parts = _slices(ids.shape[0], micro_batch_size)
    ref_logp: list[torch.Tensor | None] = [None] * len(parts)
    if reference is not None and kl_coef > 0:
        with torch.no_grad():
            ref_logp = [
                token_logprobs(
                    _scaled_logits(reference, ids[p], attn[p], temperature, start), targets[p]
                )
                for p in parts
            ]
    old_logp: list[torch.Tensor] = []
    epochs: list[EpochStats] = []
    entropy_sum = 0.0
    for epoch in range(inner_epochs):
        optimizer.zero_grad()
        epoch_loss = epoch_kl = epoch_clip = 0.0
        for index, part in enumerate(parts):
            logits = _scaled_logits(policy, ids[part], attn[part], temperature, start)
            logp = token_logprobs(logits, targets[part])
            if epoch == 0:
                old_logp.append(logp.detach())
                entropy_sum += float((token_entropy(logits.detach()) * mask[part]).sum())
            terms = clipped_surrogate_loss(
                logp,
                old_logp[index],
                advantages[part],
                mask[part],
                clip_epsilon=clip_epsilon,
                kl_coef=kl_coef,
                ref_logp=ref_logp[index],
                token_count=token_count,
            )
            torch.autograd.backward(terms.loss)
            share = float(mask[part].sum()) / max(token_count, 1.0)
            epoch_loss += float(terms.loss.detach())
            epoch_kl += terms.kl * share
            epoch_clip += terms.clip_ratio * share
        distributed.sum_gradients(policy.module.parameters())
        norm = torch.nn.utils.clip_grad_norm_(policy.module.parameters(), GRAD_CLIP_NORM)
        optimizer.step()
        epoch_loss, epoch_kl, epoch_clip = distributed.sum_floats(
            [epoch_loss, epoch_kl, epoch_clip], ids.device
        )
        epochs.append(EpochStats(epoch_loss, epoch_kl, epoch_clip, float(norm)))
    count = len(epochs)
    (entropy_sum,) = distributed.sum_floats([entropy_sum], ids.device)
    return UpdateStats(
        loss=sum(e.loss for e in epochs) / count,
        kl=sum(e.kl for e in epochs) / count,
        clip_ratio=sum(e.clip_ratio for e in epochs) / count,
        entropy=entropy_sum / max(token_count, 1.0),
        grad_norm=sum(e.grad_norm for e in epochs) / count,
        epochs=tuple(epochs),
    )

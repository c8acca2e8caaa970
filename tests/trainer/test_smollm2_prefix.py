"""A group's prompt run once (policy/hf_prefix.py) on SmolLM2: the same logits, gradients
and samples as running every row, full fine-tuning and LoRA (and its base reference)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from agentcore_training.api.policy import LoraSpec, PolicySpec
from agentcore_training.trainer.grpo import token_logprobs
from agentcore_training.trainer.policy.hf import HFPolicy
from agentcore_training.trainer.policy.protocol import Policy
from agentcore_training.trainer.rollout import completion_mask, left_pad

GROUP = 2
QUERIES = ("What is 3+4? Answer with the number only.", "Add 12 and 30, please.")


def _policy(smollm2: Path, lora: bool) -> HFPolicy:
    spec = PolicySpec(
        model=f"hf:{smollm2}",
        system_prompt="You are a helpful assistant.",
        lora=LoraSpec(rank=4, alpha=8) if lora else None,
    )
    policy = HFPolicy.load_from(spec, seed=0)
    if lora:  # adapters that change the outputs (fresh ones are exact no-ops)
        generator = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for name, parameter in policy.model.named_parameters():
                if "lora_B" in name:
                    parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.02)
    return policy


def _batch(policy: HFPolicy) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Two prompts of different lengths (left padding), each twice, then 4 random tokens
    (one row ends early with EOS); and the prompt's width."""
    codec = policy.codec
    prompts = [codec.encode_prompt(q) for q in QUERIES]
    assert len(prompts[0]) != len(prompts[1])
    prompt_ids, prompt_mask = left_pad([p for p in prompts for _ in range(GROUP)], codec.pad_id)
    completions = torch.randint(100, 5000, (len(prompts) * GROUP, 4), generator=torch.Generator())
    completions[1, 1], completions[1, 2:] = codec.eos_id, codec.pad_id
    ids = torch.cat([prompt_ids, completions], dim=1)
    mask = torch.cat([prompt_mask, completion_mask(completions, codec.eos_id)], dim=1)
    return ids, mask, prompt_ids.shape[1]


def _rows_seen(policy: HFPolicy) -> tuple[list[int], Any]:
    seen: list[int] = []
    hook = policy.model.get_input_embeddings().register_forward_hook(
        lambda module, args, output: seen.append(int(args[0].shape[0]))
    )
    return seen, hook


def _logprobs(
    policy: Policy, ids: torch.Tensor, mask: torch.Tensor, width: int, shared: bool
) -> torch.Tensor:
    keep = ids.shape[1] - width  # the completion's positions: predicted from width - 1 on
    logits = policy.logits(
        ids[:, :-1], mask[:, :-1], keep=keep, shared_prefix=width if shared else 0
    )
    return token_logprobs(logits, ids[:, width:]) * mask[:, width:]


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_a_shared_prompt_gives_the_logits_and_gradients_of_every_row_run(
    smollm2: Path, lora: bool
) -> None:
    policy = _policy(smollm2, lora)
    ids, mask, width = _batch(policy)
    results = []
    for shared in (False, True):
        seen, hook = _rows_seen(policy)
        policy.model.zero_grad()
        logp = _logprobs(policy, ids, mask, width, shared)
        logp.sum().backward()
        hook.remove()
        params = policy.model.named_parameters()
        grads = {n: p.grad.clone() for n, p in params if p.grad is not None}
        results.append((logp.detach(), grads, seen))
    (plain, plain_grads, plain_rows), (shared, shared_grads, shared_rows) = results
    assert plain_rows == [4]
    assert shared_rows == [2, 4]  # the two prompts once, then the four completions
    assert torch.allclose(plain, shared, atol=5e-4), (plain - shared).abs().max()
    assert plain_grads.keys() == shared_grads.keys()
    assert plain_grads
    for name, grad in plain_grads.items():
        error = (grad - shared_grads[name]).norm() / grad.norm().clamp(min=1e-12)
        assert error < 1e-3, (name, float(error))
    if lora:  # the reference (adapters disabled) shares the prompt too, under no_grad
        reference = policy.frozen_copy()
        with torch.no_grad():
            base = _logprobs(reference, ids, mask, width, shared=False)
            base_shared = _logprobs(reference, ids, mask, width, shared=True)
        assert torch.allclose(base, base_shared, atol=5e-4)
        assert not torch.allclose(base, plain, atol=1e-3)  # the adapters did change it


def test_generation_prefills_a_group_once_and_samples_the_same_tokens(smollm2: Path) -> None:
    policy = _policy(smollm2, lora=False)
    ids, mask, width = _batch(policy)
    outs = []
    for share in (False, True):
        policy.share_prefill = share
        seen, hook = _rows_seen(policy)
        outs.append(
            policy.generate(
                ids[:, :width],
                mask[:, :width],
                max_new_tokens=4,
                temperature=1.0,
                generator=torch.Generator().manual_seed(3),
            )
        )
        hook.remove()
        assert seen[0] == (2 if share else 4)  # the prefill: one row per distinct prompt
    assert torch.equal(outs[0], outs[1])

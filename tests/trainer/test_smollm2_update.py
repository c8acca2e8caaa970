"""GRPO updates of SmolLM2-135M-Instruct, full fine-tuning and LoRA, on a fixed batch.

A batch sampled from the real model (chat template on) with fixed advantages (+1, -1, ...),
so that the surrogate has something to push: per-epoch metrics, epoch-0 KL exactly 0, the
loss falling across inner epochs, weights changed, and the saved folders reloading.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import torch

from agentcore_training.api.policy import LoraSpec, PolicySpec
from agentcore_training.trainer.optim import AdamW
from agentcore_training.trainer.policy.hf import HFPolicy
from agentcore_training.trainer.queries import Query
from agentcore_training.trainer.rollout import RolloutBatch, encode_prompts, sample_rollout
from agentcore_training.trainer.update import UpdateStats, policy_update
from tests.trainer.conftest import sum_queries

SYSTEM = "You are a helpful assistant."
EPOCHS = 3


def _policy(smollm2: Path, **fields: Any) -> HFPolicy:
    spec = PolicySpec(model=f"hf:{smollm2}", system_prompt=SYSTEM, **fields)
    return HFPolicy.load_from(spec, seed=0)


def _fixed_batch(policy: HFPolicy) -> RolloutBatch:
    queries = [Query(q["query"], q["expected_outcome"]) for q in sum_queries(1)]
    batch = sample_rollout(
        policy,
        lambda text, query: 0.0,
        queries,
        encode_prompts(policy.codec, queries),
        group_size=2,
        max_new_tokens=3,
        temperature=1.0,
        generator=torch.Generator().manual_seed(0),
    )
    signs = torch.tensor([1.0, -1.0], device=policy.device)
    return dataclasses.replace(batch, advantages=signs[:, None] * batch.loss_mask)


def _update(policy: HFPolicy, batch: RolloutBatch, lr: float) -> UpdateStats:
    optimizer = AdamW(policy.module.parameters(), lr=lr, weight_decay=0.0)
    return policy_update(
        policy,
        policy.frozen_copy(),
        optimizer,
        batch,
        inner_epochs=EPOCHS,
        clip_epsilon=0.2,
        kl_coef=0.04,
        temperature=1.0,
    )


def _check_epochs(stats: UpdateStats) -> None:
    assert len(stats.epochs) == EPOCHS
    values = [v for e in stats.epochs for v in (e.loss, e.kl, e.clip_ratio, e.grad_norm)]
    assert all(torch.isfinite(torch.tensor(values)))
    assert stats.epochs[0].kl == 0.0  # the reference is the weights that sampled the batch
    assert stats.epochs[1].kl > 0.0
    losses = [e.loss for e in stats.epochs]
    assert losses[0] > losses[1] > losses[2], losses
    assert stats.kl == pytest.approx(sum(e.kl for e in stats.epochs) / EPOCHS)


def _state(policy: HFPolicy) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in policy.model.state_dict().items()}


def test_full_fine_tuning_learns_on_a_fixed_batch_and_reloads(
    smollm2: Path, tmp_path: Path
) -> None:
    policy = _policy(smollm2)
    assert policy.describe()["chatTemplate"] == "on"
    assert policy.device == torch.device("cpu")
    before = _state(policy)
    batch = _fixed_batch(policy)
    assert batch.input_ids.device == policy.device
    _check_epochs(_update(policy, batch, lr=1e-5))
    after = _state(policy)
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(changed) == len(before)  # every tensor moved (the tied head with the embedding)

    policy.save(tmp_path / "ckpt")
    fresh = _policy(smollm2)
    fresh.load(tmp_path / "ckpt")
    reloaded = _state(fresh)
    assert all(torch.equal(after[k], reloaded[k]) for k in after)
    head = fresh.model.lm_head.weight
    assert head.data_ptr() == fresh.model.model.embed_tokens.weight.data_ptr()


def test_lora_trains_only_the_adapters_against_the_base(smollm2: Path, tmp_path: Path) -> None:
    policy = _policy(smollm2, lora=LoraSpec(rank=8, alpha=16))
    trainable = {n for n, p in policy.model.named_parameters() if p.requires_grad}
    assert trainable
    assert all("lora_" in n for n in trainable)
    reference = policy.frozen_copy()
    assert reference.module is policy.module  # no second copy of the weights
    before = _state(policy)
    batch = _fixed_batch(policy)
    ids, mask = batch.input_ids, batch.attention_mask
    base_logits = reference.logits(ids, mask)
    _check_epochs(_update(policy, batch, lr=2e-4))
    after = _state(policy)
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed
    assert all("lora_B" in k or "lora_A" in k for k in changed)
    assert torch.equal(reference.logits(ids, mask), base_logits)  # the base is untouched
    with torch.no_grad():
        trained_logits = policy.logits(ids, mask)
    assert not torch.equal(trained_logits, base_logits)

    # The adapter folder loads with peft onto the base; the merged folder alone.
    import peft
    import transformers

    adapter = policy.save_pretrained(tmp_path / "adapter")
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {
        p.name for p in adapter.iterdir()
    }
    base = transformers.AutoModelForCausalLM.from_pretrained(str(smollm2))
    loaded = peft.PeftModel.from_pretrained(base, str(adapter))
    merged_dir = policy.save_pretrained(tmp_path / "merged", merge=True)
    merged = transformers.AutoModelForCausalLM.from_pretrained(str(merged_dir))
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    with torch.no_grad():
        for model in (loaded, merged):
            model.eval()
            logits = model(input_ids=ids, attention_mask=mask, position_ids=positions).logits
            real = mask.bool()
            assert torch.allclose(logits[real], trained_logits[real], atol=1e-3)
    assert _state(policy).keys() == after.keys()  # merging worked on a copy

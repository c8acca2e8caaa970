"""Reward plugins, and their checks of the queries at start."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from agentcore_training.api.plugins import RewardSpec
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.queries import Query
from agentcore_training.trainer.rewards import build_reward, parse_number


def reward_for(spec: dict[str, Any], *expected: Any, field: str = "answer") -> Any:
    queries = [Query("q", {field: value}) for value in expected]
    return build_reward(RewardSpec.model_validate(spec), queries), queries


def test_exact_match() -> None:
    reward, (query,) = reward_for({"type": "exact_match"}, "Paris")
    assert reward(" Paris\n", query) == 1.0
    assert reward("paris", query) == 0.0
    reward, (query,) = reward_for({"type": "exact_match", "caseSensitive": False}, "Paris")
    assert reward("PARIS", query) == 1.0


def test_numeric_with_tolerance() -> None:
    reward, (query,) = reward_for({"type": "numeric", "tolerance": 0.01}, "3.14")
    assert reward("3.141", query) == 1.0
    assert reward("the answer is 3.145", query) == 1.0  # the last number in the text
    assert reward("3.2", query) == 0.0
    assert reward("pi", query) == 0.0
    assert parse_number("1e3") == 1000.0


def test_contains() -> None:
    reward, (query,) = reward_for({"type": "contains", "field": "needle"}, "42", field="needle")
    assert reward("it is 42.", query) == 1.0
    assert reward("it is 41", query) == 0.0


def test_regex() -> None:
    reward, (query,) = reward_for({"type": "regex"}, r"^\d{2}$")
    assert reward("17", query) == 1.0
    assert reward("7", query) == 0.0


@pytest.fixture
def user_module() -> Iterator[str]:
    module = types.ModuleType("user_rewards_for_test")

    def length_reward(completion: str, expected: Any, query: str) -> float:
        return float(len(completion) == int(expected)) + 0.5 * (query == "q")

    def bad_reward(completion: str, expected: Any, query: str) -> Any:
        return "not a number"

    module.length_reward = length_reward  # type: ignore[attr-defined]
    module.bad_reward = bad_reward  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    yield module.__name__
    del sys.modules[module.__name__]


def test_python_entry_point(user_module: str) -> None:
    spec = {"type": "python", "entryPoint": f"{user_module}:length_reward"}
    reward, (query,) = reward_for(spec, 3)
    assert reward("abc", query) == 1.5
    reward, (query,) = reward_for({"type": "python", "entryPoint": f"{user_module}:bad_reward"}, 3)
    with pytest.raises(Exception, match="not a number"):
        reward("abc", query)


@pytest.mark.parametrize(
    ("spec", "expected", "message"),
    [
        ({"type": "exact_match", "field": "other"}, "7", "no field 'other'"),
        ({"type": "numeric"}, "seven", "not a number"),
        ({"type": "numeric"}, float("nan"), "not finite"),
        ({"type": "regex"}, "([", "not a valid regex"),
        ({"type": "contains"}, {"nested": 1}, "must be a string or a number"),
        ({"type": "python", "entryPoint": "no_such_module_xyz:fn"}, "7", "cannot import"),
        ({"type": "python", "entryPoint": "json:no_such_function"}, "7", "no function"),
    ],
)
def test_a_query_the_reward_cannot_score_is_an_error_at_start(
    spec: dict[str, Any], expected: Any, message: str
) -> None:
    with pytest.raises(BadInputError, match=message):
        reward_for(spec, "1", expected)


def test_an_unknown_reward_type_is_an_error() -> None:
    # A spec that bypasses validation, as a corrupted mount would give.
    spec = RewardSpec.model_construct(type="bogus", field="answer")
    with pytest.raises(BadInputError, match="unknown reward type 'bogus'"):
        build_reward(spec, [Query("q", {"answer": "1"})])

"""Reward plugins: score a completion against its query's expected_outcome[reward.field].

Every reward checks at start that it can score each query (the field is there, numeric
where it must be, the regex compiles), so a bad dataset is a clear error, never a silent
zero reward.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from agentcore_training.api.plugins import RewardSpec, RewardType
from agentcore_training.trainer.entrypoints import import_callable
from agentcore_training.trainer.errors import BadInputError, TrainerError
from agentcore_training.trainer.queries import Query

_NUMBER_RE = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


class Reward(Protocol):
    """Scores one completion of one query."""

    def check(self, query: Query, where: str) -> None:
        """Raise BadInputError if this reward cannot score `query`."""

    def __call__(self, completion: str, query: Query) -> float: ...


class _FieldReward:
    """The common part: read expected_outcome[field], require a scalar."""

    def __init__(self, spec: RewardSpec) -> None:
        self.field = spec.field
        self.case_sensitive = spec.case_sensitive
        self.kind = spec.type.value

    def expected(self, query: Query) -> Any:
        return query.expected_outcome[self.field]

    def check(self, query: Query, where: str) -> None:
        if self.field not in query.expected_outcome:
            raise BadInputError(
                f"{where}: expected_outcome has no field {self.field!r}, which the "
                f"{self.kind} reward reads"
            )
        value = query.expected_outcome[self.field]
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise BadInputError(
                f"{where}: expected_outcome.{self.field} must be a string or a number for "
                f"the {self.kind} reward, got {type(value).__name__}"
            )

    def text(self, value: Any) -> str:
        text = str(value).strip()
        return text if self.case_sensitive else text.casefold()


class ExactMatch(_FieldReward):
    """1 when the stripped completion equals the expected text, else 0."""

    def __call__(self, completion: str, query: Query) -> float:
        return float(self.text(completion) == self.text(self.expected(query)))


class Contains(_FieldReward):
    """1 when the completion contains the expected text, else 0."""

    def __call__(self, completion: str, query: Query) -> float:
        return float(self.text(self.expected(query)) in self.text(completion))


def parse_number(text: str) -> float | None:
    """The whole text as a number, else the last number in it, else None."""
    try:
        return float(text.strip())
    except ValueError:
        found = _NUMBER_RE.findall(text)
        return float(found[-1]) if found else None


class Numeric(_FieldReward):
    """1 when the completion's number is within `tolerance` of the expected one, else 0."""

    def __init__(self, spec: RewardSpec) -> None:
        super().__init__(spec)
        self.tolerance = spec.tolerance

    def check(self, query: Query, where: str) -> None:
        super().check(query, where)
        value = self.expected(query)
        try:
            number = float(value)  # a number, or a string that is exactly one
        except ValueError:
            raise BadInputError(
                f"{where}: expected_outcome.{self.field} = {value!r} is not a number, which "
                "the numeric reward needs"
            ) from None
        if not math.isfinite(number):
            raise BadInputError(f"{where}: expected_outcome.{self.field} is not finite")

    def __call__(self, completion: str, query: Query) -> float:
        got = parse_number(completion)
        if got is None or not math.isfinite(got):
            return 0.0
        want = float(self.expected(query))
        return float(abs(got - want) <= self.tolerance)


class Regex(_FieldReward):
    """1 when the pattern in expected_outcome[field] matches somewhere in the completion."""

    def __init__(self, spec: RewardSpec) -> None:
        super().__init__(spec)
        self._compiled: dict[str, re.Pattern[str]] = {}

    def _pattern(self, pattern: str) -> re.Pattern[str]:
        compiled = self._compiled.get(pattern)
        if compiled is None:
            flags = 0 if self.case_sensitive else re.IGNORECASE
            compiled = self._compiled[pattern] = re.compile(pattern, flags)
        return compiled

    def check(self, query: Query, where: str) -> None:
        super().check(query, where)
        pattern = self.expected(query)
        if not isinstance(pattern, str):
            raise BadInputError(f"{where}: expected_outcome.{self.field} must be a regex string")
        try:
            self._pattern(pattern)
        except re.error as error:
            raise BadInputError(
                f"{where}: expected_outcome.{self.field} = {pattern!r} is not a valid regex: "
                f"{error}"
            ) from None

    def __call__(self, completion: str, query: Query) -> float:
        return float(self._pattern(self.expected(query)).search(completion) is not None)


PythonRewardFn = Callable[[str, Any, str], float]
"""A user reward: fn(completion, expected_outcome[field], query) -> float."""


def load_entry_point(entry_point: str) -> PythonRewardFn:
    """Import `module:function`; any failure is bad input, named in one line."""
    function: PythonRewardFn = import_callable(entry_point, "reward")
    return function


class PythonReward:
    """A user-supplied reward: fn(completion, expected_outcome[field], query) -> float."""

    def __init__(self, spec: RewardSpec) -> None:
        if not spec.entry_point:
            raise BadInputError("reward type python needs reward.entryPoint (module:function)")
        self.entry_point = spec.entry_point
        self.field = spec.field
        self.function = load_entry_point(spec.entry_point)

    def check(self, query: Query, where: str) -> None:
        if self.field not in query.expected_outcome:
            raise BadInputError(
                f"{where}: expected_outcome has no field {self.field!r}, which the python "
                f"reward {self.entry_point} reads"
            )

    def __call__(self, completion: str, query: Query) -> float:
        value = self.function(completion, query.expected_outcome[self.field], query.query)
        try:
            score = float(value)
        except (TypeError, ValueError):
            raise TrainerError(
                f"reward {self.entry_point} returned {value!r}, not a number"
            ) from None
        if not math.isfinite(score):
            raise TrainerError(f"reward {self.entry_point} returned {score}, not a finite number")
        return score


_BUILTIN: dict[str, Callable[[RewardSpec], Reward]] = {
    RewardType.EXACT_MATCH.value: ExactMatch,
    RewardType.NUMERIC.value: Numeric,
    RewardType.CONTAINS.value: Contains,
    RewardType.REGEX.value: Regex,
    RewardType.PYTHON.value: PythonReward,
}


def build_reward(spec: RewardSpec, queries: Sequence[Query]) -> Reward:
    """The reward the spec names, checked against every query before training starts."""
    kind = str(getattr(spec.type, "value", spec.type))
    factory = _BUILTIN.get(kind)
    if factory is None:
        known = ", ".join(sorted(_BUILTIN))
        raise BadInputError(f"unknown reward type {kind!r}: expected one of {known}")
    reward = factory(spec)
    for index, query in enumerate(queries):
        reward.check(query, f"query {index}")
    return reward

"""Build the environment that spec.environment names: one fresh object per trajectory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agentcore_training.api.plugins import EnvironmentSpec, EnvironmentType
from agentcore_training.trainer.entrypoints import import_callable
from agentcore_training.trainer.environments.calculator import Calculator
from agentcore_training.trainer.environments.protocol import Environment
from agentcore_training.trainer.environments.single_turn import SingleTurn
from agentcore_training.trainer.errors import BadInputError


@dataclass(frozen=True)
class EnvironmentFactory:
    """What the rollout needs to know of an environment."""

    name: str
    make: Callable[[], Environment]
    """A new environment, for one trajectory."""
    alphabet: str
    """Characters its actions and observations may hold (added to char vocabularies)."""
    multi_step: bool
    """False only for single_turn: one action, no environment tokens."""
    malformed_penalty: float
    """A trajectory that ends on a malformed action gets reward -malformed_penalty."""


def load_environment_entry_point(entry_point: str) -> Callable[[], Environment]:
    """Import `module:function`; it must return an object with reset and step."""
    function = import_callable(entry_point, "environment", noun="callable")
    try:
        sample = function()
    except Exception as error:
        raise BadInputError(
            f"environment entry point {entry_point}: calling it raised {error!r}"
        ) from None
    for method in ("reset", "step"):
        if not callable(getattr(sample, method, None)):
            raise BadInputError(
                f"environment entry point {entry_point} returned an object without {method}()"
            )
    make: Callable[[], Environment] = function
    return make


def build_environment(spec: EnvironmentSpec) -> EnvironmentFactory:
    """The environment factory of the spec (a python entry point is imported and tried)."""
    kind = EnvironmentType(str(getattr(spec.type, "value", spec.type)))
    penalty = spec.malformed_penalty
    if kind is EnvironmentType.SINGLE_TURN:
        return EnvironmentFactory("single_turn", SingleTurn, "", False, penalty)
    if kind is EnvironmentType.CALCULATOR:

        def calculator() -> Environment:
            return Calculator(
                max_expression_chars=spec.max_expression_chars,
                max_tool_result_chars=spec.max_tool_result_chars,
            )

        return EnvironmentFactory("calculator", calculator, Calculator.alphabet, True, penalty)
    if not spec.entry_point:
        raise BadInputError("environment type python needs environment.entryPoint")
    make = load_environment_entry_point(spec.entry_point)
    alphabet = str(getattr(make(), "alphabet", ""))
    return EnvironmentFactory(f"python:{spec.entry_point}", make, alphabet, True, penalty)

"""spec.reward and spec.environment: built-in or user-supplied (Python entry point)."""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import Field, model_validator

from agentcore_training.api.base import ApiModel

ENTRY_POINT_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$"


class RewardType(StrEnum):
    """The built-in reward functions."""

    EXACT_MATCH = "exact_match"
    NUMERIC = "numeric"
    CONTAINS = "contains"
    REGEX = "regex"
    PYTHON = "python"


class _PluggableSpec(ApiModel):
    """A spec whose type `python` names a user-supplied entry point (rewards, environments)."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": {
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.type) || self.type != 'python' || has(self.entryPoint)",
                    "message": "entryPoint is required when type is python",
                    "fieldPath": ".entryPoint",
                }
            ]
        }
    }

    @model_validator(mode="after")
    def _python_needs_entry_point(self) -> Self:
        if getattr(self, "type", None) == "python" and not getattr(self, "entry_point", None):
            raise ValueError("entryPoint is required when type is python")
        return self


class RewardSpec(_PluggableSpec):
    """How a trajectory is scored against its query's expected_outcome."""

    type: RewardType = Field(
        default=RewardType.EXACT_MATCH,
        description=(
            "exact_match, numeric (within tolerance), contains, regex (expected_outcome holds "
            "the pattern), or python (a user-supplied entry point)."
        ),
    )
    field: str = Field(
        default="answer",
        description="Key of expected_outcome that the reward reads.",
        min_length=1,
        max_length=253,
    )
    tolerance: float = Field(
        default=1e-6, ge=0, description="Absolute tolerance of the numeric reward."
    )
    case_sensitive: bool = Field(
        default=True, description="Whether text comparisons are case-sensitive."
    )
    entry_point: str | None = Field(
        default=None,
        description="module:function of a Python reward, for type python.",
        pattern=ENTRY_POINT_PATTERN,
        max_length=303,
    )


class EnvironmentType(StrEnum):
    """The environments a trajectory can run in."""

    SINGLE_TURN = "single_turn"
    CALCULATOR = "calculator"
    PYTHON = "python"


class EnvironmentSpec(_PluggableSpec):
    """Where the agent acts: one answer, or several steps with tool calls."""

    type: EnvironmentType = Field(
        default=EnvironmentType.SINGLE_TURN,
        description=(
            "single_turn (the completion is the answer), calculator (the agent may call "
            "calc(<arithmetic>) and ends with answer(<text>)), or python (a user-supplied "
            "entry point)."
        ),
    )
    entry_point: str | None = Field(
        default=None,
        description=(
            "module:function of a Python environment, for type python: called with no "
            "arguments, it returns a new environment (reset and step) for each trajectory."
        ),
        pattern=ENTRY_POINT_PATTERN,
        max_length=303,
    )
    malformed_penalty: float = Field(
        default=1.0,
        ge=0,
        le=100,
        description=(
            "A trajectory that ends on a malformed action (neither a tool call nor an answer) "
            "gets reward -malformedPenalty."
        ),
    )
    max_tool_result_chars: int = Field(
        default=32,
        ge=4,
        le=4096,
        description="Longest tool result appended to the agent's context, in characters.",
    )
    max_expression_chars: int = Field(
        default=64,
        ge=1,
        le=4096,
        description="Longest calc(...) expression evaluated (characters); longer is a tool error.",
    )

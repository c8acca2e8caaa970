"""The environment interface: `reset(query) -> observation`, `step(action) -> (observation,
done, info)`. Pure: no torch, no I/O.

One environment object runs one trajectory. The policy produces one action (text, ended by
its EOS token) per step; the environment answers with an observation (text appended to the
agent's context, masked out of the loss) and says whether the trajectory is over. How it
ended is in `StepInfo`: a final `answer` (scored by the reward), a `malformed` action
(scored -malformedPenalty), or neither (scored 0, like a trajectory cut at
maxStepsPerTrajectory).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import NamedTuple, Protocol, runtime_checkable

from agentcore_training.trainer.queries import Query


@dataclass(frozen=True)
class StepInfo:
    """What one step did."""

    answer: str | None = None
    """The final answer, when this step ended the trajectory with one."""
    tool_call: bool = False
    """The action was a tool call."""
    tool_error: bool = False
    """The tool call was refused or failed (the observation says why)."""
    malformed: bool = False
    """The action was neither a tool call nor an answer: the trajectory ends, penalised."""


class StepResult(NamedTuple):
    """(observation, done, info): unpacks like the classic tuple."""

    observation: str
    done: bool
    info: StepInfo


class Environment(Protocol):
    """One trajectory's world."""

    def reset(self, query: Query) -> str:
        """Start a trajectory of `query`; returns the first observation (the prompt)."""

    def step(self, action: str) -> StepResult:
        """Apply one action (the decoded text, EOS excluded); never raises on any text."""


@dataclass(frozen=True)
class Segment:
    """A piece of a warm-start example: text, and whether the policy is to produce it."""

    text: str
    action: bool


@runtime_checkable
class FormatTeacher(Protocol):
    """An environment that can show its action format for the optional warm start."""

    def format_example(self, query: Query, rng: random.Random) -> list[Segment]:
        """A made-up trajectory after `query`'s prompt, on random content: never the task's
        answers. The first segment is the prompt (not an action)."""

"""single_turn: the policy's one completion is its answer (the behaviour before environments)."""

from __future__ import annotations

from agentcore_training.trainer.environments.protocol import StepInfo, StepResult
from agentcore_training.trainer.queries import Query


class SingleTurn:
    """The prompt is the query; the first action is the final answer, as it is."""

    alphabet = ""

    def reset(self, query: Query) -> str:
        return query.query

    def step(self, action: str) -> StepResult:
        return StepResult("", True, StepInfo(answer=action))

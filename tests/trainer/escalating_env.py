"""A scripted environment for budget tests: cheap at first, then at its worst case.

Trajectory k (counted over resets, module-wide): for k < CHEAP_TRAJECTORIES, only every
16th calls the tool (three times, to the step cap); the others answer at once. From then
on every trajectory calls the tool at every step. The policy's actions are ignored, so the
cost of each iteration is known in advance whatever the (real) policy samples.
"""

from __future__ import annotations

from agentcore_training.trainer.environments.protocol import StepInfo, StepResult
from agentcore_training.trainer.queries import Query

CHEAP_TRAJECTORIES = 12 * 16
resets = 0


class Escalating:
    alphabet = "calnswer()0123456789"

    def __init__(self) -> None:
        self.calls_tool = False

    def reset(self, query: Query) -> str:
        global resets
        index = resets
        resets += 1
        self.calls_tool = index >= CHEAP_TRAJECTORIES or index % 16 == 0
        return query.query

    def step(self, action: str) -> StepResult:
        del action
        if self.calls_tool:
            return StepResult("=1\n", False, StepInfo(tool_call=True))
        return StepResult("", True, StepInfo(answer="0"))


def make() -> Escalating:
    return Escalating()

"""A scripted environment for the evaluation's budget test: training always at its worst
case; the evaluation's queries (they start with "eval ") cheap in the first evaluations,
then at their worst case.

Training trajectories call the tool at every step (to the step cap). Evaluation trajectory
k (counted module-wide): for k < CHEAP_EVALUATION_TRAJECTORIES only every 16th calls the
tool; from then on every one does, at every step. The policy's actions are ignored, so
what each piece costs is known in advance whatever the (real) policy samples.
"""

from __future__ import annotations

from agentcore_training.trainer.environments.protocol import StepInfo, StepResult
from agentcore_training.trainer.queries import Query

CHEAP_EVALUATION_TRAJECTORIES = 2 * 16
evaluation_resets = 0


class DearEvaluation:
    alphabet = "calnswer()0123456789"

    def __init__(self) -> None:
        self.calls_tool = True

    def reset(self, query: Query) -> str:
        global evaluation_resets
        if query.query.startswith("eval "):
            index = evaluation_resets
            evaluation_resets += 1
            self.calls_tool = index >= CHEAP_EVALUATION_TRAJECTORIES or index % 16 == 0
        return query.query

    def step(self, action: str) -> StepResult:
        del action
        if self.calls_tool:
            return StepResult("=1\n", False, StepInfo(tool_call=True))
        return StepResult("", True, StepInfo(answer="0"))


def make() -> DearEvaluation:
    return DearEvaluation()

"""builtin:tiny learns to use the calculator tool on two-digit multiplication, on CPU.

The tiny model cannot multiply, nor memorise 8,100 products from 100 queries: a right answer
needs calc(...). The format-only warm start shows the action format on made-up examples
(every digit of a prompt redrawn at random, never one of the task's queries): half answer
random digits at once, half call calc on the redrawn expression and answer with what the
tool said. GRPO must then learn that calling the tool pays, and copy more accurately.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from agentcore_training.api.contract import ProgressReport, ProgressState
from agentcore_training.trainer.loop import run_training
from tests.trainer.conftest import make_spec, options_for


def multiplication_queries(count: int = 100, seed: int = 1234) -> list[dict[str, Any]]:
    """`count` distinct a*b= queries, a and b in 10..99."""
    rng = random.Random(seed)  # noqa: S311 - test data, not a secret
    pairs: set[tuple[int, int]] = set()
    while len(pairs) < count:
        pairs.add((rng.randint(10, 99), rng.randint(10, 99)))
    return [
        {"query": f"{a}*{b}=", "expected_outcome": {"answer": str(a * b)}} for a, b in sorted(pairs)
    ]


class RecordingSink:
    """Keeps every report the loop publishes (one per iteration)."""

    def __init__(self) -> None:
        self.reports: list[ProgressReport] = []

    @property
    def cancel_requested(self) -> bool:
        return False

    def publish(self, report: ProgressReport) -> None:
        self.reports.append(report)

    def close(self, final: ProgressReport, timeout_s: float) -> bool:
        return True


# Sized on a loaded 2-core machine, one torch thread: a 600-step warm start (~30 s), then
# 60 iterations of 8 queries x 8 trajectories (~0.3-0.9 s each); 60-100 s in all. Mean
# reward of the first -> last 10% of iterations, and tool calls per trajectory: seed 0
# 0.10 -> 0.67 (0.51 -> 0.92), seed 1 0.21 -> 0.70 (0.73 -> 0.96), seed 2 0.13 -> 0.58
# (0.61 -> 0.93).
SPEC = make_spec(
    {
        "nIterations": 60,
        "batchSize": 8,
        "nTrajectoriesPerQuery": 8,
        "learningRate": 5e-4,
        "klCoef": 0.04,
        "maxNewTokens": 14,
        "maxStepsPerTrajectory": 3,
        "gamma": 0.9,
        "checkpointInterval": 100,
        "seed": 0,
    },
    policy={"warmStartSteps": 600},
)
# A malformed action costs 0.5 rather than the default 1.0: with 1.0, one seed in three
# (seed 2) gave up the tool, whose two actions risk more malformed text than one answer.
SPEC["environment"] = {"type": "calculator", "malformedPenalty": 0.5}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_tiny_policy_learns_to_use_the_calculator(tmp_path: Path) -> None:
    sink = RecordingSink()
    started = time.monotonic()
    result = run_training(options_for(tmp_path, SPEC, multiplication_queries()), sink=sink)
    elapsed = time.monotonic() - started
    assert result.state is ProgressState.COMPLETED
    rewards = result.rewards
    assert len(rewards) == 60
    tenth = len(rewards) // 10
    first, last = _mean(rewards[:tenth]), _mean(rewards[-tenth:])
    per_iteration = [r.metrics for r in sink.reports if r.iteration > 0]
    tools = [m.tool_calls_per_trajectory or 0.0 for m in per_iteration]
    assert len(tools) == 60
    tools_first, tools_last = _mean(tools[:tenth]), _mean(tools[-tenth:])
    print(
        f"reward first 10% {first:.3f}, last 10% {last:.3f}; tool calls per trajectory "
        f"{tools_first:.2f} -> {tools_last:.2f}; {elapsed:.1f} s"
    )
    assert last - first >= 0.2
    assert tools_last > tools_first
    final = result.report.metrics
    assert final.mean_steps_per_trajectory is not None
    assert 1.0 <= final.mean_steps_per_trajectory <= 3.0
    assert final.frac_truncated is not None
    assert final.tool_error_rate is not None
    assert result.report.cost_usd <= result.report.budget_usd

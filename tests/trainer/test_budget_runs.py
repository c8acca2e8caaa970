"""Real (small) runs that the budget stops: the true spend never exceeds maxBudgetUsd.

"True spend" is measured here, independently of the trainer's ledger: the wall-clock time
from before the trainer is built until its run returns (priced at computeUsdPerHour), and
the tokens and tool calls counted by wrapping the policy's `generate` and the environment.
The ledger must show at least the counted tokens and tool calls (never less than was
spent), and the true spend must stay within the budget (the budget is kept by stopping).
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import torch

from agentcore_training.api.contract import ProgressState
from agentcore_training.api.spec import TrainingJobSpec
from agentcore_training.trainer.environments.protocol import Environment, StepResult
from agentcore_training.trainer.ledger import Prices, Usage, price, seconds_decimal
from agentcore_training.trainer.loop import RunResult, run_loop
from agentcore_training.trainer.progress import NullSink
from agentcore_training.trainer.rollout import completion_mask
from agentcore_training.trainer.trainer import Trainer
from tests.trainer import dear_evaluation_env, escalating_env
from tests.trainer.conftest import make_spec, options_for
from tests.trainer.test_calculator_learning import multiplication_queries


@dataclasses.dataclass
class Meter:
    """Tokens and tool calls counted outside the trainer."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    tool_calls: int = 0

    def usage(self, seconds: float) -> Usage:
        return Usage(
            seconds=seconds_decimal(seconds),
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            tool_calls=self.tool_calls,
        )


def metered_run(
    directory: Path, spec: dict[str, Any], queries: Any = None, **options: Any
) -> tuple[RunResult, Usage]:
    """Run the trainer in-process with a meter around generation and the environment."""
    started = time.monotonic()
    trainer = Trainer(
        options_for(directory, spec, queries, **options), NullSink(), threading.Event(), started
    )
    meter = Meter()
    generate = trainer.policy.generate
    eos = trainer.policy.codec.eos_id

    def counting_generate(ids: torch.Tensor, mask: torch.Tensor, **kw: Any) -> torch.Tensor:
        out = generate(ids, mask, **kw)
        meter.prompt_tokens += int(mask.sum())
        meter.completion_tokens += int(completion_mask(out, eos).sum())
        return out

    trainer.policy.generate = counting_generate  # type: ignore[method-assign]
    make = trainer.environment.make

    def counting_make() -> Environment:
        environment = make()
        step = environment.step

        def counting_step(action: str) -> StepResult:
            result = step(action)
            meter.tool_calls += int(result.info.tool_call)
            return result

        environment.step = counting_step  # type: ignore[method-assign]
        return environment

    trainer.environment = dataclasses.replace(trainer.environment, make=counting_make)
    trainer.start()
    result = run_loop(trainer)
    return result, meter.usage(time.monotonic() - started)


def assert_honest_and_within(
    result: RunResult, true: Usage, prices: Prices, budget: Decimal
) -> None:
    true_cost = price(true, prices).total
    tokens_and_tools = price(dataclasses.replace(true, seconds=Decimal(0)), prices).total
    ledger = result.ledger
    assert ledger.usage.prompt_tokens == true.prompt_tokens
    assert ledger.usage.completion_tokens == true.completion_tokens
    assert ledger.usage.tool_calls == true.tool_calls
    assert ledger.spent >= tokens_and_tools, "the ledger shows less than was spent"
    # Nothing invented either (each charge rounds up to 1e-8 USD).
    assert ledger.spent <= true_cost + Decimal("0.000001")
    assert true_cost <= budget, f"spent {true_cost} USD of a {budget} USD budget"
    assert result.report.cost_usd == ledger.spent


def prices_of(spec: dict[str, Any]) -> Prices:
    return Prices.from_spec(TrainingJobSpec.model_validate(spec).pricing)


def test_a_dearer_iteration_than_estimated_is_stopped_between_two_steps(tmp_path: Path) -> None:
    """12 cheap iterations (3 tool calls each), then one at its worst case (48 calls).

    The pre-flight check (1.5 x the dearest iteration so far) lets the 13th start; only the
    running check inside it can stop it. The old trainer ran it to the end: 0.036 + 0.048
    = 0.084 USD of a 0.0725 budget, and its ledger showed 0.0725 (the clamp hid the rest).
    """
    escalating_env.resets = 0
    pricing = {
        "usdPerToolCall": "0.001",
        "computeUsdPerHour": "0",
        "usdPer1kPromptTokens": "0",
        "usdPer1kCompletionTokens": "0",
    }
    budget = Decimal("0.0725")  # above 1.5 x the worst case of one iteration: the first starts
    spec = make_spec(
        {
            "nIterations": 20,
            "batchSize": 4,
            "nTrajectoriesPerQuery": 4,
            "maxNewTokens": 3,
            "maxStepsPerTrajectory": 3,
            "checkpointInterval": 100,
            "maxBudgetUsd": str(budget),
        },
        pricing=pricing,
    )
    spec["evaluation"] = {"heldOutFraction": 0}  # the budget alone: no held-out set
    spec["environment"] = {"type": "python", "entryPoint": "tests.trainer.escalating_env:make"}
    result, true = metered_run(tmp_path, spec)
    assert result.state is ProgressState.BUDGET_EXHAUSTED
    assert result.report.iteration == 12
    # 12 x 3 calls, then two of the 13th's three steps (16 calls each) before the stop.
    assert true.tool_calls == 12 * 3 + 2 * 16
    assert_honest_and_within(result, true, prices_of(spec), budget)


def test_a_warm_start_dearer_than_the_budget_is_stopped(tmp_path: Path) -> None:
    """Compute priced so that 150 warm-start steps cost far more than the budget.

    The old trainer ran the whole warm start unchecked and charged it after the fact."""
    pricing = {  # 1 cent a second
        "computeUsdPerHour": "36",
        "usdPer1kPromptTokens": "0",
        "usdPer1kCompletionTokens": "0",
    }
    budget = Decimal("0.01")
    spec = make_spec(
        {"nIterations": 5, "maxBudgetUsd": str(budget)},
        policy={"warmStartSteps": 2000},
        pricing=pricing,
    )
    spec["evaluation"] = {"heldOutFraction": 0}  # the budget alone: no held-out set
    result, true = metered_run(tmp_path, spec)
    assert result.state is ProgressState.BUDGET_EXHAUSTED
    assert result.report.iteration == 0
    assert_honest_and_within(result, true, prices_of(spec), budget)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_calculator_runs_stop_within_the_budget(tmp_path: Path, seed: int) -> None:
    """Time, tokens and tool calls all priced; the budget binds after a few iterations."""
    pricing = {
        "computeUsdPerHour": "3.6",
        "usdPer1kPromptTokens": "0.01",
        "usdPer1kCompletionTokens": "0.05",
        "usdPerToolCall": "0.0005",
    }
    budget = Decimal("0.2")
    spec = make_spec(
        {
            "nIterations": 40,
            "batchSize": 4,
            "nTrajectoriesPerQuery": 4,
            "maxNewTokens": 14,
            "maxStepsPerTrajectory": 3,
            "checkpointInterval": 2,
            "maxBudgetUsd": str(budget),
            "seed": seed,
        },
        policy={"warmStartSteps": 40},
        pricing=pricing,
    )
    spec["evaluation"] = {"heldOutFraction": 0}  # the budget alone: no held-out set
    spec["environment"] = {"type": "calculator"}
    result, true = metered_run(tmp_path, spec, multiplication_queries(20))
    assert result.state is ProgressState.BUDGET_EXHAUSTED
    assert 0 < result.report.iteration < 40
    assert_honest_and_within(result, true, prices_of(spec), budget)


def test_an_evaluation_dearer_than_estimated_is_stopped_between_two_steps(
    tmp_path: Path,
) -> None:
    """Iterations at their worst case (48 tool calls); evaluations of 16 queries of their
    own, cheap in the baseline and at iteration 2 (3 calls), then at their worst (48).

    The evaluation's pre-flight check (1.5 x the dearest evaluation so far) lets the one at
    iteration 4 start; only the running check inside it can stop it. Without it the run
    spent 0.198 + 0.048 = 0.246 USD of a 0.23 budget.
    """
    dear_evaluation_env.evaluation_resets = 0
    pricing = {
        "usdPerToolCall": "0.001",
        "computeUsdPerHour": "0",
        "usdPer1kPromptTokens": "0",
        "usdPer1kCompletionTokens": "0",
    }
    budget = Decimal("0.23")
    spec = make_spec(
        {
            "nIterations": 20,
            "batchSize": 4,
            "nTrajectoriesPerQuery": 4,
            "maxNewTokens": 3,
            "maxStepsPerTrajectory": 3,
            "checkpointInterval": 100,
            "maxBudgetUsd": str(budget),
        },
        pricing=pricing,
    )
    spec["evaluation"] = {"queries": {"configMapRef": {"name": "eval-q"}}, "interval": 2}
    spec["environment"] = {
        "type": "python",
        "entryPoint": "tests.trainer.dear_evaluation_env:make",
    }
    eval_file = tmp_path / "eval.jsonl"
    eval_file.write_text(
        "".join(
            json.dumps({"query": f"eval {i}", "expected_outcome": {"answer": "0"}}) + "\n"
            for i in range(16)
        )
    )
    result, true = metered_run(tmp_path, spec, eval_queries_file=eval_file)
    assert result.state is ProgressState.BUDGET_EXHAUSTED
    assert result.report.iteration == 4
    # 4 x 48 training calls, 3 + 3 in the first two evaluations, then two of the third's
    # three steps (16 calls each) before the stop.
    assert true.tool_calls == 4 * 48 + 3 + 3 + 2 * 16
    assert_honest_and_within(result, true, prices_of(spec), budget)
    evaluation = result.report.evaluation
    assert evaluation is not None
    assert evaluation.latest is not None
    assert evaluation.latest.iteration == 2  # the stopped one is not recorded
    assert "the budget stopped the evaluation at iteration 4" in str(evaluation.message)

"""Small real runs in environments: tool calls on the ledger and in the budget check,
the episode metrics, and environment input errors."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest

from agentcore_training.api.contract import ProgressState
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.inputs import prepare_inputs
from agentcore_training.trainer.loop import run_training
from tests.trainer.conftest import make_spec, options_for
from tests.trainer.test_calculator_learning import multiplication_queries

QUERIES = multiplication_queries(20)


def _calculator_spec(**config: object) -> dict[str, object]:
    spec = make_spec(
        {
            "nIterations": 2,
            "batchSize": 4,
            "nTrajectoriesPerQuery": 4,
            "maxNewTokens": 14,
            "maxStepsPerTrajectory": 3,
            **config,
        },
        policy={"warmStartSteps": 150},
        pricing={"usdPerToolCall": "0.001", "computeUsdPerHour": "0"},
    )
    spec["environment"] = {"type": "calculator"}
    return spec


def test_tool_calls_are_priced_on_the_ledger_and_reported(tmp_path: Path) -> None:
    result = run_training(options_for(tmp_path, _calculator_spec(), QUERIES))
    assert result.state is ProgressState.COMPLETED
    ledger = result.ledger
    assert ledger.usage.tool_calls > 0
    assert ledger.tool_calls_usd == ledger.usage.tool_calls * Decimal("0.001")
    assert ledger.to_json()["usage"]["toolCalls"] == ledger.usage.tool_calls
    metrics = result.report.metrics
    assert metrics.tool_calls_per_trajectory is not None
    assert metrics.mean_steps_per_trajectory is not None
    assert metrics.mean_steps_per_trajectory >= 1.0
    assert metrics.tool_error_rate is not None
    assert metrics.frac_truncated is not None
    wire = metrics.to_wire()
    for key in ("meanStepsPerTrajectory", "toolCallsPerTrajectory", "toolErrorRate"):
        assert key in wire
    assert "fracTruncated" in wire


def test_the_budget_check_counts_worst_case_tool_calls(tmp_path: Path) -> None:
    # 4 x 4 trajectories x 3 steps could call the tool 48 times: $4.80 > $1.00.
    spec = _calculator_spec(maxBudgetUsd="1.00")
    spec["policy"] = {"model": "builtin:tiny"}
    spec["pricing"] = {"usdPerToolCall": "0.10", "computeUsdPerHour": "0"}
    result = run_training(options_for(tmp_path, spec, QUERIES))
    assert result.state is ProgressState.BUDGET_EXHAUSTED
    assert result.ledger.iterations_charged == 0


def test_single_turn_reports_one_step_and_no_tool(tmp_path: Path) -> None:
    result = run_training(options_for(tmp_path, make_spec({"nIterations": 1})))
    metrics = result.report.metrics
    assert metrics.mean_steps_per_trajectory == 1.0
    assert metrics.tool_calls_per_trajectory == 0.0
    assert metrics.tool_error_rate == 0.0
    assert metrics.frac_truncated == 0.0
    assert result.ledger.usage.tool_calls == 0


def test_a_python_environment_without_a_format_example_refuses_a_warm_start(
    tmp_path: Path,
) -> None:
    module = ModuleType("plain_env_for_tests")

    class Plain:
        def reset(self, query: object) -> str:
            return "q"

        def step(self, action: str) -> object:
            raise NotImplementedError

    module.Plain = Plain  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    try:
        spec = make_spec(policy={"warmStartSteps": 10})
        spec["environment"] = {"type": "python", "entryPoint": "plain_env_for_tests:Plain"}
        with pytest.raises(BadInputError, match="no format_example"):
            prepare_inputs(options_for(tmp_path, spec))
        spec["environment"] = {"type": "python", "entryPoint": "plain_env_for_tests:Nope"}
        with pytest.raises(BadInputError, match="no callable Nope"):
            prepare_inputs(options_for(tmp_path, spec))
    finally:
        del sys.modules[module.__name__]

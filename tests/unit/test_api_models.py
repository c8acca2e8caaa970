"""The TrainingJob API models: defaults, bounds, aliases, Decimal money, snake_case view."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from agentcore_training.api.money import format_money, parse_money
from agentcore_training.api.plugins import EnvironmentSpec, EnvironmentType
from agentcore_training.api.spec import GRPOConfig, PricingSpec, TrainingJobSpec
from agentcore_training.api.status import Cost, Phase, TrainingJobStatus

SAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "samples"
MINIMAL: dict[str, Any] = {"agentId": "support-bot", "queries": {"configMapRef": {"name": "q"}}}


def test_defaults_of_the_original_contract() -> None:
    config = GRPOConfig()
    assert config.n_iterations == 10
    assert config.batch_size == 16
    assert config.n_trajectories_per_query == 8
    assert config.learning_rate == 1e-4
    assert config.max_budget_usd == Decimal("10.00")
    assert config.checkpoint_interval == 5
    assert config.max_steps_per_trajectory == 20
    assert config.gamma == 0.99


def test_minimal_spec_is_filled_with_defaults() -> None:
    spec = TrainingJobSpec.model_validate(MINIMAL)
    assert spec.config == GRPOConfig()
    assert spec.policy.model == "builtin:tiny"
    assert spec.reward.type == "exact_match"
    assert spec.queries.config_map_ref is not None
    assert spec.queries.config_map_ref.key == "queries.jsonl"
    assert spec.cancel is False
    assert spec.suspend is False


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nIterations", 0),
        ("nIterations", 10001),
        ("batchSize", 0),
        ("batchSize", 129),
        ("nTrajectoriesPerQuery", 0),
        ("nTrajectoriesPerQuery", 17),
        ("learningRate", 0),
        ("learningRate", 1.01),
        ("checkpointInterval", 0),
        ("maxStepsPerTrajectory", 0),
        ("maxStepsPerTrajectory", 101),
        ("gamma", -0.1),
        ("gamma", 1.1),
        ("clipEpsilon", 0),
        ("temperature", 0),
        ("maxNewTokens", 0),
        ("seed", -1),
        ("maxBudgetUsd", "-1"),
        ("maxBudgetUsd", "ten"),
        ("maxBudgetUsd", "1e3"),
        ("maxBudgetUsd", "10.123456789"),
    ],
)
def test_out_of_range_config_is_refused_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        GRPOConfig.model_validate({field: value})
    assert caught.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nIterations", 1),
        ("nIterations", 10000),
        ("learningRate", 1.0),
        ("gamma", 0),
        ("gamma", 1),
        ("maxBudgetUsd", "0"),
        ("maxBudgetUsd", "999999999.99999999"),
    ],
)
def test_bounds_are_inclusive_where_documented(field: str, value: object) -> None:
    GRPOConfig.model_validate({field: value})


def test_camel_and_snake_names_both_validate() -> None:
    camel = GRPOConfig.model_validate({"nIterations": 3, "maxBudgetUsd": "1.50"})
    snake = GRPOConfig.model_validate({"n_iterations": 3, "max_budget_usd": "1.50"})
    assert camel == snake


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="n_iteration"):
        GRPOConfig.model_validate({"n_iteration": 3})


def test_snake_case_view_is_what_json_rpc_speaks() -> None:
    config = GRPOConfig.model_validate({"nIterations": 3, "maxBudgetUsd": "1.50"})
    view = config.to_snake()
    assert view["n_iterations"] == 3
    assert view["max_budget_usd"] == "1.50"
    assert view["n_trajectories_per_query"] == 8
    assert all(key == key.lower() for key in view)


def test_wire_view_is_camel_case_and_round_trips() -> None:
    spec = TrainingJobSpec.model_validate(MINIMAL)
    wire = spec.to_wire()
    assert wire["agentId"] == "support-bot"
    assert wire["config"]["maxBudgetUsd"] == "10.00"
    assert wire["pricing"]["usdPer1kPromptTokens"] == "0.0001"
    assert TrainingJobSpec.model_validate(wire) == spec


def test_money_is_decimal_in_python_and_a_string_on_the_wire() -> None:
    config = GRPOConfig.model_validate({"maxBudgetUsd": "0.10"})
    assert isinstance(config.max_budget_usd, Decimal)
    assert config.max_budget_usd == Decimal("0.10")
    assert config.to_wire()["maxBudgetUsd"] == "0.10"
    # Adding money never drifts the way floats do.
    assert config.max_budget_usd * 3 == Decimal("0.30")


@pytest.mark.parametrize(
    ("given", "expected"),
    [(10, "10"), (0.1, "0.1"), (2.5, "2.5"), ("7.25", "7.25"), (Decimal("1.00"), "1.00")],
)
def test_money_accepts_numbers_from_old_json_rpc_clients(given: object, expected: str) -> None:
    assert format_money(parse_money(given)) == expected


@pytest.mark.parametrize("bad", [True, None, [], "1,000", " ", "+1", "0x10", "01.5", "1."])
def test_malformed_money_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match=r"amount|decimal"):
        parse_money(bad)


def test_prices_default_and_parse_as_decimal() -> None:
    pricing = PricingSpec.model_validate({"usd_per_1k_completion_tokens": "0.002"})
    assert pricing.usd_per_1k_completion_tokens == Decimal("0.002")
    assert pricing.compute_usd_per_hour == Decimal("0.50")


@pytest.mark.parametrize(
    "queries",
    [
        {},
        {"configMapRef": {"name": "a"}, "persistentVolumeClaim": {"claimName": "b", "path": "q"}},
    ],
)
def test_exactly_one_queries_source(queries: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="exactly one of configMapRef"):
        TrainingJobSpec.model_validate({**MINIMAL, "queries": queries})


@pytest.mark.parametrize("agent_id", ["", "-bot", "bot-", "a b", "x" * 64, "bot!"])
def test_agent_id_must_be_label_like(agent_id: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TrainingJobSpec.model_validate({**MINIMAL, "agentId": agent_id})
    assert caught.value.errors()[0]["loc"] == ("agentId",)


def test_missing_agent_id_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        TrainingJobSpec.model_validate({"queries": MINIMAL["queries"]})
    assert caught.value.errors()[0]["loc"] == ("agentId",)
    assert caught.value.errors()[0]["type"] == "missing"


def test_python_reward_needs_an_entry_point_pattern() -> None:
    with pytest.raises(ValidationError):
        TrainingJobSpec.model_validate({**MINIMAL, "reward": {"entryPoint": "not an entry"}})
    spec = TrainingJobSpec.model_validate(
        {**MINIMAL, "reward": {"type": "python", "entryPoint": "my_rewards:score"}}
    )
    assert spec.reward.entry_point == "my_rewards:score"


def test_status_reads_back_what_the_operator_writes() -> None:
    wire = {
        "jobId": "7d0c3a4e-1111-4222-8333-944455556666",
        "phase": "Running",
        "progress": {"currentIteration": 3, "totalIterations": 10, "percentComplete": 30},
        "cost": {"costUsd": "0.25", "budgetUsd": "10.00", "budgetRemainingUsd": "9.75"},
        "conditions": [
            {
                "type": "Running",
                "status": "True",
                "reason": "TrainerStarted",
                "lastTransitionTime": "2026-11-30T10:00:00Z",
            }
        ],
    }
    status = TrainingJobStatus.model_validate(wire)
    assert status.phase is Phase.RUNNING
    assert not status.phase.is_finished
    assert status.cost == Cost(
        cost_usd=Decimal("0.25"), budget_usd=Decimal("10.00"), budget_remaining_usd=Decimal("9.75")
    )
    assert status.to_wire()["cost"]["budgetRemainingUsd"] == "9.75"


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_sample_is_a_valid_spec(sample: Path) -> None:
    for document in yaml.safe_load_all(sample.read_text()):
        if document and document.get("kind") == "TrainingJob":
            TrainingJobSpec.model_validate(document["spec"])


def test_environment_defaults_to_single_turn() -> None:
    spec = TrainingJobSpec.model_validate(MINIMAL)
    assert spec.environment == EnvironmentSpec()
    assert spec.environment.type is EnvironmentType.SINGLE_TURN
    assert spec.environment.entry_point is None
    assert spec.environment.malformed_penalty == 1.0
    assert spec.to_wire()["environment"]["type"] == "single_turn"


def test_calculator_environment_and_its_knobs() -> None:
    spec = TrainingJobSpec.model_validate(
        {
            **MINIMAL,
            "environment": {
                "type": "calculator",
                "malformedPenalty": 0.5,
                "maxToolResultChars": 16,
                "maxExpressionChars": 40,
            },
        }
    )
    assert spec.environment.type is EnvironmentType.CALCULATOR
    assert spec.environment.max_tool_result_chars == 16
    assert spec.environment.to_snake()["max_expression_chars"] == 40


@pytest.mark.parametrize(
    "environment",
    [
        {"type": "chess"},
        {"type": "python"},
        {"type": "python", "entryPoint": "not an entry"},
        {"malformedPenalty": -1},
        {"malformedPenalty": 101},
        {"maxToolResultChars": 3},
        {"maxExpressionChars": 0},
        {"tools": ["calc"]},
    ],
)
def test_bad_environments_are_refused(environment: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        TrainingJobSpec.model_validate({**MINIMAL, "environment": environment})


def test_python_environment_names_an_entry_point() -> None:
    spec = TrainingJobSpec.model_validate(
        {**MINIMAL, "environment": {"type": "python", "entryPoint": "my_envs:make"}}
    )
    assert spec.environment.entry_point == "my_envs:make"


@pytest.mark.parametrize("section", ["reward", "environment"])
def test_a_python_plugin_needs_its_entry_point(section: str) -> None:
    with pytest.raises(ValidationError, match="entryPoint is required when type is python"):
        TrainingJobSpec.model_validate({**MINIMAL, section: {"type": "python"}})

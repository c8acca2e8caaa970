"""training.evaluate's result and get_status's evaluation section, from status.evaluation as
the trainer's evaluation book reports it and the operator writes it."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from agentcore_training.api.evaluation import EvaluationMetrics
from agentcore_training.api.evaluation_spec import EvaluationMetric
from agentcore_training.rpc import errors, openrpc, params, results
from agentcore_training.rpc.errors import RpcError
from agentcore_training.rpc.protocol import dumps
from agentcore_training.trainer.evaluation_book import EvaluationBook, Scores
from tests.unit.test_rpc_methods import UID, trainingjob

HELD_OUT = 30


def _book() -> EvaluationBook:
    """Evaluations at 0 (the baseline), 10 (the best), 20 (on the curve only), 30 (latest)."""
    book = EvaluationBook(
        metric=EvaluationMetric.SUCCESS_RATE, held_out_queries=HELD_OUT, binary=True
    )
    for iteration, hits, ms, usd in (
        (0, 3, 40, "0.001"),
        (10, 27, 41, "0.002"),
        (20, 15, 42, "0.003"),
        (30, 20, 43, "0.004"),
    ):
        success = [1.0] * hits + [0.0] * (HELD_OUT - hits)
        rate = hits / HELD_OUT
        book.add(
            iteration=iteration,
            checkpoint_id=f"ckpt-{iteration:06d}",
            metrics=EvaluationMetrics(
                success_rate=rate, mean_reward=rate, mean_steps=1.0, tool_calls_per_trajectory=0
            ),
            scores=Scores(success, success),
            duration_ms=ms,
            cost_usd=Decimal(usd),
        )
    return book


def _job(**status: Any) -> Any:
    return trainingjob(phase="Completed", evaluation=_book().status().to_wire(), **status)


def wire(result: Any) -> Any:
    return json.loads(dumps(result.to_json()))


def test_the_latest_evaluation_by_default_with_the_original_names() -> None:
    result = wire(results.evaluation_result(_job(), None))
    comparison = result.pop("baseline_comparison")
    assert result == {
        "success": True,
        "job_id": UID,
        "checkpoint_id": "ckpt-000030",
        "iteration": 30,
        "metrics": {
            "success_rate": pytest.approx(20 / 30),
            "mean_reward": pytest.approx(20 / 30),
            "mean_steps": 1.0,
            "tool_calls_per_trajectory": 0.0,
            "tool_accuracy": None,
        },
        "queries_evaluated": HELD_OUT,
        "evaluation_duration_ms": 43,
        "cost_usd": 0.004,
        "best": False,
        "baseline_metrics": {
            "success_rate": pytest.approx(0.1),
            "mean_reward": pytest.approx(0.1),
            "mean_steps": 1.0,
            "tool_calls_per_trajectory": 0.0,
            "tool_accuracy": None,
        },
        "metric": "success_rate",
        "status": "completed",
        "namespace": "team-a",
        "name": "support-bot-abcde",
    }
    assert comparison["success_rate_improvement"] == pytest.approx(17 / 30)
    assert comparison["avg_reward_improvement"] == pytest.approx(17 / 30)
    # 17 queries went 0 -> 1 and none 1 -> 0: exact McNemar, two-sided, 2 * 0.5**17.
    assert comparison["p_value"] == pytest.approx(2 * 0.5**17)
    assert comparison["success_p_value"] == comparison["p_value"]
    assert comparison["statistically_significant"] is True
    assert b'"cost_usd":0.004,' in dumps(results.evaluation_result(_job(), None).to_json())


def test_one_checkpoint_the_best_the_baseline_and_one_only_on_the_curve() -> None:
    best = wire(results.evaluation_result(_job(), "ckpt-000010"))
    assert (best["iteration"], best["best"], best["evaluation_duration_ms"]) == (10, True, 41)
    assert best["metrics"]["success_rate"] == pytest.approx(0.9)
    baseline = wire(results.evaluation_result(_job(), "ckpt-000000"))
    assert baseline["baseline_comparison"] is None
    assert (baseline["iteration"], baseline["metrics"]["success_rate"]) == (0, pytest.approx(0.1))
    curve = wire(results.evaluation_result(_job(), "ckpt-000020"))
    assert curve["metrics"] == {
        "success_rate": pytest.approx(0.5),
        "mean_reward": pytest.approx(0.5),
        "mean_steps": None,
        "tool_calls_per_trajectory": None,
        "tool_accuracy": None,
    }
    assert curve["baseline_comparison"] == {
        "success_rate_improvement": pytest.approx(0.4),
        "avg_reward_improvement": pytest.approx(0.4),
        "p_value": None,
        "statistically_significant": None,
        "success_p_value": None,
        "reward_p_value": None,
    }
    assert (curve["queries_evaluated"], curve["evaluation_duration_ms"]) == (HELD_OUT, None)


def _refusal(job: Any, checkpoint: str | None) -> RpcError:
    with pytest.raises(RpcError) as caught:
        results.evaluation_result(job, checkpoint)
    return caught.value


def test_an_unknown_checkpoint_names_the_evaluated_ones() -> None:
    refusal = _refusal(_job(), "ckpt-000005")
    assert refusal.code == errors.CHECKPOINT_NOT_FOUND == -32007
    assert refusal.data == {
        "checkpoint_id": "ckpt-000005",
        "checkpoint_ids": ["ckpt-000000", "ckpt-000010", "ckpt-000020", "ckpt-000030"],
    }
    assert refusal.message.startswith("Checkpoint ckpt-000005 of job ")


def test_no_evaluation_yet_or_off_is_its_own_error() -> None:
    queued = _refusal(trainingjob(), None)
    assert queued.code == errors.NOT_EVALUATED == -32006
    assert queued.data == {"status": "queued", "message": None}
    assert "baseline evaluation comes before the first iteration" in queued.message
    off = "evaluation is off: spec.evaluation.heldOutFraction holds out no query"
    running = trainingjob(phase="Running", evaluation={"message": off})
    refusal = _refusal(running, "ckpt-000010")
    assert refusal.code == errors.NOT_EVALUATED
    assert refusal.data == {"status": "running", "message": off}
    assert refusal.message.endswith(off)


def test_params_and_the_method_in_openrpc() -> None:
    parsed = params.parse_evaluate({"job_id": UID.upper()})
    assert (parsed.job_id, parsed.checkpoint_id) == (UID, None)
    with pytest.raises(RpcError, match="Invalid job_id format: x"):
        params.parse_evaluate({"job_id": "x"})
    with pytest.raises(RpcError, match="Parameter required: job_id"):
        params.parse_evaluate({})
    with pytest.raises(RpcError, match="Invalid checkpoint_id"):
        params.parse_evaluate({"job_id": UID, "checkpoint_id": ""})
    doc = openrpc.document()
    [method] = [m for m in doc["methods"] if m["name"] == "training.evaluate"]
    assert [p["name"] for p in method["params"]] == ["job_id", "checkpoint_id", "namespace"]
    assert {e["code"] for e in method["errors"]} >= {-32001, -32006, -32007}
    schema = doc["components"]["schemas"]["EvaluateResult"]
    assert {
        "metrics",
        "baseline_comparison",
        "queries_evaluated",
        "evaluation_duration_ms",
    } <= set(schema["properties"])
    assert schema["properties"]["cost_usd"]["anyOf"][0]["type"] == "number"
    status = doc["components"]["schemas"]["GetStatusResult"]["properties"]
    assert "evaluation" in status


def test_get_status_has_the_evaluation_section_in_snake_case() -> None:
    result = wire(results.status_result(_job()))
    evaluation = result["evaluation"]
    assert evaluation["held_out_queries"] == HELD_OUT
    assert evaluation["best"]["checkpoint_id"] == "ckpt-000010"
    assert evaluation["baseline"]["metrics"]["success_rate"] == pytest.approx(0.1)
    assert evaluation["latest"]["comparison"]["statistically_significant"] is True
    assert evaluation["history"]["iterations"] == [0, 10, 20, 30]
    assert evaluation["cost_usd"] == 0.01
    assert wire(results.status_result(trainingjob()))["evaluation"] is None

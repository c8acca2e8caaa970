"""Admission checks that need a lookup (pure: the ConfigMap is passed in)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from agentcore_training.api.spec import TrainingJobSpec
from agentcore_training.webhook.admission import (
    Denial,
    admission_warnings,
    check_evaluation_queries,
    check_policy,
    check_queries,
    parse_spec,
    review_response,
)
from agentcore_training.webhook.configuration import WEBHOOK_PATH, build_webhook_configuration


def _lines(count: int, outcome: dict[str, Any] | None = None) -> str:
    return "".join(
        json.dumps({"query": f"{i}+1=", "expected_outcome": outcome or {"answer": str(i + 1)}})
        + "\n"
        for i in range(count)
    )


def _spec(**fields: Any) -> TrainingJobSpec:
    return TrainingJobSpec.model_validate(
        {"agentId": "a", "queries": {"configMapRef": {"name": "q"}}, **fields}
    )


def _check(data: dict[str, str] | None, **fields: Any) -> Denial | None:
    configmap = None if data is None else {"data": data}
    return check_queries(_spec(**fields), "team-a", configmap, min_queries=100)


def test_125_queries_are_admitted_with_the_default_split() -> None:
    # 20 % of 125 is 25 held out: 100 are left to train on.
    assert _check({"queries.jsonl": _lines(125)}) is None


def test_100_queries_are_refused_with_the_default_split_saying_how_many() -> None:
    denial = _check({"queries.jsonl": _lines(100)})
    assert denial is not None
    assert denial.field == "spec.queries.configMapRef"
    assert denial.message.startswith(
        'ConfigMap "q" key "queries.jsonl" holds 100 queries; holding out 20 for evaluation '
        "(spec.evaluation.heldOutFraction 0.2) leaves 80 training queries, and at least 100 "
        "are required: give 124 queries or more"
    )


@pytest.mark.parametrize(
    ("count", "evaluation"),
    [
        (100, {"heldOutFraction": 0}),
        (100, {"queries": {"configMapRef": {"name": "held-out"}}}),
        (124, {}),  # floor(24.8) = 24 held out, 100 left
        (112, {"heldOutFraction": 0.1}),
    ],
)
def test_100_training_queries_after_the_split_are_enough(
    count: int, evaluation: dict[str, Any]
) -> None:
    assert _check({"queries.jsonl": _lines(count)}, evaluation=evaluation) is None


def test_one_training_query_short_after_the_split_is_refused() -> None:
    denial = _check({"queries.jsonl": _lines(110)}, evaluation={"heldOutFraction": 0.1})
    assert denial is not None
    assert "holding out 11 for evaluation" in denial.message
    assert "leaves 99 training queries" in denial.message
    assert "give 111 queries or more" in denial.message


def test_a_json_list_is_admitted_too() -> None:
    items = [json.loads(line) for line in _lines(125).splitlines()]
    assert _check({"queries.jsonl": json.dumps(items)}) is None


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        (None, "spec.queries.configMapRef", 'ConfigMap "q" not found in namespace "team-a"'),
        ({"other": "x"}, "spec.queries.configMapRef.key", 'has no key "queries.jsonl"'),
        ({"queries.jsonl": _lines(99)}, "spec.queries.configMapRef", "holds 99 queries"),
        ({"queries.jsonl": _lines(100) + "{oops\n"}, "spec.queries.configMapRef", "line 101"),
        (
            {"queries.jsonl": _lines(99) + '{"query": "x"}\n'},
            "spec.queries.configMapRef",
            "expected_outcome",
        ),
        (
            {"queries.jsonl": _lines(125, {"result": "1"})},
            "spec.reward",
            "answer",
        ),
    ],
)
def test_bad_queries_are_denied_naming_the_field(
    data: dict[str, str] | None, field: str, fragment: str
) -> None:
    denial = _check(data)
    assert denial is not None
    assert denial.field == field
    assert fragment in str(denial)


def test_numeric_reward_needs_numbers() -> None:
    denial = _check({"queries.jsonl": _lines(125, {"answer": "seven"})}, reward={"type": "numeric"})
    assert denial is not None
    assert denial.field == "spec.reward"


def test_unknown_builtin_policy_is_denied() -> None:
    denial = check_policy(_spec(policy={"model": "builtin:huge"}))
    assert denial is not None
    assert "builtin:tiny" in denial.message
    assert check_policy(_spec(policy={"model": "hf:/models/x"})) is None


def test_pvc_queries_are_left_to_the_trainer() -> None:
    spec = _spec(queries={"persistentVolumeClaim": {"claimName": "d", "path": "q.jsonl"}})
    assert check_queries(spec, "ns", None, min_queries=100) is None


def test_parse_spec_names_the_field() -> None:
    denial = parse_spec({"spec": {"agentId": "a", "queries": {}}})
    assert isinstance(denial, Denial)
    assert denial.field.startswith("spec.queries")


def test_review_response_shape() -> None:
    allowed = review_response("u1", None)
    assert allowed["response"] == {"uid": "u1", "allowed": True}
    denied = review_response("u2", Denial("spec.x", "no"))
    assert denied["response"]["allowed"] is False
    assert denied["response"]["status"]["message"] == "spec.x: no"


def test_review_response_carries_warnings() -> None:
    answer = review_response("u3", None, ["careful"])
    assert answer["response"] == {"uid": "u3", "allowed": True, "warnings": ["careful"]}


@pytest.mark.parametrize(
    ("policy", "learning_rate", "warned"),
    [
        ({"model": "hf:/models/smollm2"}, 1e-3, True),  # the tiny model's rate, full FT
        ({"model": "hf:/models/smollm2"}, 1e-4, False),  # at the limit
        ({"model": "hf:/models/smollm2"}, 2e-5, False),
        ({"model": "hf:/models/smollm2", "lora": {}}, 5e-4, False),  # LoRA tolerates more
        ({"model": "hf:/models/smollm2", "lora": {"rank": 8}}, 2e-3, True),
        ({"model": "builtin:tiny"}, 1e-2, False),  # random init: no pretrained weights to wreck
    ],
)
def test_a_learning_rate_too_high_for_a_pretrained_model_is_a_warning(
    policy: dict[str, Any], learning_rate: float, warned: bool
) -> None:
    spec = _spec(policy=policy, config={"learningRate": learning_rate})
    warnings = admission_warnings(spec)
    assert bool(warnings) is warned
    if warned:
        assert warnings[0].startswith(f"spec.config.learningRate {learning_rate:g} is above")
    assert check_policy(spec) is None  # a warning, never a denial


@pytest.mark.parametrize(
    ("policy", "merge", "warned"),
    [
        ({"model": "hf:/models/smollm2"}, True, True),  # full fine-tuning: nothing to merge
        ({"model": "hf:/models/smollm2", "lora": {}}, True, False),
        ({"model": "hf:/models/smollm2"}, False, False),
    ],
)
def test_output_merge_without_lora_is_a_warning(
    policy: dict[str, Any], merge: bool, warned: bool
) -> None:
    output = {"claimName": "models", "path": "bot/v1", "merge": merge}
    spec = _spec(policy=policy, config={"learningRate": 1e-5}, output=output)
    warnings = admission_warnings(spec)
    assert any("spec.output.merge" in w for w in warnings) is warned


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ({"model": "builtin:tiny", "lora": {}}, "policy.lora needs an hf: policy"),
        ({"model": "builtin:tiny", "chatTemplate": "on"}, "has no chat template"),
        ({"model": "builtin:tiny", "systemPrompt": "Be brief."}, "needs a chat template"),
        (
            {"model": "hf:/m", "lora": {}, "warmStartSteps": 5},
            "policy.warmStartSteps needs full fine-tuning",
        ),
    ],
)
def test_policy_fields_that_cannot_work_together_are_denied(
    policy: dict[str, Any], expected: str
) -> None:
    denial = check_policy(_spec(policy=policy))
    assert denial is not None
    assert denial.field == "spec.policy"
    assert expected in denial.message


def test_lora_defaults_adapt_every_linear_layer() -> None:
    lora = _spec(policy={"model": "hf:/m", "lora": {}}).policy.lora
    assert lora is not None
    assert (lora.rank, lora.alpha, lora.dropout) == (16, 32.0, 0.0)
    assert lora.target_modules == ["all-linear"]


def test_webhook_configuration_url_and_service() -> None:
    by_url = build_webhook_configuration("w", "PEM", url="https://127.0.0.1:8443/")
    hook = by_url["webhooks"][0]
    assert hook["clientConfig"]["url"] == "https://127.0.0.1:8443" + WEBHOOK_PATH
    assert base64.b64decode(hook["clientConfig"]["caBundle"]) == b"PEM"
    assert hook["failurePolicy"] == "Fail"
    assert hook["rules"][0]["operations"] == ["CREATE"]
    by_service = build_webhook_configuration("w", "PEM", service=("sys", "op", 8443))
    assert by_service["webhooks"][0]["clientConfig"]["service"] == {
        "namespace": "sys",
        "name": "op",
        "port": 8443,
        "path": WEBHOOK_PATH,
    }
    with pytest.raises(ValueError, match="exactly one"):
        build_webhook_configuration("w", "PEM")


def _eval_check(data: dict[str, str] | None, **evaluation: Any) -> Denial | None:
    spec = _spec(evaluation={"queries": {"configMapRef": {"name": "eval-q"}}, **evaluation})
    return check_evaluation_queries(spec, "team-a", None if data is None else {"data": data})


def test_evaluation_queries_in_a_configmap_are_checked_like_the_training_ones() -> None:
    assert _eval_check({"queries.jsonl": _lines(20)}) is None  # any number from 1
    missing = _eval_check(None)
    assert missing is not None
    assert str(missing) == (
        'spec.evaluation.queries.configMapRef: ConfigMap "eval-q" not found in namespace "team-a"'
    )
    no_key = _eval_check({"other": _lines(3)})
    assert no_key is not None
    assert no_key.field == "spec.evaluation.queries.configMapRef.key"
    bad = _eval_check({"queries.jsonl": "not json\n"})
    assert bad is not None
    assert bad.field == "spec.evaluation.queries.configMapRef"
    assert "line 1 is not valid JSON" in bad.message
    unscorable = _eval_check({"queries.jsonl": _lines(3, {"result": "x"})})
    assert unscorable is not None
    assert unscorable.field == "spec.reward"
    assert unscorable.message.startswith("the evaluation queries: ")
    # Without evaluation queries of their own, or on a PVC: nothing to look up here.
    assert check_evaluation_queries(_spec(), "team-a", None) is None
    on_pvc = _spec(
        evaluation={"queries": {"persistentVolumeClaim": {"claimName": "d", "path": "e.jsonl"}}}
    )
    assert check_evaluation_queries(on_pvc, "team-a", None) is None


def test_with_evaluation_queries_100_training_queries_are_enough() -> None:
    # No split: every training query is trained on.
    assert (
        _check(
            {"queries.jsonl": _lines(100)},
            evaluation={"queries": {"configMapRef": {"name": "eval-q"}}},
        )
        is None
    )

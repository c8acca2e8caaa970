"""The methods' pure parts: parameter checks (with the original messages), manifests,
results read from TrainingJob dicts, the OpenRPC document, the store and the TTL cache."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from agentcore_training import labels
from agentcore_training.api.resource import TrainingJob
from agentcore_training.rpc import errors, manifests, openrpc, params, results
from agentcore_training.rpc.errors import RpcError
from agentcore_training.rpc.identity import Principal, map_claims
from agentcore_training.rpc.protocol import Method, by_name, dumps
from agentcore_training.rpc.ratelimit import RateLimiter
from agentcore_training.rpc.schemas import ListJobsResult
from agentcore_training.rpc.settings import ShimSettings
from agentcore_training.rpc.store import JobStore, from_api
from agentcore_training.ttlcache import TTLCache

UID = "7d0c9a52-1f3e-4b8e-9a51-0c2d7e6f8a90"


def queries(n: int = 100) -> list[dict[str, Any]]:
    return [
        {"query": f"what is {i}+1?", "expected_outcome": {"answer": str(i + 1)}} for i in range(n)
    ]


def rpc_error(call: Any, *args: Any) -> RpcError:
    with pytest.raises(RpcError) as caught:
        call(*args)
    return caught.value


def trainingjob(metadata: dict[str, Any] | None = None, **status: Any) -> TrainingJob:
    """The model of a TrainingJob as the apiserver returns it, with `status`."""
    return from_api(raw(metadata, **status))


def raw(metadata: dict[str, Any] | None = None, **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "training.agentcore.dev/v1alpha1",
        "kind": "TrainingJob",
        "metadata": {
            "name": "support-bot-abcde",
            "namespace": "team-a",
            "uid": UID,
            "resourceVersion": "42",
            "creationTimestamp": "2026-11-30T10:00:00Z",
            "managedFields": [{"manager": "x"}],
            **(metadata or {}),
        },
        "spec": {
            "agentId": "support-bot",
            "queries": {"configMapRef": {"name": "q", "key": "queries.jsonl"}},
            "config": {"nIterations": 20, "maxBudgetUsd": "2.50", "checkpointInterval": 5},
        },
        **({"status": status} if status else {}),
    }


# --- params ----------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["agent_id", "training_queries"])
def test_missing_start_params_keep_the_original_message(missing: str) -> None:
    given = {"agent_id": "bot", "training_queries": queries()}
    del given[missing]
    error = rpc_error(params.parse_start_grpo, given)
    assert error.code == -32602
    assert error.message.startswith(f"Missing required parameter: {missing}")


def test_null_counts_as_missing() -> None:
    error = rpc_error(params.parse_start_grpo, {"agent_id": None, "training_queries": queries()})
    assert error.message == "Missing required parameter: agent_id"


@pytest.mark.parametrize("count", [0, 1, 99])
def test_too_few_queries(count: int) -> None:
    error = rpc_error(
        params.parse_start_grpo, {"agent_id": "bot", "training_queries": queries(count)}
    )
    assert error.code == -32602
    assert error.message.startswith(
        f"training_queries must contain at least 100 queries, got {count}"
    )


def test_training_data_is_an_alias() -> None:
    parsed = params.parse_start_grpo({"agent_id": "bot", "training_data": queries(100)})
    assert len(parsed.training_queries) == 100
    error = rpc_error(
        params.parse_start_grpo,
        {"agent_id": "bot", "training_data": queries(), "training_queries": queries()},
    )
    assert "not both" in error.message


def test_config_defaults_and_snake_case_fields() -> None:
    parsed = params.parse_start_grpo({"agent_id": "bot", "training_queries": queries()})
    assert parsed.config is None
    parsed = params.parse_start_grpo(
        {
            "agent_id": "bot",
            "training_queries": queries(),
            "config": {"n_iterations": 3, "max_budget_usd": "1.25", "learning_rate": 0.01},
        }
    )
    assert parsed.config is not None
    assert parsed.config.n_iterations == 3


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"n_iterations": 0}, "config.n_iterations"),
        ({"n_iterations": 10001}, "config.n_iterations"),
        ({"batch_size": 129}, "config.batch_size"),
        ({"learning_rate": 0}, "config.learning_rate"),
        ({"max_budget_usd": "-1"}, "config.max_budget_usd"),
        ({"max_budget_usd": "ten"}, "config.max_budget_usd"),
        ({"gamma": 1.5}, "config.gamma"),
        ({"checkpoint_interval": 0}, "config.checkpoint_interval"),
        ({"nIterations": 0}, "config.n_iterations"),
        ({"no_such_knob": 1}, "config.no_such_knob"),
    ],
)
def test_out_of_range_config_names_the_field(config: dict[str, Any], field: str) -> None:
    error = rpc_error(
        params.parse_start_grpo,
        {"agent_id": "bot", "training_queries": queries(), "config": config},
    )
    assert error.code == -32602
    assert field in error.message


@pytest.mark.parametrize(
    ("given", "needle"),
    [
        ({"agent_id": "-bad-", "training_queries": queries()}, "agent_id"),
        ({"agent_id": "x" * 64, "training_queries": queries()}, "agent_id"),
        ({"agent_id": "bot", "training_queries": "many"}, "training_queries must be a list"),
        (
            {"agent_id": "bot", "training_queries": [*queries(99), {"query": "q"}]},
            "expected_outcome",
        ),
        (
            {
                "agent_id": "bot",
                "training_queries": [*queries(99), {"query": "", "expected_outcome": {}}],
            },
            "query",
        ),
        ({"agent_id": "bot", "training_queries": [*queries(99), "q"]}, "training_queries[99]"),
        ({"agent_id": "bot", "training_queries": queries(), "namespace": "Team_A"}, "namespace"),
        (
            {"agent_id": "bot", "training_queries": queries(), "colour": "red"},
            "Unknown parameter: colour",
        ),
    ],
)
def test_other_bad_start_params(given: dict[str, Any], needle: str) -> None:
    error = rpc_error(params.parse_start_grpo, given)
    assert error.code == -32602
    assert needle in error.message


@pytest.mark.parametrize("value", ["nope", "123", "", 42, ["x"], UID + "0", UID.replace("-", "")])
def test_invalid_job_ids(value: Any) -> None:
    error = rpc_error(params.parse_job_ref, {"job_id": value})
    assert error.code == -32602
    assert error.message.startswith(f"Invalid job_id format: {value}")


def test_job_id_missing_and_normalised() -> None:
    assert rpc_error(params.parse_job_ref, {}).message == "Parameter required: job_id"
    assert (
        rpc_error(params.parse_job_ref, {"namespace": "a"}).message
        == "Missing required parameter: job_id"
    )
    assert params.parse_job_ref({"job_id": UID.upper()}).job_id == UID


def test_list_jobs_params() -> None:
    assert params.parse_list_jobs({}).agent_id is None
    assert params.parse_list_jobs({"agent_id": "bot"}).agent_id == "bot"
    assert rpc_error(params.parse_list_jobs, {"agent": "bot"}).code == -32602


# --- manifests -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agent", "name"),
    [
        ("support-bot", "support-bot-abcde"),
        ("Smoke_Bot.v2", "smoke-bot-v2-abcde"),
        ("___", "job-abcde"),
    ],
)
def test_job_names_are_dns_labels(agent: str, name: str) -> None:
    assert manifests.job_name(agent, "abcde") == name
    assert len(manifests.job_name("a" * 63, "abcde")) <= 63


@pytest.mark.parametrize(
    ("count", "evaluation", "written"),
    [
        (124, None, None),  # 24 held out, 100 to train on: the CRD's default applies
        (123, None, {"heldOutFraction": 0}),
        (100, {"interval": 2}, {"interval": 2}),  # the caller's section is kept as given
        (200, {"held_out_fraction": 0.5}, {"heldOutFraction": 0.5}),
    ],
)
def test_start_grpo_keeps_the_default_split_only_when_it_leaves_100(
    count: int, evaluation: dict[str, Any] | None, written: dict[str, Any] | None
) -> None:
    call: dict[str, Any] = {"agent_id": "bot", "training_queries": queries(count)}
    if evaluation is not None:
        call["evaluation"] = evaluation
    tj = manifests.trainingjob_manifest("bot-x", "ns", params.parse_start_grpo(call), "alice")
    assert tj["spec"].get("evaluation") == written


def test_manifests() -> None:
    parsed = params.parse_start_grpo(
        {"agent_id": "bot", "training_queries": queries(), "config": {"n_iterations": 3}}
    )
    jsonl = manifests.queries_jsonl(parsed)
    lines = jsonl.splitlines()
    assert len(lines) == 100
    assert json.loads(lines[0]) == {"query": "what is 0+1?", "expected_outcome": {"answer": "1"}}
    configmap = manifests.queries_configmap("bot-x", "ns", "bot", jsonl)
    assert configmap["immutable"] is True
    assert configmap["metadata"]["name"] == "bot-x-queries"
    assert configmap["metadata"]["labels"][labels.AGENT_ID] == "bot"
    assert configmap["data"] == {"queries.jsonl": jsonl}
    tj = manifests.trainingjob_manifest("bot-x", "ns", parsed, "alice")
    # 100 queries: the default 20 % split would leave 80 to train on, which admission
    # refuses, so the original 100-query call runs without a held-out set, said explicitly.
    assert tj["spec"] == {
        "agentId": "bot",
        "queries": {"configMapRef": {"name": "bot-x-queries", "key": "queries.jsonl"}},
        "config": {"nIterations": 3},
        "reward": {"field": "answer"},  # picked from the queries: the resource stays explicit
        "evaluation": {"heldOutFraction": 0},
    }
    assert tj["metadata"]["labels"][labels.AGENT_ID] == "bot"
    defaults = params.parse_start_grpo({"agent_id": "bot", "training_queries": queries()})
    assert "config" not in manifests.trainingjob_manifest("bot-x", "ns", defaults, "alice")["spec"]
    owner = manifests.owner_patch(trainingjob())["metadata"]["ownerReferences"][0]
    assert owner == {
        "apiVersion": "training.agentcore.dev/v1alpha1",
        "kind": "TrainingJob",
        "name": "support-bot-abcde",
        "uid": UID,
    }


def test_queries_over_one_mebibyte_are_refused_clearly() -> None:
    big = [{"query": "x" * 11000, "expected_outcome": {"answer": "y"}} for _ in range(100)]
    parsed = params.parse_start_grpo({"agent_id": "bot", "training_queries": big})
    error = rpc_error(manifests.queries_jsonl, parsed)
    assert error.code == -32602
    assert "too large" in error.message
    assert "1 MiB" in error.message


# --- results ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phase", "status"),
    [
        (None, "queued"),
        ("Queued", "queued"),
        ("Running", "running"),
        ("Completed", "completed"),
        ("Failed", "failed"),
        ("Cancelled", "cancelled"),
    ],
)
def test_status_is_the_lower_case_phase(phase: str | None, status: str) -> None:
    tj = trainingjob(phase=phase) if phase else trainingjob()
    assert results.status_of(tj) == status


def test_a_phase_the_models_do_not_know_is_refused() -> None:
    # The CRD's enum keeps it out of the apiserver; the watch cache leaves such objects out.
    with pytest.raises(ValidationError, match="phase"):
        trainingjob(phase="Weird")


def wire(result: Any) -> Any:
    """A result as a client reads it: the JSON the dispatcher writes, parsed."""
    return json.loads(dumps(result.to_json()))


def test_results_before_the_operator_reports() -> None:
    tj = trainingjob()
    assert wire(results.start_result(tj)) == {
        "success": True,
        "job_id": UID,
        "agent_id": "support-bot",
        "status": "queued",
        "total_iterations": 20,
        "budget_usd": 2.5,
        "created_at": "2026-11-30T10:00:00Z",
        "namespace": "team-a",
        "name": "support-bot-abcde",
        "warnings": [],
    }
    assert wire(results.start_result(tj, ["w"]))["warnings"] == ["w"]
    assert b'"budget_usd":2.50,' in dumps(results.start_result(tj).to_json())
    status = wire(results.status_result(tj))
    assert status["progress"] == {
        "current_iteration": 0,
        "total_iterations": 20,
        "percent_complete": 0,
    }
    assert status["cost"] == {
        "cost_usd": 0,
        "budget_usd": 2.5,
        "budget_remaining_usd": 2.5,
        "budget_status": "ok",
    }
    assert status["metrics"] == {}
    assert status["best_checkpoint_id"] is None
    assert status["history"] == {"iterations": [], "avg_reward": []}
    assert status["success"] is True


def test_status_result_of_a_running_job() -> None:
    tj = trainingjob(
        phase="Running",
        progress={"currentIteration": 5, "totalIterations": 20, "percentComplete": 25},
        metrics={"avgReward": 0.5, "clipRatio": 0.1, "tokens": 1200},
        cost={"costUsd": "0.40", "budgetUsd": "2.50", "budgetRemainingUsd": "2.10"},
        history={"iterations": [1, 2], "avgReward": [0.1, 0.3]},
        bestCheckpointId="ckpt-5",
    )
    result = wire(results.status_result(tj))
    assert set(result) >= {
        "success",
        "job_id",
        "agent_id",
        "status",
        "progress",
        "metrics",
        "cost",
        "best_checkpoint_id",
    }
    assert result["status"] == "running"
    assert result["progress"]["percent_complete"] == 25
    assert result["metrics"] == {"avg_reward": 0.5, "clip_ratio": 0.1, "tokens": 1200}
    assert result["cost"] == {
        "cost_usd": 0.4,
        "budget_usd": 2.5,
        "budget_remaining_usd": 2.1,
        "budget_status": "ok",
    }
    exact = dumps(results.status_result(tj).to_json())
    assert b'"cost_usd":0.40,"budget_usd":2.50,"budget_remaining_usd":2.10' in exact
    assert result["history"] == {"iterations": [1, 2], "avg_reward": [0.1, 0.3]}
    assert result["best_checkpoint_id"] == "ckpt-5"


def test_list_and_cancel_results() -> None:
    first = trainingjob()
    second = trainingjob(
        {"uid": "u2", "creationTimestamp": "2026-11-29T00:00:00Z"},
        phase="Running",
        progress={"currentIteration": 2},
    )
    listed = list_result(first, second)
    assert (listed["count"], listed["total_count"]) == (2, 2)
    assert listed["success"] is True
    assert [job["job_id"] for job in listed["jobs"]] == ["u2", UID]
    assert listed["jobs"][0] | {} == {
        "job_id": "u2",
        "agent_id": "support-bot",
        "status": "running",
        "current_iteration": 2,
        "total_iterations": 20,
        "namespace": "team-a",
        "name": "support-bot-abcde",
        "created_at": "2026-11-29T00:00:00Z",
    }
    now = datetime(2026, 11, 30, 11, 0, 0, tzinfo=UTC)
    cancelled = results.cancel_result(trainingjob(), now).to_json()
    assert cancelled == {
        "success": True,
        "job_id": UID,
        "status": "cancelled",
        "cancelled_at": "2026-11-30T11:00:00Z",
        "namespace": "team-a",
        "name": "support-bot-abcde",
    }
    set_by_operator = trainingjob(cancelledAt="2026-11-30T10:30:00Z")
    assert results.cancel_result(set_by_operator, now).cancelled_at == "2026-11-30T10:30:00Z"


@pytest.mark.parametrize("phase", ["Completed", "Failed", "Cancelled"])
def test_finished_jobs_cannot_be_cancelled(phase: str) -> None:
    error = rpc_error(results.check_cancellable, trainingjob(phase=phase))
    assert error.code == errors.JOB_ALREADY_FINISHED
    results.check_cancellable(trainingjob(phase="Running"))


def test_application_codes_are_in_the_reserved_range_and_documented() -> None:
    for code in (
        errors.JOB_NOT_FOUND,
        errors.JOB_ALREADY_FINISHED,
        errors.FORBIDDEN,
        errors.UNAVAILABLE,
    ):
        assert -32099 <= code <= -32000
        assert code in errors.CODES
    assert errors.JOB_NOT_FOUND == -32001
    assert errors.job_not_found(UID).message == f"Job {UID} not found"


# --- OpenRPC -------------------------------------------------------------------------------


def test_openrpc_document() -> None:
    doc = openrpc.document()
    assert doc["openrpc"].startswith("1.")
    by_name = {method["name"]: method for method in doc["methods"]}
    assert set(by_name) == {
        "training.start_grpo",
        "training.get_status",
        "training.cancel",
        "training.list_jobs",
        "training.evaluate",
        "rpc.discover",
    }
    start = by_name["training.start_grpo"]
    assert [p["name"] for p in start["params"]] == [
        "agent_id",
        "training_queries",
        "config",
        "namespace",
        "policy",
        "reward",
        "pricing",
        "environment",
        "evaluation",
        "output",
    ]
    assert [p["required"] for p in start["params"]] == [True, True] + [False] * 8
    assert start["params"][1]["schema"]["minItems"] == 100
    schemas = doc["components"]["schemas"]
    assert "n_iterations" in schemas["GRPOConfig"]["properties"]
    status = schemas["GetStatusResult"]
    assert {"progress", "metrics", "cost", "best_checkpoint_id", "history"} <= set(
        status["properties"]
    )
    assert {e["code"] for e in by_name["training.cancel"]["errors"]} >= {-32001, -32002, -32003}
    json.dumps(doc)


# --- store, TTL cache, identity, settings --------------------------------------------------------


def test_store_orders_versions_as_kube_versions_does() -> None:
    """One order for the package: decimals as integers, anything else unknown (the newer
    object wins). The store's own copy used to call int() on '²' (isdigit) and raise."""
    store = JobStore()
    assert store.upsert(from_api(raw({"resourceVersion": "10"})))
    assert not store.upsert(from_api(raw({"resourceVersion": "9"})))
    assert store.upsert(from_api(raw({"resourceVersion": "²"})))
    assert store.upsert(from_api(raw({"resourceVersion": "opaque-1"})))
    assert store.upsert(from_api(raw({"resourceVersion": "5"})))
    store.replace([], "²")  # an unknown order: the list wins
    assert store.get(UID) is None


def test_store_indexes_and_only_moves_forward() -> None:
    store = JobStore()
    tj = trainingjob()
    assert store.upsert(tj)
    assert "managedFields" not in store.get(UID).metadata  # type: ignore[union-attr]
    cancelled = raw({"resourceVersion": "41"})
    cancelled["spec"]["cancel"] = True
    assert not store.upsert(from_api(cancelled))
    assert store.upsert(
        from_api(cancelled | {"metadata": {**cancelled["metadata"], "resourceVersion": "43"}})
    )
    assert store.get(UID).spec.cancel is True  # type: ignore[union-attr]
    assert [j.uid for j in store.select(namespace="team-a", agent_id="support-bot")] == [UID]
    assert store.select(agent_id="other") == []
    assert store.namespaces() == ["team-a"]
    store.replace([], "40")
    assert store.get(UID) is not None  # newer than the list: kept
    store.replace([], "50")
    assert store.get(UID) is None
    store.upsert(tj)
    store.delete(tj.uid)
    assert len(store) == 0
    assert store.namespaces() == []


def test_ttl_cache_expires_and_evicts() -> None:
    now = [0.0]
    cache: TTLCache[str, int] = TTLCache(2, 10, clock=lambda: now[0])
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)  # evicts b, the least recently used
    assert cache.get("b") is None
    assert cache.get("a") == 1
    cache.put("short", 4, ttl=1)
    now[0] = 2
    assert cache.get("short") is None
    now[0] = 11
    assert cache.get("a") is None
    assert len(cache) <= 2


def test_claims_map_to_prefixed_users_and_groups() -> None:
    principal = map_claims(
        {"sub": "alice", "groups": ["ml", 3]},
        username_claim="sub",
        groups_claim="groups",
        username_prefix="jwt:",
        groups_prefix="jwt:",
    )
    assert principal == Principal("jwt:alice", groups=("jwt:ml", "system:authenticated"))
    assert (
        map_claims({}, username_claim="sub", groups_claim="g", username_prefix="", groups_prefix="")
        is None
    )
    sa = Principal.from_user_info(
        {"username": "system:serviceaccount:team-a:bot", "extra": {"k": ["v"]}}
    )
    assert sa.service_account_namespace == "team-a"
    assert sa.extra_dict() == {"k": ["v"]}


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTCORE_RPC_PORT", "9000")
    monkeypatch.setenv("AGENTCORE_RPC_TOKEN_AUDIENCES", "a, b")
    monkeypatch.setenv("AGENTCORE_RPC_NAMESPACE", "team-a")
    monkeypatch.setenv("AGENTCORE_RPC_WATCH_NAMESPACE", "")
    monkeypatch.setenv("AGENTCORE_RPC_JWT_USERNAME_PREFIX", "")
    settings = ShimSettings()
    assert (settings.port, settings.token_audiences, settings.namespace) == (
        9000,
        ["a", "b"],
        "team-a",
    )
    assert (settings.watch_namespace, settings.jwt_username_prefix) == (None, "")
    monkeypatch.setenv("AGENTCORE_RPC_JWT_ISSUER", "x")
    monkeypatch.setenv("AGENTCORE_RPC_JWT_HS256_SECRET", "s")
    with pytest.raises(ValueError, match="jwt_audiences"):
        ShimSettings()
    monkeypatch.delenv("AGENTCORE_RPC_JWT_ISSUER")
    monkeypatch.delenv("AGENTCORE_RPC_JWT_HS256_SECRET")
    monkeypatch.setenv("AGENTCORE_RPC_JWT_ALGORITHMS", "none")
    with pytest.raises(ValueError, match="unsupported"):
        ShimSettings()


def list_result(*trainingjobs: TrainingJob) -> dict[str, Any]:
    return results.list_result_json(
        (results.created_key(tj), results.summary_of(tj).to_json()) for tj in trainingjobs
    )


def test_list_result_json_matches_the_models() -> None:
    first = trainingjob()
    second = trainingjob(
        {"uid": "u2", "creationTimestamp": "2026-11-29T00:00:00Z"}, phase="Running"
    )
    listed = list_result(first, second)
    assert ListJobsResult.model_validate(listed).to_json() == listed


def test_start_grpo_takes_the_other_spec_sections() -> None:
    given = params.parse_start_grpo(
        {
            "agent_id": "calc",
            "training_queries": [
                {"query": f"{i}", "expected_outcome": {"answer": "1"}} for i in range(100)
            ],
            "policy": {"warm_start_steps": 200},
            "reward": {"type": "numeric", "tolerance": 0.5},
            "pricing": {"usd_per_1k_completion_tokens": "0.002"},
            "environment": {"type": "calculator", "malformed_penalty": 0.5},
        }
    )
    spec = manifests.trainingjob_manifest("calc-x", "ns", given, "alice")["spec"]
    assert spec["policy"] == {"warmStartSteps": 200}
    assert spec["reward"] == {"type": "numeric", "tolerance": 0.5, "field": "answer"}
    assert spec["pricing"] == {"usdPer1kCompletionTokens": "0.002"}
    assert spec["environment"] == {"type": "calculator", "malformedPenalty": 0.5}
    assert "config" not in spec


def outcomes(*shapes: dict[str, Any]) -> list[dict[str, Any]]:
    """100 queries whose expected_outcomes cycle through `shapes`."""
    return [{"query": f"task {i}", "expected_outcome": shapes[i % len(shapes)]} for i in range(100)]


@pytest.mark.parametrize(
    ("shapes", "field"),
    [
        (({"success": True, "result": "test"},), "result"),
        (({"answer": "Paris", "correct": True},), "answer"),
        (({"expected": 3, "target": "x"},), "expected"),
        (({"answer": "4", "output": 4}, {"output": 5}), "output"),
    ],
)
def test_the_reward_field_is_picked_from_free_form_outcomes(
    shapes: tuple[dict[str, Any], ...], field: str
) -> None:
    parsed = params.parse_start_grpo({"agent_id": "bot", "training_queries": outcomes(*shapes)})
    assert parsed.reward is not None
    assert parsed.reward.field == field
    spec = manifests.trainingjob_manifest("bot-x", "ns", parsed, "alice")["spec"]
    assert spec["reward"] == {"field": field}


def test_a_named_reward_field_or_a_python_reward_is_kept() -> None:
    queries_ = outcomes({"test_passed": True, "execution_time_ms": 100})
    named = params.parse_start_grpo(
        {"agent_id": "bot", "training_queries": queries_, "reward": {"field": "x"}}
    )
    assert named.reward is not None
    assert named.reward.field == "x"
    python = params.parse_start_grpo(
        {
            "agent_id": "bot",
            "training_queries": queries_,
            "reward": {"type": "python", "entry_point": "m:f"},
        }
    )
    assert python.reward is not None
    assert "field" not in python.reward.model_fields_set


@pytest.mark.parametrize(
    ("shapes", "found", "hint"),
    [
        (
            ({"test_passed": True, "execution_time_ms": 100},),
            "execution_time_ms, test_passed",
            '"reward": {"field": "execution_time_ms"}',
        ),
        (({"answer": "a"}, {"result": "b"}), "answer, result", '"type": "python"'),
        (({"answer": True},), "answer", '"type": "python"'),
    ],
)
def test_no_reward_field_is_refused_naming_the_keys_and_the_reward_param(
    shapes: tuple[dict[str, Any], ...], found: str, hint: str
) -> None:
    error = rpc_error(
        params.parse_start_grpo, {"agent_id": "bot", "training_queries": outcomes(*shapes)}
    )
    assert error.code == -32602
    assert f"the keys found are {found}." in error.message
    assert "reward param" in error.message
    assert hint in error.message


@pytest.mark.parametrize("given", [{}, None, []], ids=["empty-object", "null", "empty-array"])
def test_empty_params_keep_the_original_messages(given: Any) -> None:
    as_dict = by_name(Method("m", lambda *_: None), given)  # type: ignore[arg-type, return-value]
    error = rpc_error(params.parse_start_grpo, as_dict)
    assert error.message == "Parameters required: agent_id, training_queries"
    assert rpc_error(params.parse_job_ref, as_dict).message == "Parameter required: job_id"


def test_list_pages_in_a_stable_order() -> None:
    same_second = "2026-11-30T10:00:00Z"
    jobs = [
        trainingjob({"uid": uid, "creationTimestamp": created})
        for uid, created in [
            ("c", same_second),
            ("a", same_second),
            ("b", "2026-11-29T00:00:00Z"),
        ]
    ]
    pairs = [(results.created_key(tj), results.summary_of(tj).to_json()) for tj in jobs]
    page = results.list_result_json(pairs, offset=1, limit=1)
    assert [job["job_id"] for job in page["jobs"]] == ["a"]
    assert (page["count"], page["total_count"]) == (1, 3)
    whole = results.list_result_json(reversed(pairs))
    assert [job["job_id"] for job in whole["jobs"]] == ["b", "a", "c"]


def test_list_params_take_one_status_or_several() -> None:
    assert params.parse_list_jobs({}).statuses() is None
    assert params.parse_list_jobs({}).limit == 100
    assert params.parse_list_jobs({"status": "running"}).statuses() == {"running"}
    assert params.parse_list_jobs({"status": ["queued", "failed"]}).statuses() == {
        "queued",
        "failed",
    }
    assert rpc_error(params.parse_list_jobs, {"status": "done"}).message.startswith(
        "Invalid status: "
    )


def test_rate_limits_refill_per_minute_per_user_and_method() -> None:
    now = [0.0]
    limiter = RateLimiter({"m": 2, "off": 0}, clock=lambda: now[0])
    assert limiter.retry_after("alice", "m") is None
    assert limiter.retry_after("alice", "m") is None
    assert limiter.retry_after("alice", "m") == 30.0  # one call comes back every 30 s
    assert limiter.retry_after("bob", "m") is None  # a bucket per user
    now[0] = 15.0
    assert limiter.retry_after("alice", "m") == 15.0  # refused calls are not counted
    now[0] = 30.0
    assert limiter.retry_after("alice", "m") is None
    assert limiter.retry_after("alice", "m") == 30.0
    assert all(limiter.retry_after("alice", "off") is None for _ in range(1000))
    assert limiter.retry_after("alice", "unlisted") is None
    error = errors.rate_limited("m", 2, 30.0)
    assert (error.code, error.data["retry_after_seconds"]) == (-32005, 30.0)
    assert -32099 <= errors.RATE_LIMITED <= -32000


def test_get_status_keeps_metrics_numeric_and_gives_the_epochs_beside_them() -> None:
    """status.metrics.epochs (a list) inside `metrics` made every get_status of a trained
    job an Internal error: the result's metrics hold numbers, as the original returned."""
    epochs = [
        {"loss": 0.5, "kl": 0.0, "clipRatio": 0.0, "gradNorm": 1.5},
        {"loss": 0.4, "kl": 0.01, "clipRatio": 0.1, "gradNorm": 1.2},
    ]
    tj = trainingjob(metrics={"avgReward": 0.25, "loss": 0.4, "epochs": epochs})
    answer = results.status_result(tj).model_dump(mode="json")
    assert answer["metrics"] == {"avg_reward": 0.25, "loss": 0.4}
    assert [e["loss"] for e in answer["epochs"]] == [0.5, 0.4]
    assert answer["epochs"][0]["kl"] == 0.0

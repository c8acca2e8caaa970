"""The methods' params, checked into their models (pure), with the original messages.

`params: null`, `[]` and `{}` all arrive here as an empty mapping (protocol.by_name)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_snake

from agentcore_training.api.output import OUTPUT_PATH_PATTERN
from agentcore_training.api.patterns import DNS_LABEL_PATTERN, DNS_SUBDOMAIN_PATTERN
from agentcore_training.api.plugins import RewardSpec, RewardType
from agentcore_training.rpc import errors
from agentcore_training.rpc.evaluate_schemas import EvaluateParams
from agentcore_training.rpc.schemas import (
    MIN_QUERIES,
    SPEC_SECTIONS,
    UUID_PATTERN,
    DiscoverParams,
    JobRefParams,
    ListJobsParams,
    StartGrpoParams,
)

_UUID_RE = re.compile(UUID_PATTERN)
# The expected_outcome keys a reward reads when the call names none, in order of preference.
REWARD_FIELDS = ("answer", "result", "expected_answer", "expected", "output", "target")

M = TypeVar("M", bound=BaseModel)
# What a pattern asks for, in words: a regular expression is a poor error message.
_PATTERN_WORDS = {
    DNS_LABEL_PATTERN: "a DNS label (lower-case letters, digits and '-', starting and ending "
    "with a letter or digit)",
    DNS_SUBDOMAIN_PATTERN: "a Kubernetes object name (lower-case letters, digits, '-' and '.', "
    "starting and ending with a letter or digit)",
    OUTPUT_PATH_PATTERN: "a relative folder path ('/'-separated names of letters, digits, '.', "
    "'_' and '-', none starting with '.', so no '..' and no leading '/')",
}


def _require(params: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if params.get(name) is None:
            raise errors.missing_parameter(name)


def _validate(model: type[M], params: Mapping[str, Any]) -> M:
    try:
        return model.model_validate(dict(params))
    except ValidationError as error:
        raise errors.invalid_params(_describe(error)) from None


def _describe(error: ValidationError) -> str:
    """The first problem of a validation error, naming the field (snake_case)."""
    first = error.errors(include_url=False)[0]
    where = ".".join(
        to_snake(part) if isinstance(part, str) else f"[{part}]"
        for part in first["loc"]
        if not (isinstance(part, str) and "[" in part)  # a union member's tag, not a field
    )
    where = where.replace(".[", "[")
    if first["type"] == "extra_forbidden":
        return f"Unknown parameter: {where}"
    message = str(first["msg"]).removeprefix("Value error, ")
    pattern = (first.get("ctx") or {}).get("pattern")
    if first["type"] == "string_pattern_mismatch" and pattern in _PATTERN_WORDS:
        message = f"must be {_PATTERN_WORDS[pattern]}"
    elif first["type"] == "model_type":
        message = "must be an object"
    value = first.get("input")
    shown = "" if isinstance(value, dict | list) else f" (got {json.dumps(value, default=str)})"
    return f"Invalid {where}: {message}{shown}"


def parse_start_grpo(params: Mapping[str, Any]) -> StartGrpoParams:
    """The params of start_grpo, with spec.reward.field picked when the call names none."""
    if not params:
        raise errors.invalid_params("Parameters required: agent_id, training_queries")
    params = dict(params)
    if "training_data" in params:
        if params.get("training_queries") is not None:
            raise errors.invalid_params(
                "Give training_queries or its alias training_data, not both"
            )
        params["training_queries"] = params.pop("training_data")
    _require(params, "agent_id", "training_queries")
    queries = params["training_queries"]
    if not isinstance(queries, list):
        raise errors.invalid_params(
            "training_queries must be a list of {query, expected_outcome} objects"
        )
    if len(queries) < MIN_QUERIES:
        raise errors.invalid_params(
            f"training_queries must contain at least {MIN_QUERIES} queries, got {len(queries)}"
        )
    for section in SPEC_SECTIONS:
        if params.get(section) is None:
            params.pop(section, None)
    return with_reward_field(_validate(StartGrpoParams, params))


def with_reward_field(parsed: StartGrpoParams) -> StartGrpoParams:
    """`parsed` with reward.field set, so that the TrainingJob says what its reward reads.

    A call that names no field gets the first of REWARD_FIELDS that every query's
    expected_outcome holds with a string or number value; -32602 when none does (a python
    reward reads what it likes and needs none).
    """
    reward = parsed.reward or RewardSpec()
    if "field" in reward.model_fields_set or reward.type == RewardType.PYTHON:
        return parsed
    outcomes = [query.expected_outcome for query in parsed.training_queries]
    picked = next((key for key in REWARD_FIELDS if _scalar_in_all(key, outcomes)), None)
    if picked is None:
        raise _no_reward_field(outcomes)
    return parsed.model_copy(update={"reward": reward.model_copy(update={"field": picked})})


def _scalar_in_all(key: str, outcomes: list[dict[str, Any]]) -> bool:
    return all(
        isinstance(outcome.get(key), str | int | float) and not isinstance(outcome[key], bool)
        for outcome in outcomes
    )


def _no_reward_field(outcomes: list[dict[str, Any]]) -> errors.RpcError:
    found = sorted({key for outcome in outcomes for key in outcome})
    usable = [key for key in found if _scalar_in_all(key, outcomes)]
    if usable:
        hint = f'"reward": {{"field": "{usable[0]}"}}'
    else:
        hint = '"reward": {"type": "python", "entry_point": "module:function"}'
    return errors.invalid_params(
        "training_queries: no reward field: the expected_outcome of every query must hold one "
        f"of {', '.join(REWARD_FIELDS)} with a string or number value, and the keys found are "
        f"{', '.join(found) or 'none'}. Name the field the reward reads with the reward param, "
        f"for example {hint}",
        {"keys_found": found, "reward_fields": list(REWARD_FIELDS)},
    )


def check_job_id(value: Any) -> str:
    if not isinstance(value, str) or not _UUID_RE.fullmatch(value):
        raise errors.invalid_job_id(value)
    return value.lower()


def parse_job_ref(params: Mapping[str, Any]) -> JobRefParams:
    if not params:
        raise errors.invalid_params("Parameter required: job_id")
    _require(params, "job_id")
    job_id = check_job_id(params["job_id"])
    return _validate(JobRefParams, {**params, "job_id": job_id})


def parse_evaluate(params: Mapping[str, Any]) -> EvaluateParams:
    if not params:
        raise errors.invalid_params("Parameter required: job_id")
    _require(params, "job_id")
    job_id = check_job_id(params["job_id"])
    return _validate(EvaluateParams, {**params, "job_id": job_id})


def parse_list_jobs(params: Mapping[str, Any]) -> ListJobsParams:
    return _validate(ListJobsParams, params)


def parse_discover(params: Mapping[str, Any]) -> DiscoverParams:
    return _validate(DiscoverParams, params)

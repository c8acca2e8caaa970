"""The methods' params, checked into their models (pure), with the original messages."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_snake

from agentcore_training.rpc import errors
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

M = TypeVar("M", bound=BaseModel)


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
        to_snake(part) if isinstance(part, str) else f"[{part}]" for part in first["loc"]
    )
    where = where.replace(".[", "[")
    if first["type"] == "extra_forbidden":
        return f"Unknown parameter: {where}"
    message = str(first["msg"]).removeprefix("Value error, ")
    value = first.get("input")
    shown = "" if isinstance(value, dict | list) else f" (got {json.dumps(value, default=str)})"
    return f"Invalid {where}: {message}{shown}"


def parse_start_grpo(params: Mapping[str, Any]) -> StartGrpoParams:
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
    return _validate(StartGrpoParams, params)


def check_job_id(value: Any) -> str:
    if not isinstance(value, str) or not _UUID_RE.fullmatch(value):
        raise errors.invalid_job_id(value)
    return value.lower()


def parse_job_ref(params: Mapping[str, Any]) -> JobRefParams:
    _require(params, "job_id")
    job_id = check_job_id(params["job_id"])
    return _validate(JobRefParams, {**params, "job_id": job_id})


def parse_list_jobs(params: Mapping[str, Any]) -> ListJobsParams:
    return _validate(ListJobsParams, params)


def parse_discover(params: Mapping[str, Any]) -> DiscoverParams:
    return _validate(DiscoverParams, params)

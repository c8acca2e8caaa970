"""The four methods, pure: params checked into models, manifests built, results read back.

No I/O here: handlers.py does the Kubernetes calls and the authorization, and uses these
functions to turn RPC params into a TrainingJob and a queries ConfigMap, and TrainingJob
dicts (as the apiserver returns them) into results.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_snake

from agentcore_training import labels
from agentcore_training.api.money import format_money
from agentcore_training.api.resource import API_VERSION, KIND
from agentcore_training.api.status import Phase
from agentcore_training.rpc import errors
from agentcore_training.rpc.schemas import (
    MIN_QUERIES,
    SPEC_SECTIONS,
    UUID_PATTERN,
    CancelResult,
    CostResult,
    DiscoverParams,
    DiscoverResult,
    GetStatusResult,
    HistoryResult,
    JobRefParams,
    JobStatus,
    JobSummary,
    ListJobsParams,
    ListJobsResult,
    ProgressResult,
    StartGrpoParams,
    StartGrpoResult,
)

QUERIES_KEY = "queries.jsonl"
# The apiserver refuses a ConfigMap whose keys and values add up to more than 1 MiB.
CONFIGMAP_MAX_BYTES = 1024 * 1024
# Room left for the key; the rest of the object does not count towards the limit.
QUERIES_MAX_BYTES = CONFIGMAP_MAX_BYTES - len(QUERIES_KEY)
CREATED_BY_ANNOTATION = "training.agentcore.dev/created-by"
RPC_MANAGER = "agentcore-rpc"
NAME_PREFIX_MAX = 40
SUFFIX_LENGTH = 5

_UUID_RE = re.compile(UUID_PATTERN)
_NOT_NAME_CHARS = re.compile(r"[^a-z0-9-]+")
_DEFAULT_BUDGET = Decimal("10.00")
_DEFAULT_ITERATIONS = 10


# --- the methods, as the OpenRPC document and the dispatcher see them -------------------


@dataclass(frozen=True)
class MethodSpec:
    """What is public about a method: names, models, documented errors."""

    name: str
    summary: str
    params: type[BaseModel]
    result: type[BaseModel]
    positional: tuple[str, ...]
    errors: tuple[int, ...]


START_GRPO = "training.start_grpo"
GET_STATUS = "training.get_status"
CANCEL = "training.cancel"
LIST_JOBS = "training.list_jobs"
DISCOVER = "rpc.discover"

_COMMON = (errors.INVALID_PARAMS, errors.FORBIDDEN, errors.UNAVAILABLE)
METHODS: tuple[MethodSpec, ...] = (
    MethodSpec(
        START_GRPO,
        "Start a GRPO training run: creates a queries ConfigMap and a TrainingJob.",
        StartGrpoParams,
        StartGrpoResult,
        ("agent_id", "training_queries", "config", "namespace"),
        _COMMON,
    ),
    MethodSpec(
        GET_STATUS,
        "Status, progress, metrics, cost and reward curve of a job.",
        JobRefParams,
        GetStatusResult,
        ("job_id", "namespace"),
        (errors.INVALID_PARAMS, errors.JOB_NOT_FOUND, errors.UNAVAILABLE),
    ),
    MethodSpec(
        CANCEL,
        "Cancel a queued or running job (sets spec.cancel; the trainer checkpoints and stops).",
        JobRefParams,
        CancelResult,
        ("job_id", "namespace"),
        (*_COMMON, errors.JOB_NOT_FOUND, errors.JOB_ALREADY_FINISHED),
    ),
    MethodSpec(
        LIST_JOBS,
        "The jobs the caller may see, optionally of one agent, oldest first.",
        ListJobsParams,
        ListJobsResult,
        ("agent_id", "namespace"),
        _COMMON,
    ),
    MethodSpec(
        DISCOVER,
        "This service's OpenRPC document.",
        DiscoverParams,
        DiscoverResult,
        (),
        (),
    ),
)
SPECS: dict[str, MethodSpec] = {spec.name: spec for spec in METHODS}


# --- params --------------------------------------------------------------------------------

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


# --- manifests -----------------------------------------------------------------------------


def job_name(agent_id: str, suffix: str) -> str:
    """A TrainingJob name from the agent id and a random suffix: a DNS label."""
    prefix = _NOT_NAME_CHARS.sub("-", agent_id.lower()).strip("-")[:NAME_PREFIX_MAX].strip("-")
    return f"{prefix or 'job'}-{suffix}"


def queries_configmap_name(name: str) -> str:
    return f"{name}-queries"


def queries_jsonl(params: StartGrpoParams) -> str:
    """The queries as JSON lines of {query, expected_outcome}; -32602 when over 1 MiB."""
    text = "".join(
        json.dumps(
            {"query": item.query, "expected_outcome": item.expected_outcome},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        + "\n"
        for item in params.training_queries
    )
    size = len(text.encode())
    if size > QUERIES_MAX_BYTES:
        raise errors.invalid_params(
            f"training_queries are too large: {size} bytes as JSON lines, and a ConfigMap holds "
            f"at most {QUERIES_MAX_BYTES} (1 MiB). Put them in a file on a PersistentVolumeClaim "
            "and create the TrainingJob with kubectl (spec.queries.persistentVolumeClaim)",
            {"bytes": size, "max_bytes": QUERIES_MAX_BYTES},
        )
    return text


def _common_labels(agent_id: str) -> dict[str, str]:
    return {labels.AGENT_ID: agent_id, labels.MANAGED_BY: RPC_MANAGER}


def queries_configmap(name: str, namespace: str, agent_id: str, jsonl: str) -> dict[str, Any]:
    """The immutable ConfigMap of a job's queries (owned by the TrainingJob once it exists)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": queries_configmap_name(name),
            "namespace": namespace,
            "labels": {
                **_common_labels(agent_id),
                labels.COMPONENT: labels.QUERIES_COMPONENT,
                labels.PART_OF: labels.MANAGER,
            },
        },
        "immutable": True,
        "data": {QUERIES_KEY: jsonl},
    }


def trainingjob_manifest(
    name: str, namespace: str, params: StartGrpoParams, created_by: str
) -> dict[str, Any]:
    """The TrainingJob; config fields the caller left out take the CRD's defaults."""
    spec: dict[str, Any] = {
        "agentId": params.agent_id,
        "queries": {"configMapRef": {"name": queries_configmap_name(name), "key": QUERIES_KEY}},
    }
    for section in SPEC_SECTIONS:
        value = getattr(params, section)
        if value is not None:  # fields the caller left out take the CRD's defaults
            spec[section] = value.model_dump(
                mode="json", by_alias=True, exclude_unset=True, exclude_none=True
            )
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": _common_labels(params.agent_id),
            "annotations": {CREATED_BY_ANNOTATION: created_by[:253]},
        },
        "spec": spec,
    }


def owner_patch(trainingjob: Mapping[str, Any]) -> dict[str, Any]:
    """A merge patch that makes the TrainingJob the owner of its queries ConfigMap."""
    meta = trainingjob["metadata"]
    return {
        "metadata": {
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": KIND,
                    "name": meta["name"],
                    "uid": meta["uid"],
                }
            ]
        }
    }


def cancel_patch() -> dict[str, Any]:
    return {"spec": {"cancel": True}}


# --- results -------------------------------------------------------------------------------


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _money(value: Any, default: Decimal) -> Decimal:
    try:
        return Decimal(str(value)) if value is not None else default
    except (InvalidOperation, ValueError):
        return default


def status_of(trainingjob: Mapping[str, Any]) -> JobStatus:
    """Lower-case status.phase; a job without a phase yet is queued."""
    phase = _dict(trainingjob.get("status")).get("phase")
    try:
        known = Phase(str(phase))
    except ValueError:
        return "queued"
    mapping: dict[Phase, JobStatus] = {
        Phase.QUEUED: "queued",
        Phase.RUNNING: "running",
        Phase.COMPLETED: "completed",
        Phase.FAILED: "failed",
        Phase.CANCELLED: "cancelled",
    }
    return mapping[known]


def uid_of(trainingjob: Mapping[str, Any]) -> str:
    return str(_dict(trainingjob.get("metadata")).get("uid", ""))


def agent_of(trainingjob: Mapping[str, Any]) -> str:
    return str(_dict(trainingjob.get("spec")).get("agentId", ""))


def _meta(trainingjob: Mapping[str, Any]) -> dict[str, Any]:
    return _dict(trainingjob.get("metadata"))


def _config(trainingjob: Mapping[str, Any]) -> dict[str, Any]:
    return _dict(_dict(trainingjob.get("spec")).get("config"))


def budget_of(trainingjob: Mapping[str, Any]) -> Decimal:
    return _money(_config(trainingjob).get("maxBudgetUsd"), _DEFAULT_BUDGET)


def progress_of(trainingjob: Mapping[str, Any]) -> ProgressResult:
    progress = _dict(_dict(trainingjob.get("status")).get("progress"))
    total = _int(
        progress.get("totalIterations"),
        _int(_config(trainingjob).get("nIterations"), _DEFAULT_ITERATIONS),
    )
    total = total or _int(_config(trainingjob).get("nIterations"), _DEFAULT_ITERATIONS)
    current = _int(progress.get("currentIteration"))
    percent = _int(progress.get("percentComplete"), (100 * current // total) if total else 0)
    return ProgressResult(
        current_iteration=current, total_iterations=total, percent_complete=min(100, percent)
    )


def cost_of(trainingjob: Mapping[str, Any]) -> CostResult:
    cost = _dict(_dict(trainingjob.get("status")).get("cost"))
    budget = _money(cost.get("budgetUsd"), budget_of(trainingjob))
    spent = _money(cost.get("costUsd"), Decimal("0"))
    remaining = _money(cost.get("budgetRemainingUsd"), max(budget - spent, Decimal("0")))
    return CostResult(
        cost_usd=format_money(spent),
        budget_usd=format_money(budget),
        budget_remaining_usd=format_money(remaining),
    )


def metrics_of(trainingjob: Mapping[str, Any]) -> dict[str, float | int]:
    metrics = _dict(_dict(trainingjob.get("status")).get("metrics"))
    return {
        to_snake(key): value
        for key, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def history_of(trainingjob: Mapping[str, Any]) -> HistoryResult:
    history = _dict(_dict(trainingjob.get("status")).get("history"))
    iterations = history.get("iterations")
    rewards = history.get("avgReward")
    if not isinstance(iterations, list) or not isinstance(rewards, list):
        return HistoryResult()
    points = [
        (i, float(r))
        for i, r in zip(iterations, rewards, strict=False)
        if isinstance(i, int) and isinstance(r, int | float) and not isinstance(r, bool)
    ]
    return HistoryResult(iterations=[p[0] for p in points], avg_reward=[p[1] for p in points])


def start_result(trainingjob: Mapping[str, Any]) -> StartGrpoResult:
    meta = _meta(trainingjob)
    return StartGrpoResult(
        job_id=uid_of(trainingjob),
        agent_id=agent_of(trainingjob),
        status=status_of(trainingjob),
        total_iterations=progress_of(trainingjob).total_iterations,
        budget_usd=format_money(budget_of(trainingjob)),
        created_at=str(meta.get("creationTimestamp", "")),
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
    )


def status_result(trainingjob: Mapping[str, Any]) -> GetStatusResult:
    meta = _meta(trainingjob)
    status = _dict(trainingjob.get("status"))
    best = status.get("bestCheckpointId")
    message = status.get("message")
    return GetStatusResult(
        job_id=uid_of(trainingjob),
        agent_id=agent_of(trainingjob),
        status=status_of(trainingjob),
        progress=progress_of(trainingjob),
        metrics=metrics_of(trainingjob),
        cost=cost_of(trainingjob),
        best_checkpoint_id=str(best) if best is not None else None,
        history=history_of(trainingjob),
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        created_at=str(meta.get("creationTimestamp", "")),
        message=str(message) if message is not None else None,
    )


def summary_of(trainingjob: Mapping[str, Any]) -> JobSummary:
    meta = _meta(trainingjob)
    progress = progress_of(trainingjob)
    return JobSummary(
        job_id=uid_of(trainingjob),
        agent_id=agent_of(trainingjob),
        status=status_of(trainingjob),
        current_iteration=progress.current_iteration,
        total_iterations=progress.total_iterations,
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        created_at=str(meta.get("creationTimestamp", "")),
    )


def created_key(trainingjob: Mapping[str, Any]) -> tuple[str, str, str]:
    meta = _meta(trainingjob)
    return (
        str(meta.get("creationTimestamp", "")),
        str(meta.get("namespace", "")),
        str(meta.get("name", "")),
    )


def list_result(trainingjobs: Iterable[Mapping[str, Any]]) -> ListJobsResult:
    jobs = [summary_of(tj) for tj in sorted(trainingjobs, key=created_key)]
    return ListJobsResult(jobs=jobs, count=len(jobs))


def list_result_json(
    summaries: Iterable[tuple[tuple[str, str, str], dict[str, Any]]],
) -> dict[str, Any]:
    """The list_jobs result from (created_key, summary JSON) pairs, oldest first: the same
    as list_result(...).to_json(), from summaries built once per object version."""
    jobs = [summary for _, summary in sorted(summaries, key=lambda pair: pair[0])]
    return {"success": True, "jobs": jobs, "count": len(jobs)}


def rfc3339(moment: datetime) -> str:
    """An RFC 3339 UTC time with second precision, as Kubernetes writes them."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def cancel_result(trainingjob: Mapping[str, Any], now: datetime) -> CancelResult:
    meta = _meta(trainingjob)
    cancelled_at = _dict(trainingjob.get("status")).get("cancelledAt")
    return CancelResult(
        job_id=uid_of(trainingjob),
        status="cancelled",
        cancelled_at=str(cancelled_at) if cancelled_at else rfc3339(now),
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
    )


def check_cancellable(trainingjob: Mapping[str, Any]) -> None:
    """-32002 when the job already finished (cancel of a queued or running job is fine)."""
    status = status_of(trainingjob)
    if status in ("completed", "failed", "cancelled"):
        raise errors.job_already_finished(uid_of(trainingjob), status)

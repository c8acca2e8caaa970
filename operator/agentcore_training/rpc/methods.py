"""The methods, as the OpenRPC document and the dispatcher see them (pure).

Their parts live beside: params.py checks params into models, manifests.py builds what
start_grpo and cancel write, results.py reads TrainingJobs back into results; handlers.py
does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from agentcore_training.rpc import errors
from agentcore_training.rpc.evaluate_schemas import EvaluateParams, EvaluateResult
from agentcore_training.rpc.schemas import (
    CancelResult,
    DiscoverParams,
    DiscoverResult,
    GetStatusResult,
    JobRefParams,
    ListJobsParams,
    ListJobsResult,
    StartGrpoParams,
    StartGrpoResult,
)


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
EVALUATE = "training.evaluate"
DISCOVER = "rpc.discover"

_COMMON = (errors.INVALID_PARAMS, errors.FORBIDDEN, errors.UNAVAILABLE, errors.RATE_LIMITED)
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
        (errors.INVALID_PARAMS, errors.JOB_NOT_FOUND, errors.UNAVAILABLE, errors.RATE_LIMITED),
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
        "The jobs the caller may see, optionally of one agent or status, oldest first, paged.",
        ListJobsParams,
        ListJobsResult,
        ("agent_id", "namespace", "status", "limit", "offset"),
        _COMMON,
    ),
    MethodSpec(
        EVALUATE,
        "The recorded held-out evaluation of a job, or of one of its checkpoints, compared "
        "with the untrained baseline.",
        EvaluateParams,
        EvaluateResult,
        ("job_id", "checkpoint_id", "namespace"),
        (
            errors.INVALID_PARAMS,
            errors.JOB_NOT_FOUND,
            errors.NOT_EVALUATED,
            errors.CHECKPOINT_NOT_FOUND,
            errors.UNAVAILABLE,
            errors.RATE_LIMITED,
        ),
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

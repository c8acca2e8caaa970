"""Every error code the shim answers with, in one place (pure).

JSON-RPC 2.0 reserves -32768..-32000; -32700 and -32600..-32603 are the specification's own,
and -32000..-32099 are left to the implementation: the application codes below live there.
docs/jsonrpc.md lists the same table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The specification's codes.
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

# Application codes (-32000..-32099).
UNAUTHENTICATED = -32000
"""No or bad credentials: only ever in the body of an HTTP 401 answer (no call ran)."""
JOB_NOT_FOUND = -32001
"""No such job, or the caller may not `get` TrainingJobs in its namespace (the original code)."""
JOB_ALREADY_FINISHED = -32002
"""training.cancel of a job that is already completed, failed or cancelled."""
FORBIDDEN = -32003
"""Kubernetes RBAC (a SubjectAccessReview) refused the call."""
UNAVAILABLE = -32004
"""The watch cache has not synced yet or the Kubernetes API did not answer: retry later."""
RATE_LIMITED = -32005
"""The caller made more calls of this method in the last minute than its limit allows."""
NOT_EVALUATED = -32006
"""training.evaluate of a job with no held-out evaluation recorded (yet, or at all)."""
CHECKPOINT_NOT_FOUND = -32007
"""training.evaluate of a checkpoint id that no recorded evaluation has."""

CODES: dict[int, tuple[str, str]] = {
    PARSE_ERROR: ("Parse error", "The body is not valid JSON."),
    INVALID_REQUEST: ("Invalid Request", "The JSON is not a valid JSON-RPC 2.0 Request object."),
    METHOD_NOT_FOUND: ("Method not found", "No method of that name."),
    INVALID_PARAMS: ("Invalid params", "A parameter is missing, unknown or out of range."),
    INTERNAL_ERROR: (
        "Internal error",
        "An unexpected error; data.error_id matches the shim's log line (no traceback is sent).",
    ),
    UNAUTHENTICATED: (
        "Unauthenticated",
        "No or bad bearer token; sent with HTTP 401 and id null, no call runs.",
    ),
    JOB_NOT_FOUND: (
        "Job not found",
        "No job with that id, or the caller may not get TrainingJobs in its namespace.",
    ),
    JOB_ALREADY_FINISHED: (
        "Job already finished",
        "training.cancel of a completed, failed or cancelled job.",
    ),
    FORBIDDEN: ("Forbidden", "Kubernetes RBAC refused the call (a SubjectAccessReview)."),
    UNAVAILABLE: (
        "Unavailable",
        "The watch cache is not synced yet, or the Kubernetes API did not answer; retry.",
    ),
    RATE_LIMITED: (
        "Rate limit exceeded",
        "Too many calls of this method by this user in the last minute; nothing was done. "
        "data.retry_after_seconds says when to retry.",
    ),
    NOT_EVALUATED: (
        "Not evaluated",
        "training.evaluate of a job without a recorded held-out evaluation: none yet (the "
        "baseline comes before iteration 1), or the evaluation is off; data.message says which.",
    ),
    CHECKPOINT_NOT_FOUND: (
        "Checkpoint not found",
        "training.evaluate of a checkpoint id without a recorded evaluation; "
        "data.checkpoint_ids lists those that have one.",
    ),
}


@dataclass
class RpcError(Exception):
    """An error a method raises on purpose: becomes the JSON-RPC error object as is."""

    code: int
    message: str
    data: Any = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(message: str, data: Any = None) -> RpcError:
    return RpcError(INVALID_PARAMS, message, data)


def missing_parameter(name: str) -> RpcError:
    return RpcError(INVALID_PARAMS, f"Missing required parameter: {name}")


def invalid_job_id(value: Any) -> RpcError:
    return RpcError(INVALID_PARAMS, f"Invalid job_id format: {value}")


def job_not_found(job_id: str) -> RpcError:
    return RpcError(JOB_NOT_FOUND, f"Job {job_id} not found")


def job_already_finished(job_id: str, status: str) -> RpcError:
    return RpcError(
        JOB_ALREADY_FINISHED,
        f"Job {job_id} already finished ({status}): only a queued or running job can be cancelled",
        {"status": status},
    )


def forbidden(verb: str, namespace: str, username: str) -> RpcError:
    where = f"in namespace {namespace!r}" if namespace else "at cluster scope"
    return RpcError(
        FORBIDDEN,
        f"Forbidden: {username!r} may not {verb} trainingjobs.training.agentcore.dev {where}",
        {"verb": verb, "namespace": namespace},
    )


def unavailable(message: str) -> RpcError:
    return RpcError(UNAVAILABLE, f"Unavailable: {message}")


def rate_limited(method: str, per_minute: int, retry_after: float) -> RpcError:
    return RpcError(
        RATE_LIMITED,
        f"Rate limit exceeded: at most {per_minute} {method} calls a minute per user; "
        f"retry in {retry_after:g} s",
        {"retry_after_seconds": retry_after, "limit_per_minute": per_minute, "method": method},
    )


def not_evaluated(job_id: str, status: str, why: str | None) -> RpcError:
    reason = why or "the baseline evaluation comes before the first iteration"
    return RpcError(
        NOT_EVALUATED,
        f"Job {job_id} has no held-out evaluation yet ({status}): {reason}",
        {"status": status, "message": why},
    )


def checkpoint_not_found(job_id: str, checkpoint_id: str, known: list[str]) -> RpcError:
    return RpcError(
        CHECKPOINT_NOT_FOUND,
        f"Checkpoint {checkpoint_id} of job {job_id} has no recorded evaluation; "
        f"evaluated: {', '.join(known) or 'none'}",
        {"checkpoint_id": checkpoint_id, "checkpoint_ids": known},
    )

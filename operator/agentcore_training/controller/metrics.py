"""Prometheus metrics of the operator."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

REGISTRY = CollectorRegistry(auto_describe=True)

RECONCILES = Counter(
    "agentcore_operator_reconciles_total", "Reconciles of TrainingJobs.", registry=REGISTRY
)
HANDLER_ERRORS = Counter(
    "agentcore_operator_handler_errors_total",
    "Reconciles and requests that ended in an error.",
    ["where"],
    registry=REGISTRY,
)
STATUS_PATCHES = Counter(
    "agentcore_operator_status_patches_total",
    "Status patches written to TrainingJobs.",
    ["source"],
    registry=REGISTRY,
)
PROGRESS_REPORTS = Counter(
    "agentcore_operator_progress_reports_total",
    "Progress reports from trainers, by result (accepted, or the HTTP status of a refusal).",
    ["result"],
    registry=REGISTRY,
)
ADMISSION_REVIEWS = Counter(
    "agentcore_operator_admission_reviews_total",
    "Admission reviews of TrainingJobs, by outcome.",
    ["allowed"],
    registry=REGISTRY,
)
TRAININGJOBS = Gauge(
    "agentcore_operator_trainingjobs", "TrainingJobs by phase.", ["phase"], registry=REGISTRY
)
JOBS_CREATED = Counter(
    "agentcore_operator_jobs_created_total", "batch/v1 Jobs created.", registry=REGISTRY
)

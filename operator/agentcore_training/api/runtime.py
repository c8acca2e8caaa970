"""spec.runtime: how the trainer runs as a Kubernetes Job."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from agentcore_training.api.base import ApiModel
from agentcore_training.api.patterns import DNS_LABEL_PATTERN, DNS_SUBDOMAIN_PATTERN


def _quantity_from_int(value: Any) -> Any:
    """YAML writes `nvidia.com/gpu: 1` as an int; Kubernetes accepts both forms."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Quantity = Annotated[
    str,
    BeforeValidator(_quantity_from_int),
    Field(pattern=r"^[0-9]+(\.[0-9]+)?([eE][0-9]+|[numkMGTPE]|[KMGTPE]i)?$", max_length=64),
    WithJsonSchema(
        {
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "x-kubernetes-int-or-string": True,
            "pattern": r"^[0-9]+(\.[0-9]+)?([eE][0-9]+|[numkMGTPE]|[KMGTPE]i)?$",
        }
    ),
]
"""A Kubernetes resource quantity such as `500m` or `2Gi`."""


class CheckpointVolume(ApiModel):
    """A PersistentVolumeClaim for checkpoints, so a retried pod resumes where it stopped."""

    claim_name: str = Field(
        description="Name of the PersistentVolumeClaim.",
        pattern=DNS_SUBDOMAIN_PATTERN,
        max_length=253,
    )
    sub_path: str | None = Field(
        default=None,
        description="Sub-path inside the volume; defaults to the TrainingJob's uid.",
        max_length=1024,
        pattern=r"^[^/].*$",
    )


class ResourceRequirements(ApiModel):
    """Compute resources of the trainer container."""

    requests: dict[str, Quantity] = Field(
        default={"cpu": "1", "memory": "2Gi"},
        description="Minimum resources, as Kubernetes quantities (cpu, memory, ...).",
        max_length=16,
    )
    limits: dict[str, Quantity] = Field(
        default={"memory": "4Gi"},
        description="Maximum resources, as Kubernetes quantities.",
        max_length=16,
    )


class RuntimeSpec(ApiModel):
    """How the trainer runs as a Kubernetes Job."""

    image: str = Field(
        default="ghcr.io/agentcore/grpo-trainer:0.1.0",
        description="Container image of the trainer.",
        min_length=1,
        max_length=512,
    )
    resources: ResourceRequirements = Field(
        default_factory=ResourceRequirements,
        description="Compute resources of the trainer container.",
    )
    backoff_limit: int = Field(
        default=2, ge=0, le=20, description="Retries of a failed trainer pod (Job backoffLimit)."
    )
    active_deadline_seconds: int | None = Field(
        default=None,
        ge=1,
        description="Wall-clock limit of the whole Job, in seconds (Job activeDeadlineSeconds).",
    )
    progress_deadline_seconds: int = Field(
        default=900,
        ge=1,
        description=(
            "A running trainer that sends no accepted progress report for this long is "
            "treated as hung: its pod is deleted (the Job retries it) and, once the Job's "
            "retries are spent, the run fails with reason ProgressDeadlineExceeded. Keep it "
            "above the slowest iteration: the trainer reports after each one."
        ),
    )
    ttl_seconds_after_finished: int = Field(
        default=86400,
        ge=0,
        description="Seconds a finished Job (and its pods and logs) is kept.",
    )
    queue_name: str | None = Field(
        default=None,
        description="Kueue LocalQueue to admit the Job through (kueue.x-k8s.io/queue-name).",
        pattern=DNS_LABEL_PATTERN,
        max_length=63,
    )
    checkpoint_volume: CheckpointVolume | None = Field(
        default=None,
        description="Volume for checkpoints; without one they live in the pod's scratch space.",
    )

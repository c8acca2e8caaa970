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

GPU_RESOURCE = "nvidia.com/gpu"
"""The resource whose count is the default number of trainer processes in a pod."""
MAX_PROCESSES_PER_POD = 64
MAX_PODS = 64


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
    processes_per_pod: int | None = Field(
        default=None,
        ge=1,
        le=MAX_PROCESSES_PER_POD,
        description=(
            "Data-parallel trainer processes in the pod. Above 1 the container runs the "
            "trainer under torchrun (torch.distributed.run --standalone): each process "
            "rolls out its share of every iteration's queries, the gradients are summed "
            "over them, rank 0 keeps the ledger and reports. Default: the pod's "
            f"{GPU_RESOURCE} count (one process per GPU), else 1. batchSize must be at "
            "least this. Compute is priced per process."
        ),
    )

    pods: int = Field(
        default=1,
        ge=1,
        le=MAX_PODS,
        description=(
            "Trainer pods of the run. Above 1 the Job is an Indexed Job of this many pods "
            "(completions = parallelism) with a headless Service of the Job's name: pod i "
            "is `<job>-i.<job>.<namespace>.svc`, and torchrun's rendezvous is on pod 0. "
            "The world is pods x processesPerPod ranks; rank 0 (pod 0) alone reports and "
            "checkpoints. One pod failing fails the attempt of all of them (their "
            "collectives break): the Job recreates the failed pods, every pod rejoins, and "
            "the run resumes from runtime.checkpointVolume (which every pod must be able to "
            "mount: ReadWriteMany across nodes) with the spend of record. batchSize must be "
            "at least the world size."
        ),
    )

    def world_size(self) -> int:
        """The data-parallel ranks of the run: pods x processes per pod."""
        return self.pods * self.processes()

    def processes(self) -> int:
        """The trainer processes in the pod: processesPerPod, else the GPU count, else 1."""
        if self.processes_per_pod is not None:
            return self.processes_per_pod
        gpus = self.resources.limits.get(GPU_RESOURCE) or self.resources.requests.get(GPU_RESOURCE)
        if gpus is not None and gpus.isdigit() and int(gpus) > 0:
            return min(int(gpus), MAX_PROCESSES_PER_POD)
        return 1

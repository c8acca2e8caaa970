"""Several trainer pods per TrainingJob: an Indexed Job of M pods, and its headless Service.

Pure builders, no I/O: `runtime.pods` asks for M pods, and the reconciler creates the
Service (before the Job: the rendezvous needs its names) and the Job these build. The M
pods (completions = parallelism = M) get stable hostnames `<job>-<index>` under the
headless Service (the pod template's `subdomain`), so pod 0 is
`<job>-0.<service>.<namespace>.svc`: torchrun's static rendezvous (its `--master-addr`)
is on index 0, and each pod's node rank is its completion index. Rank 0 of the world
(index 0, local rank 0) alone reports progress.
"""

from __future__ import annotations

import copy
from typing import Any

from agentcore_training import labels
from agentcore_training.api.resource import TrainingJob
from agentcore_training.controller.jobs import (
    TORCHRUN,
    TRAINER_CONTAINER,
    JobSettings,
    build_job,
    common_labels,
    job_name,
    owner_reference,
)
from agentcore_training.labels import COMPLETION_INDEX_ANNOTATION

RENDEZVOUS_PORT = 29500
"""torchrun's rendezvous (c10d store) port on pod 0."""
ENV_NODE_RANK = "AGENTCORE_NODE_RANK"
"""The pod's completion index, from its annotation: torchrun's --node-rank."""


def build_trainer_job(trainingjob: TrainingJob, settings: JobSettings) -> dict[str, Any]:
    """The trainer Job of `trainingjob`: one pod, or an Indexed Job of runtime.pods pods."""
    job = build_job(trainingjob, settings)
    return indexed_job(trainingjob, job, settings.command, trainingjob.spec.runtime.pods)


def build_trainer_service(trainingjob: TrainingJob) -> dict[str, Any] | None:
    """The headless Service the pods of a multi-pod run need; None for one pod."""
    if trainingjob.spec.runtime.pods == 1:
        return None
    return build_headless_service(trainingjob)


def service_name(trainingjob: TrainingJob) -> str:
    """The headless Service's name: the Job's (at most 63 characters, a DNS label)."""
    return job_name(trainingjob)


def rendezvous_host(trainingjob: TrainingJob) -> str:
    """Pod 0's stable DNS name."""
    return f"{job_name(trainingjob)}-0.{service_name(trainingjob)}.{trainingjob.namespace}.svc"


def multi_pod_command(trainingjob: TrainingJob, command: tuple[str, ...], pods: int) -> list[str]:
    """The trainer `command` under torchrun across `pods` pods of runtime.processes()
    processes each (the command's first word is the interpreter)."""
    interpreter, *program = command
    return [
        interpreter,
        *TORCHRUN,
        "--nnodes",
        str(pods),
        "--nproc-per-node",
        str(trainingjob.spec.runtime.processes()),
        "--node-rank",
        f"$({ENV_NODE_RANK})",
        "--master-addr",
        rendezvous_host(trainingjob),
        "--master-port",
        str(RENDEZVOUS_PORT),
        *program,
    ]


def indexed_job(
    trainingjob: TrainingJob, job: dict[str, Any], command: tuple[str, ...], pods: int
) -> dict[str, Any]:
    """`job` (the one-pod Job of `build_job`) as an Indexed Job of `pods` pods; `job`
    itself for one pod."""
    if pods == 1:
        return job
    job = copy.deepcopy(job)
    spec = job["spec"]
    spec["completionMode"] = "Indexed"
    spec["completions"] = pods
    spec["parallelism"] = pods
    # A pod failing takes the others' collectives down with it: each attempt may fail all
    # M pods, so the retries are counted in attempts of the whole group.
    spec["backoffLimit"] = trainingjob.spec.runtime.backoff_limit * pods
    # Index 0 (world rank 0) owns the run: its success is the Job's, and the Job controller
    # then ends the other pods. Without it a pod of another index failing after rank 0 had
    # finished would be retried alone, against a rank 0 that is gone, until the Job failed.
    spec["successPolicy"] = {"rules": [{"succeededIndexes": "0"}]}
    pod_spec = spec["template"]["spec"]
    pod_spec["subdomain"] = service_name(trainingjob)
    container = next(c for c in pod_spec["containers"] if c["name"] == TRAINER_CONTAINER)
    container["command"] = multi_pod_command(trainingjob, command, pods)
    field = f"metadata.annotations['{COMPLETION_INDEX_ANNOTATION}']"
    rank = {"name": ENV_NODE_RANK, "valueFrom": {"fieldRef": {"fieldPath": field}}}
    container["env"].append(rank)
    container["ports"] = [{"name": "rendezvous", "containerPort": RENDEZVOUS_PORT}]
    return job


def build_headless_service(trainingjob: TrainingJob) -> dict[str, Any]:
    """The headless Service that gives the pods of an Indexed trainer Job their DNS names
    (published before they are ready: the rendezvous comes before readiness)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": service_name(trainingjob),
            "namespace": trainingjob.namespace,
            "labels": common_labels(trainingjob),
            "ownerReferences": [owner_reference(trainingjob)],
        },
        "spec": {
            "clusterIP": "None",
            "publishNotReadyAddresses": True,
            "selector": {
                labels.JOB_ID: trainingjob.uid,
                labels.COMPONENT: labels.TRAINER_COMPONENT,
            },
            "ports": [{"name": "rendezvous", "port": RENDEZVOUS_PORT}],
        },
    }

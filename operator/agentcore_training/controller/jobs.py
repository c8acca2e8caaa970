"""The batch/v1 Job that runs a TrainingJob's trainer: a pure builder, no I/O."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from agentcore_training import labels
from agentcore_training.api.contract import (
    ENV_CHECKPOINT_DIR,
    ENV_EVAL_QUERIES_FILE,
    ENV_JOB_ID,
    ENV_OMP_NUM_THREADS,
    ENV_OUTPUT_DIR,
    ENV_POD_NAME,
    ENV_POD_NAMESPACE,
    ENV_PROGRESS_CA_PEM,
    ENV_PROGRESS_URL,
    ENV_QUERIES_FILE,
    ENV_SPEC,
    ENV_TERMINATION_LOG,
    ENV_TOKEN_FILE,
    EXIT_BAD_INPUT,
    TERMINATION_LOG,
)
from agentcore_training.api.queries import QueriesSource
from agentcore_training.api.resource import API_VERSION, KIND, TrainingJob

TRAINER_CONTAINER = "trainer"
QUERIES_DIR = "/var/run/agentcore/queries"
EVAL_QUERIES_DIR = "/var/run/agentcore/eval-queries"
TOKEN_DIR = "/var/run/agentcore/token"  # noqa: S105 - a path, not a secret
TOKEN_FILE = "token"  # noqa: S105 - a file name, not a secret
CHECKPOINT_DIR = "/var/lib/agentcore/checkpoints"
OUTPUT_DIR = "/var/lib/agentcore/output"
"""Where spec.output's claim is mounted (whole: the trainer renames its folder into place)."""
TMP_DIR = "/tmp"  # noqa: S108 - an emptyDir in the pod, the root filesystem is read-only
TOKEN_EXPIRATION_SECONDS = 3600
RUN_AS_USER = 65532


@dataclass(frozen=True)
class JobSettings:
    """What the builder needs from the operator's settings."""

    progress_url: str
    progress_ca_pem: str | None
    service_account: str
    command: tuple[str, ...]
    termination_grace_seconds: int


def job_name(trainingjob: TrainingJob) -> str:
    """A deterministic Job name: the TrainingJob's name, shortened, plus a hash of its uid.

    The uid part keeps a re-created TrainingJob of the same name from adopting the old
    Job while that one is still being garbage-collected. At most 63 characters, since the
    Job controller copies it into a label of its pods.
    """
    digest = hashlib.sha256(trainingjob.uid.encode()).hexdigest()[:8]
    base = trainingjob.name[:54].rstrip("-.")
    return f"{base}-{digest}"


def common_labels(trainingjob: TrainingJob) -> dict[str, str]:
    """Labels of everything the operator makes for a TrainingJob."""
    return {
        labels.JOB_ID: trainingjob.uid,
        labels.AGENT_ID: trainingjob.spec.agent_id,
        labels.MANAGED_BY: labels.MANAGER,
        labels.PART_OF: labels.MANAGER,
    }


def owner_reference(trainingjob: TrainingJob) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "name": trainingjob.name,
        "uid": trainingjob.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _queries_volume_and_path(
    queries: QueriesSource, name: str, directory: str
) -> tuple[dict[str, Any], str]:
    """Volume `name` of a queries source and the file's path once mounted at `directory`."""
    if queries.config_map_ref is not None:
        ref = queries.config_map_ref
        volume = {
            "name": name,
            "configMap": {
                "name": ref.name,
                "items": [{"key": ref.key, "path": ref.key}],
                "defaultMode": 0o444,
            },
        }
        return volume, f"{directory}/{ref.key}"
    claim = queries.persistent_volume_claim
    assert claim is not None  # the model guarantees exactly one source
    volume = {
        "name": name,
        "persistentVolumeClaim": {"claimName": claim.claim_name, "readOnly": True},
    }
    return volume, f"{directory}/{claim.path}"


def _checkpoint_volume(trainingjob: TrainingJob) -> tuple[dict[str, Any], str | None]:
    volume_spec = trainingjob.spec.runtime.checkpoint_volume
    if volume_spec is None:
        return {"name": "checkpoints", "emptyDir": {}}, None
    claim = {"claimName": volume_spec.claim_name}
    return {"name": "checkpoints", "persistentVolumeClaim": claim}, (
        volume_spec.sub_path or trainingjob.uid
    )


def _output_volume(
    trainingjob: TrainingJob,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """spec.output's claim, read-write, as ([volume], [mount]); nothing without spec.output."""
    output = trainingjob.spec.output
    if output is None:
        return [], []
    volume = {"name": "output", "persistentVolumeClaim": {"claimName": output.claim_name}}
    return [volume], [{"name": "output", "mountPath": OUTPUT_DIR}]


TORCHRUN = ("-m", "torch.distributed.run")


def trainer_command(trainingjob: TrainingJob, command: tuple[str, ...]) -> list[str]:
    """The container command: the trainer `command` itself for one process; for
    runtime.processes() > 1 the same program under torchrun, one process per rank
    (--standalone: the rendezvous is local to the pod, on a free port). The command's
    first word is the Python interpreter (the setting's default is `python3 -m ...`), and
    torchrun takes the rest: a script or `-m module`, then its arguments."""
    processes = trainingjob.spec.runtime.processes()
    if processes == 1:
        return list(command)
    interpreter, *program = command
    return [
        interpreter,
        *TORCHRUN,
        "--nproc-per-node",
        str(processes),
        "--standalone",
        *program,
    ]


def _threads(trainingjob: TrainingJob) -> str:
    """OpenMP threads of each trainer process: the requested cores shared by the
    processes (at least 1): oversubscription slows GRPO by 18-45x."""
    cpu = trainingjob.spec.runtime.resources.requests.get("cpu", "1")
    cores = int(cpu) if cpu.isdigit() and int(cpu) > 0 else 1
    return str(max(1, cores // trainingjob.spec.runtime.processes()))


def _env(
    trainingjob: TrainingJob,
    settings: JobSettings,
    queries_file: str,
    eval_queries_file: str | None,
) -> list[dict[str, Any]]:
    spec_json = json.dumps(trainingjob.spec.to_wire(), separators=(",", ":"), sort_keys=True)
    threads = _threads(trainingjob)
    env: list[dict[str, Any]] = [
        {"name": ENV_SPEC, "value": spec_json},
        {"name": ENV_JOB_ID, "value": trainingjob.uid},
        {"name": ENV_QUERIES_FILE, "value": queries_file},
        {"name": ENV_CHECKPOINT_DIR, "value": CHECKPOINT_DIR},
        {"name": ENV_PROGRESS_URL, "value": settings.progress_url},
        {"name": ENV_TOKEN_FILE, "value": f"{TOKEN_DIR}/{TOKEN_FILE}"},
        {"name": ENV_TERMINATION_LOG, "value": TERMINATION_LOG},
        {"name": ENV_POD_NAME, "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": ENV_POD_NAMESPACE, "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": ENV_OMP_NUM_THREADS, "value": threads},
        {"name": "HOME", "value": TMP_DIR},
    ]
    if eval_queries_file is not None:
        env.append({"name": ENV_EVAL_QUERIES_FILE, "value": eval_queries_file})
    if trainingjob.spec.output is not None:
        env.append(
            {"name": ENV_OUTPUT_DIR, "value": f"{OUTPUT_DIR}/{trainingjob.spec.output.path}"}
        )
    if settings.progress_ca_pem:
        env.append({"name": ENV_PROGRESS_CA_PEM, "value": settings.progress_ca_pem})
    return env


def _security_context() -> dict[str, Any]:
    """The container's part of the `restricted` Pod Security Standard."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": RUN_AS_USER,
        "runAsGroup": RUN_AS_USER,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def build_job(trainingjob: TrainingJob, settings: JobSettings) -> dict[str, Any]:
    """The batch/v1 Job for a TrainingJob. Deterministic: the same inputs, the same Job."""
    runtime = trainingjob.spec.runtime
    queries_volume, queries_file = _queries_volume_and_path(
        trainingjob.spec.queries, "queries", QUERIES_DIR
    )
    volumes = [queries_volume]
    mounts = [{"name": "queries", "mountPath": QUERIES_DIR, "readOnly": True}]
    eval_queries_file = None
    if (eval_queries := trainingjob.spec.evaluation.queries) is not None:
        eval_volume, eval_queries_file = _queries_volume_and_path(
            eval_queries, "eval-queries", EVAL_QUERIES_DIR
        )
        volumes.append(eval_volume)
        mounts.append({"name": "eval-queries", "mountPath": EVAL_QUERIES_DIR, "readOnly": True})
    checkpoint_volume, checkpoint_sub_path = _checkpoint_volume(trainingjob)
    checkpoint_mount: dict[str, Any] = {"name": "checkpoints", "mountPath": CHECKPOINT_DIR}
    if checkpoint_sub_path is not None:
        checkpoint_mount["subPath"] = checkpoint_sub_path
    output_volumes, output_mounts = _output_volume(trainingjob)
    pod_labels = {**common_labels(trainingjob), labels.COMPONENT: labels.TRAINER_COMPONENT}
    job_labels = dict(pod_labels)
    if runtime.queue_name:
        job_labels[labels.KUEUE_QUEUE_NAME] = runtime.queue_name
    annotations = {labels.TRAININGJOB_NAME: trainingjob.name}
    container = {
        "name": TRAINER_CONTAINER,
        "image": runtime.image,
        "imagePullPolicy": "IfNotPresent",
        "command": trainer_command(trainingjob, settings.command),
        "env": _env(trainingjob, settings, queries_file, eval_queries_file),
        "resources": {
            "requests": dict(runtime.resources.requests),
            "limits": dict(runtime.resources.limits),
        },
        "volumeMounts": [
            *mounts,
            {"name": "token", "mountPath": TOKEN_DIR, "readOnly": True},
            checkpoint_mount,
            {"name": "tmp", "mountPath": TMP_DIR},
            *output_mounts,
        ],
        "securityContext": _security_context(),
        "terminationMessagePath": TERMINATION_LOG,
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    token_volume = {
        "name": "token",
        "projected": {
            "defaultMode": 0o440,
            "sources": [
                {
                    "serviceAccountToken": {
                        "audience": labels.PROGRESS_TOKEN_AUDIENCE,
                        "expirationSeconds": TOKEN_EXPIRATION_SECONDS,
                        "path": TOKEN_FILE,
                    }
                }
            ],
        },
    }
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "serviceAccountName": settings.service_account,
        # The trainer needs no Kubernetes API access: no general API token is mounted.
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": settings.termination_grace_seconds,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "fsGroup": RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": [
            *volumes,
            token_volume,
            checkpoint_volume,
            {"name": "tmp", "emptyDir": {}},
            *output_volumes,
        ],
    }
    job_spec: dict[str, Any] = {
        "backoffLimit": runtime.backoff_limit,
        "ttlSecondsAfterFinished": runtime.ttl_seconds_after_finished,
        # Kueue admits a queued Job by un-suspending it; otherwise spec.suspend decides.
        "suspend": trainingjob.spec.suspend or runtime.queue_name is not None,
        "podFailurePolicy": {
            "rules": [
                {
                    "action": "FailJob",
                    "onExitCodes": {
                        "containerName": TRAINER_CONTAINER,
                        "operator": "In",
                        "values": [EXIT_BAD_INPUT],
                    },
                },
                {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]},
            ]
        },
        "template": {
            "metadata": {"labels": pod_labels, "annotations": annotations},
            "spec": pod_spec,
        },
    }
    if runtime.active_deadline_seconds is not None:
        job_spec["activeDeadlineSeconds"] = runtime.active_deadline_seconds
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(trainingjob),
            "namespace": trainingjob.namespace,
            "labels": job_labels,
            "annotations": annotations,
            "ownerReferences": [owner_reference(trainingjob)],
        },
        "spec": job_spec,
    }

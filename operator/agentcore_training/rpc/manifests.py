"""What start_grpo and cancel write (pure): the queries ConfigMap, the TrainingJob, patches."""

from __future__ import annotations

import json
import re
from typing import Any

from agentcore_training import labels
from agentcore_training.api.evaluation_spec import EvaluationSpec
from agentcore_training.api.output import OutputSpec
from agentcore_training.api.resource import API_VERSION, KIND, TrainingJob
from agentcore_training.rpc import errors
from agentcore_training.rpc.schemas import (
    MIN_QUERIES,
    SPEC_SECTIONS,
    OutputParams,
    StartGrpoParams,
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

_NOT_NAME_CHARS = re.compile(r"[^a-z0-9-]+")


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
    if params.output is not None:
        spec["output"] = output_spec(params.output, name)
    count = len(params.training_queries)
    if params.evaluation is None and count - EvaluationSpec().held_out_count(count) < MIN_QUERIES:
        # The original clients send 100 queries: the default 20 % split would leave 80 and
        # admission would refuse. Written out, so the resource says there is no held-out set.
        spec["evaluation"] = {"heldOutFraction": 0}
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


def output_spec(output: OutputParams, name: str) -> dict[str, Any]:
    """spec.output of the job `name`: its own folder when the call names no path."""
    given = output.model_dump(mode="json", exclude_unset=True, exclude_none=True)
    spec = OutputSpec.model_validate({"path": name, **given})
    return spec.model_dump(mode="json", by_alias=True, exclude_unset=True)


def owner_patch(trainingjob: TrainingJob) -> dict[str, Any]:
    """A merge patch that makes the TrainingJob the owner of its queries ConfigMap."""
    return {
        "metadata": {
            "ownerReferences": [
                {
                    "apiVersion": API_VERSION,
                    "kind": KIND,
                    "name": trainingjob.name,
                    "uid": trainingjob.uid,
                }
            ]
        }
    }


def cancel_patch() -> dict[str, Any]:
    return {"spec": {"cancel": True}}

"""Admission checks that need a lookup: the queries exist, parse, are enough, and can be
scored; the policy is known. Pure: the ConfigMap's data is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from agentcore_training.api.contract import BUILTIN_MODELS
from agentcore_training.api.plugins import RewardType
from agentcore_training.api.policy import learning_rate_warning, policy_conflict
from agentcore_training.api.queries import ConfigMapQueriesRef
from agentcore_training.api.spec import TrainingJobSpec
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.queries import Query, parse_queries
from agentcore_training.trainer.rewards import build_reward


@dataclass(frozen=True)
class Denial:
    """Why a TrainingJob is refused, naming the field."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def check_policy(spec: TrainingJobSpec) -> Denial | None:
    kind, _, name = spec.policy.model.partition(":")
    if kind == "builtin" and name not in BUILTIN_MODELS:
        known = ", ".join(f"builtin:{n}" for n in BUILTIN_MODELS)
        return Denial("spec.policy.model", f"unknown built-in policy {name!r}; known: {known}")
    conflict = policy_conflict(spec.policy)
    if conflict is not None:
        return Denial("spec.policy", conflict)
    return None


def admission_warnings(spec: TrainingJobSpec) -> list[str]:
    """What is allowed but likely a mistake: kubectl prints these on create."""
    warnings = [learning_rate_warning(spec.policy, spec.config.learning_rate)]
    if spec.output is not None and spec.output.merge and spec.policy.lora is None:
        warnings.append(
            "spec.output.merge is true but the policy has no LoRA: there is nothing to merge, "
            "the output holds full weights only"
        )
    return [w for w in warnings if w is not None]


def check_queries(
    spec: TrainingJobSpec,
    namespace: str,
    configmap: Mapping[str, Any] | None,
    *,
    min_queries: int,
) -> Denial | None:
    """Check the ConfigMap-held queries; PVC-held ones are checked by the trainer at start."""
    ref = spec.queries.config_map_ref
    if ref is None:
        return None
    source = f'ConfigMap "{ref.name}" key "{ref.key}"'
    queries = _configmap_queries("spec.queries.configMapRef", ref, namespace, configmap)
    if isinstance(queries, Denial):
        return queries
    denial = _check_training_count(spec, len(queries), source, min_queries)
    if denial is not None:
        return denial
    if spec.reward.type != RewardType.PYTHON:  # user code is the trainer's to import, not ours
        try:
            build_reward(spec.reward, queries)
        except BadInputError as error:
            return Denial("spec.reward", str(error))
    return None


def check_evaluation_queries(
    spec: TrainingJobSpec, namespace: str, configmap: Mapping[str, Any] | None
) -> Denial | None:
    """Check spec.evaluation.queries when a ConfigMap holds them: it exists, its key parses
    (any number of queries from 1), and the reward can score them; PVC-held ones are the
    trainer's to check at start."""
    source_ref = spec.evaluation.queries
    ref = source_ref.config_map_ref if source_ref is not None else None
    if ref is None:
        return None
    queries = _configmap_queries("spec.evaluation.queries.configMapRef", ref, namespace, configmap)
    if isinstance(queries, Denial):
        return queries
    if spec.reward.type != RewardType.PYTHON:
        try:
            build_reward(spec.reward, queries)
        except BadInputError as error:
            return Denial("spec.reward", f"the evaluation queries: {error}")
    return None


def _configmap_queries(
    field: str, ref: ConfigMapQueriesRef, namespace: str, configmap: Mapping[str, Any] | None
) -> list[Query] | Denial:
    """The queries under `ref` in `configmap`, or why not (absent, no such key, unparsable)."""
    if configmap is None:
        return Denial(field, f'ConfigMap "{ref.name}" not found in namespace "{namespace}"')
    data: Mapping[str, str] = configmap.get("data") or {}
    if ref.key not in data:
        keys = ", ".join(sorted(data)) or "none"
        return Denial(
            f"{field}.key", f'ConfigMap "{ref.name}" has no key "{ref.key}" (keys: {keys})'
        )
    try:
        return parse_queries(data[ref.key], f'ConfigMap "{ref.name}" key "{ref.key}"')
    except BadInputError as error:
        return Denial(field, str(error))


def _check_training_count(
    spec: TrainingJobSpec, count: int, source: str, min_queries: int
) -> Denial | None:
    """At least `min_queries` must remain to train on after the held-out split."""
    evaluation = spec.evaluation
    held = evaluation.held_out_count(count)
    if count - held >= min_queries:
        return None
    field = "spec.queries.configMapRef"
    if held == 0:
        return Denial(field, f"{source} holds {count} queries; at least {min_queries} are required")
    needed = count
    while needed - evaluation.held_out_count(needed) < min_queries:
        needed += 1
    advice = (
        f"give {needed} queries or more, give spec.evaluation.queries of their own, or lower "
        "heldOutFraction (0 turns the held-out evaluation off)"
    )
    return Denial(
        field,
        f"{source} holds {count} queries; holding out {held} for evaluation "
        f"(spec.evaluation.heldOutFraction {evaluation.held_out_fraction:g}) leaves "
        f"{count - held} training queries, and at least {min_queries} are required: {advice}",
    )


def parse_spec(obj: Mapping[str, Any]) -> TrainingJobSpec | Denial:
    """The spec as the models see it (the CRD schema has already checked its shape)."""
    try:
        return TrainingJobSpec.model_validate(obj.get("spec") or {})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in ("spec", *first["loc"]))
        return Denial(where, str(first["msg"]))


def review_response(
    uid: str, denial: Denial | None, warnings: list[str] | None = None
) -> dict[str, Any]:
    """An AdmissionReview v1 answer; `warnings` go back to the client (kubectl prints them)."""
    response: dict[str, Any] = {"uid": uid, "allowed": denial is None}
    if denial is not None:
        response["status"] = {"code": 422, "reason": "Invalid", "message": str(denial)}
    if warnings:
        response["warnings"] = warnings
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": response,
    }

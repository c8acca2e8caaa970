"""The TrainingJob spec: what a team asks for. Bounds and defaults here become the CRD's."""

from __future__ import annotations

import math
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from agentcore_training.api.base import ApiModel
from agentcore_training.api.money import Money

# A label value (agentId is used as one): alphanumeric at both ends, at most 63 characters.
AGENT_ID_PATTERN = r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"
CONFIGMAP_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"
POLICY_MODEL_PATTERN = r"^(builtin:[a-z0-9][-a-z0-9]*|hf:/\S+)$"
ENTRY_POINT_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$"


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


class ConfigMapQueriesRef(ApiModel):
    """Queries stored in a ConfigMap of the TrainingJob's namespace."""

    name: str = Field(
        description="Name of the ConfigMap that holds the queries.",
        pattern=DNS_SUBDOMAIN_PATTERN,
        max_length=253,
    )
    key: str = Field(
        default="queries.jsonl",
        description=(
            "Key in the ConfigMap whose value is the queries: JSON lines, or one JSON list, "
            'of {"query": str, "expected_outcome": {...}} items, at least 100 of them.'
        ),
        pattern=CONFIGMAP_KEY_PATTERN,
        max_length=253,
    )


class VolumeQueriesRef(ApiModel):
    """Queries stored in a file on a PersistentVolumeClaim (checked by the trainer at start)."""

    claim_name: str = Field(
        description="Name of the PersistentVolumeClaim, in the TrainingJob's namespace.",
        pattern=DNS_SUBDOMAIN_PATTERN,
        max_length=253,
    )
    path: str = Field(
        description="Path of the queries file inside the volume (JSON lines or one JSON list).",
        min_length=1,
        max_length=1024,
        pattern=r"^[^/].*$",
    )


class QueriesSource(ApiModel):
    """Where the training queries are. Exactly one source must be set."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": {
            "x-kubernetes-validations": [
                {
                    "rule": "[has(self.configMapRef), has(self.persistentVolumeClaim)]"
                    ".filter(x, x).size() == 1",
                    "message": "exactly one of configMapRef or persistentVolumeClaim must be set",
                }
            ]
        }
    }

    config_map_ref: ConfigMapQueriesRef | None = Field(
        default=None,
        description="Queries in a ConfigMap; checked at admission (exist, parse, at least 100).",
    )
    persistent_volume_claim: VolumeQueriesRef | None = Field(
        default=None,
        description="Queries in a file on a PersistentVolumeClaim; checked by the trainer.",
    )

    @model_validator(mode="after")
    def _exactly_one_source(self) -> QueriesSource:
        if (self.config_map_ref is None) == (self.persistent_volume_claim is None):
            raise ValueError("exactly one of configMapRef or persistentVolumeClaim must be set")
        return self


class GRPOConfig(ApiModel):
    """Group Relative Policy Optimization settings, and the dollar budget of the run."""

    n_iterations: int = Field(
        default=10, ge=1, le=10000, description="Number of GRPO iterations (outer steps)."
    )
    batch_size: int = Field(
        default=16, ge=1, le=128, description="Queries sampled for each iteration."
    )
    n_trajectories_per_query: int = Field(
        default=8,
        ge=1,
        le=16,
        description="Trajectories sampled for each query: the GRPO group size.",
    )
    learning_rate: float = Field(
        default=1e-4, gt=0, le=1, description="AdamW learning rate, in (0, 1]."
    )
    max_budget_usd: Money = Field(
        default=Decimal("10.00"),
        description=(
            'Most US dollars the run may spend, as a decimal string (for example "10.00"). '
            "The trainer stops with BudgetExhausted before an iteration that could exceed it; "
            "status.cost.costUsd never exceeds it."
        ),
    )
    checkpoint_interval: int = Field(
        default=5,
        ge=1,
        le=10000,
        description="Write a checkpoint every this many iterations (and always at the end).",
    )
    max_steps_per_trajectory: int = Field(
        default=20,
        ge=1,
        le=100,
        description="Most environment steps (actions) in one trajectory.",
    )
    gamma: float = Field(
        default=0.99,
        ge=0,
        le=1,
        description="Discount applied per remaining step to the outcome reward of a trajectory.",
    )
    kl_coef: float = Field(
        default=0.04,
        ge=0,
        le=10,
        description="Weight of the KL penalty to the frozen reference policy (beta).",
    )
    clip_epsilon: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description="Clipping range of the policy ratio in the surrogate objective.",
    )
    temperature: float = Field(
        default=1.0, gt=0, le=10, description="Sampling temperature of the trajectories."
    )
    max_new_tokens: int = Field(
        default=32, ge=1, le=4096, description="Most tokens the policy generates for one action."
    )
    seed: int = Field(
        default=0,
        ge=0,
        le=2**31 - 1,
        description="Random seed of sampling, initialisation and data order.",
    )


class PolicySpec(ApiModel):
    """The model being trained."""

    model: str = Field(
        default="builtin:tiny",
        description=(
            "builtin:<name> for a built-in model (builtin:tiny, a small causal transformer "
            "that trains on CPU), or hf:<absolute path> for a Hugging Face model in the image "
            "or on a volume. Nothing is downloaded at run time."
        ),
        pattern=POLICY_MODEL_PATTERN,
        max_length=1010,
    )
    warm_start_steps: int = Field(
        default=0,
        ge=0,
        le=100000,
        description=(
            "Supervised steps of format-only warm start before GRPO (teaches the answer "
            "format on random targets, never the task's answers); 0 turns it off."
        ),
    )


class RewardType(StrEnum):
    """The built-in reward functions."""

    EXACT_MATCH = "exact_match"
    NUMERIC = "numeric"
    CONTAINS = "contains"
    REGEX = "regex"
    PYTHON = "python"


class _PluggableSpec(ApiModel):
    """A spec whose type `python` names a user-supplied entry point (rewards, environments)."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": {
            "x-kubernetes-validations": [
                {
                    "rule": "!has(self.type) || self.type != 'python' || has(self.entryPoint)",
                    "message": "entryPoint is required when type is python",
                    "fieldPath": ".entryPoint",
                }
            ]
        }
    }

    @model_validator(mode="after")
    def _python_needs_entry_point(self) -> Self:
        if getattr(self, "type", None) == "python" and not getattr(self, "entry_point", None):
            raise ValueError("entryPoint is required when type is python")
        return self


class RewardSpec(_PluggableSpec):
    """How a trajectory is scored against its query's expected_outcome."""

    type: RewardType = Field(
        default=RewardType.EXACT_MATCH,
        description=(
            "exact_match, numeric (within tolerance), contains, regex (expected_outcome holds "
            "the pattern), or python (a user-supplied entry point)."
        ),
    )
    field: str = Field(
        default="answer",
        description="Key of expected_outcome that the reward reads.",
        min_length=1,
        max_length=253,
    )
    tolerance: float = Field(
        default=1e-6, ge=0, description="Absolute tolerance of the numeric reward."
    )
    case_sensitive: bool = Field(
        default=True, description="Whether text comparisons are case-sensitive."
    )
    entry_point: str | None = Field(
        default=None,
        description="module:function of a Python reward, for type python.",
        pattern=ENTRY_POINT_PATTERN,
        max_length=303,
    )


class EnvironmentType(StrEnum):
    """The environments a trajectory can run in."""

    SINGLE_TURN = "single_turn"
    CALCULATOR = "calculator"
    PYTHON = "python"


class EnvironmentSpec(_PluggableSpec):
    """Where the agent acts: one answer, or several steps with tool calls."""

    type: EnvironmentType = Field(
        default=EnvironmentType.SINGLE_TURN,
        description=(
            "single_turn (the completion is the answer), calculator (the agent may call "
            "calc(<arithmetic>) and ends with answer(<text>)), or python (a user-supplied "
            "entry point)."
        ),
    )
    entry_point: str | None = Field(
        default=None,
        description=(
            "module:function of a Python environment, for type python: called with no "
            "arguments, it returns a new environment (reset and step) for each trajectory."
        ),
        pattern=ENTRY_POINT_PATTERN,
        max_length=303,
    )
    malformed_penalty: float = Field(
        default=1.0,
        ge=0,
        le=100,
        description=(
            "A trajectory that ends on a malformed action (neither a tool call nor an answer) "
            "gets reward -malformedPenalty."
        ),
    )
    max_tool_result_chars: int = Field(
        default=32,
        ge=4,
        le=4096,
        description="Longest tool result appended to the agent's context, in characters.",
    )
    max_expression_chars: int = Field(
        default=64,
        ge=1,
        le=4096,
        description="Longest calc(...) expression evaluated (characters); longer is a tool error.",
    )


class PricingSpec(ApiModel):
    """How the cost ledger prices a run. Every price is a decimal string of US dollars."""

    compute_usd_per_hour: Money = Field(
        default=Decimal("0.50"),
        description="Price of one hour of the trainer's wall-clock compute.",
    )
    usd_per_1k_prompt_tokens: Money = Field(
        default=Decimal("0.0001"),
        alias="usdPer1kPromptTokens",
        description="Price of 1,000 prompt (input) tokens processed.",
    )
    usd_per_1k_completion_tokens: Money = Field(
        default=Decimal("0.0004"),
        alias="usdPer1kCompletionTokens",
        description="Price of 1,000 completion (generated) tokens.",
    )
    usd_per_tool_call: Money = Field(
        default=Decimal("0"),
        description="Price of one tool call made by the agent in a multi-step environment.",
    )


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


class Decoding(StrEnum):
    """How the held-out evaluation samples its answers."""

    GREEDY = "greedy"
    TEMPERATURE = "temperature"


class EvaluationMetric(StrEnum):
    """The held-out number that picks the best checkpoint."""

    SUCCESS_RATE = "success_rate"
    MEAN_REWARD = "mean_reward"


class EvaluationSpec(ApiModel):
    """Held-out evaluation: queries never trained on, scored at the start, every `interval`
    iterations and at the end; the best checkpoint is the best of these evaluations."""

    held_out_fraction: float = Field(
        default=0.2,
        ge=0,
        le=0.9,
        description=(
            "Fraction of spec.queries held out for evaluation and never trained on: the last "
            "part of the queries after a shuffle seeded by config.seed (floor(n * fraction) "
            "queries). At least 100 training queries must remain. 0 with no evaluation "
            "queries turns the evaluation off. Not used when queries is set."
        ),
    )
    queries: QueriesSource | None = Field(
        default=None,
        description=(
            "Evaluation queries of their own (a ConfigMap or a file on a PVC, like "
            "spec.queries); then every query of spec.queries is trained on."
        ),
    )
    interval: int = Field(
        default=10,
        ge=1,
        le=10000,
        description="Evaluate every this many iterations; always before the first and after "
        "the last.",
    )
    samples_per_query: int = Field(
        default=1, ge=1, le=16, description="Answers sampled for each evaluation query."
    )
    decoding: Decoding = Field(
        default=Decoding.GREEDY,
        description="greedy (the most likely token each step), or temperature (sampled at "
        "config.temperature, as in training).",
    )
    metric: EvaluationMetric = Field(
        default=EvaluationMetric.SUCCESS_RATE,
        description=(
            "success_rate (the fraction of evaluation answers whose reward reaches "
            "successThreshold) or mean_reward: the number that picks bestCheckpointId."
        ),
    )
    success_threshold: float = Field(
        default=1.0, description="Least reward that counts an answer as a success."
    )

    @property
    def enabled(self) -> bool:
        return self.queries is not None or self.held_out_fraction > 0

    def held_out_count(self, n_queries: int) -> int:
        """How many of spec.queries' `n_queries` are held out: floor(n * heldOutFraction)
        (rounded to 1e-9 first, against float noise), none when queries is set."""
        if self.queries is not None:
            return 0
        return math.floor(round(n_queries * self.held_out_fraction, 9))


def _immutable(field: str, *, optional: bool) -> dict[str, Any]:
    """A CEL transition rule that keeps spec.<field> as it was created."""
    rule = (
        f"has(self.{field}) == has(oldSelf.{field}) && "
        f"(!has(self.{field}) || self.{field} == oldSelf.{field})"
        if optional
        else f"self.{field} == oldSelf.{field}"
    )
    return {
        "rule": rule,
        "message": f"{field} is immutable: create a new TrainingJob for a new run",
        "fieldPath": f".{field}",
    }


class TrainingJobSpec(ApiModel):
    """A GRPO training run of one agent. Immutable after creation except cancel and suspend."""

    model_config = ApiModel.model_config | {
        "json_schema_extra": {
            "x-kubernetes-validations": [
                _immutable("agentId", optional=False),
                _immutable("queries", optional=False),
                _immutable("config", optional=False),
                _immutable("policy", optional=False),
                _immutable("reward", optional=False),
                _immutable("environment", optional=False),
                _immutable("pricing", optional=False),
                _immutable("runtime", optional=False),
                _immutable("evaluation", optional=False),
            ]
        }
    }

    agent_id: str = Field(
        description="The agent being trained: 1-63 letters, digits, '-', '_' or '.'.",
        pattern=AGENT_ID_PATTERN,
        max_length=63,
    )
    queries: QueriesSource = Field(description="Where the training queries are.")
    config: GRPOConfig = Field(
        default_factory=GRPOConfig, description="GRPO settings and the dollar budget."
    )
    policy: PolicySpec = Field(default_factory=PolicySpec, description="The model being trained.")
    reward: RewardSpec = Field(
        default_factory=RewardSpec, description="How trajectories are scored."
    )
    environment: EnvironmentSpec = Field(
        default_factory=EnvironmentSpec,
        description=(
            "Where the agent acts: single_turn (default), calculator, or a Python environment."
        ),
    )
    pricing: PricingSpec = Field(
        default_factory=PricingSpec, description="How the cost ledger prices the run."
    )
    runtime: RuntimeSpec = Field(
        default_factory=RuntimeSpec, description="How the trainer runs as a Kubernetes Job."
    )
    evaluation: EvaluationSpec = Field(
        default_factory=EvaluationSpec,
        description="Held-out evaluation against the untrained baseline (20 % split by default).",
    )
    cancel: bool = Field(
        default=False,
        description="Set to true to cancel the run: the trainer checkpoints and stops.",
    )
    suspend: bool = Field(
        default=False,
        description="Set to true to suspend the Job; set back to false to resume it.",
    )

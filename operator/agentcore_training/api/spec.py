"""The TrainingJob spec: what a team asks for. Bounds and defaults here become the CRD's.

The parts live beside it: queries.py, policy.py, plugins.py, runtime.py, evaluation_spec.py,
output.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field, model_validator

from agentcore_training.api.base import ApiModel
from agentcore_training.api.evaluation_spec import EvaluationSpec
from agentcore_training.api.money import Money
from agentcore_training.api.output import OutputSpec
from agentcore_training.api.patterns import AGENT_ID_PATTERN
from agentcore_training.api.plugins import EnvironmentSpec, RewardSpec
from agentcore_training.api.policy import PolicySpec
from agentcore_training.api.queries import QueriesSource
from agentcore_training.api.runtime import RuntimeSpec


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


PROCESSES_EXCEED_BATCH = (
    "config.batchSize must be at least runtime.processesPerPod: each data-parallel process "
    "rolls out at least one query an iteration"
)
RANKS_EXCEED_BATCH = (
    "config.batchSize must be at least runtime.pods x runtime.processesPerPod (1 when "
    "unset): each data-parallel process rolls out at least one query an iteration"
)


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
                _immutable("output", optional=True),
                {
                    "rule": (
                        "!has(self.runtime.processesPerPod) || "
                        "self.config.batchSize >= self.runtime.processesPerPod"
                    ),
                    "message": PROCESSES_EXCEED_BATCH,
                    "fieldPath": ".runtime.processesPerPod",
                },
                {
                    "rule": (
                        "!has(self.runtime.pods) || self.config.batchSize >= "
                        "self.runtime.pods * (has(self.runtime.processesPerPod) ? "
                        "self.runtime.processesPerPod : 1)"
                    ),
                    "message": RANKS_EXCEED_BATCH,
                    "fieldPath": ".runtime.pods",
                },
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
    output: OutputSpec | None = Field(
        default=None,
        description=(
            "Where the trainer writes the trained model at the end (final and best, Hugging "
            "Face folders, with a manifest); without it only the checkpoints are kept."
        ),
    )
    cancel: bool = Field(
        default=False,
        description="Set to true to cancel the run: the trainer checkpoints and stops.",
    )
    suspend: bool = Field(
        default=False,
        description="Set to true to suspend the Job; set back to false to resume it.",
    )

    @model_validator(mode="after")
    def _processes_fit_the_batch(self) -> TrainingJobSpec:
        # The GPU-count default too, which the CRD's rule cannot see.
        if self.config.batch_size < self.runtime.processes():
            raise ValueError(
                f"{PROCESSES_EXCEED_BATCH} (batchSize {self.config.batch_size}, "
                f"{self.runtime.processes()} processes)"
            )
        if self.config.batch_size < self.runtime.world_size():
            raise ValueError(
                f"{RANKS_EXCEED_BATCH} (batchSize {self.config.batch_size}, "
                f"{self.runtime.pods} pods x {self.runtime.processes()} processes)"
            )
        return self

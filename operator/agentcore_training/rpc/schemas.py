"""Params and results of the JSON-RPC methods as pydantic models (pure).

The names and shapes are the original contract's (DESIGN.md section 6); keys added since
(`namespace`, `name`, `created_at`, `history`, ...) are extra keys that old clients ignore.
The OpenRPC document (`rpc.discover`) is generated from these models.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from agentcore_training.api.base import ApiModel
from agentcore_training.api.evaluation import EvaluationStatus
from agentcore_training.api.evaluation_spec import EvaluationSpec
from agentcore_training.api.output import claim_name_field, merge_field, output_path_field
from agentcore_training.api.patterns import AGENT_ID_PATTERN, DNS_LABEL_PATTERN
from agentcore_training.api.plugins import EnvironmentSpec, RewardSpec
from agentcore_training.api.policy import PolicySpec
from agentcore_training.api.queries import MIN_TRAINING_QUERIES
from agentcore_training.api.spec import GRPOConfig, PricingSpec
from agentcore_training.api.status import Cost, EpochMetrics, History, OutputStatus, Progress

MIN_QUERIES = MIN_TRAINING_QUERIES
_DEFAULTS = GRPOConfig()  # the spec's defaults, quoted in descriptions
MONEY_NUMBER_SCHEMA: dict[str, Any] = {"type": "number", "minimum": 0}
"""How money appears in the results of the original methods (the original returned floats)."""
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

LIST_LIMIT_DEFAULT = 100
LIST_LIMIT_MAX = 1000

JobStatus = Literal["queued", "running", "completed", "failed", "cancelled"]
FINISHED_STATUSES: frozenset[str] = frozenset({"completed", "failed", "cancelled"})


class ParamsModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResultModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_json(self) -> dict[str, Any]:
        """The result for protocol.dumps: money stays Decimal, written as a JSON number."""
        return self.model_dump(mode="python")


ResultMoney = Annotated[Decimal, WithJsonSchema(MONEY_NUMBER_SCHEMA)]
"""US dollars in a result: a JSON number with the Decimal's exact digits."""


_NAMESPACE_DESCRIPTION = (
    "Kubernetes namespace of the job (the tenant); defaults to the shim's configured namespace."
)


def namespace_field(description: str = _NAMESPACE_DESCRIPTION) -> Any:
    return Field(default=None, pattern=DNS_LABEL_PATTERN, max_length=63, description=description)


class TrainingQuery(BaseModel):
    """One training query and what a good answer looks like."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    query: str = Field(min_length=1, description="The task given to the agent.")
    expected_outcome: dict[str, Any] = Field(
        description="What a good answer looks like; the reward function reads it."
    )


class OutputParams(ApiModel):
    """spec.output in snake_case, with a default path."""

    claim_name: str = claim_name_field()
    path: str | None = output_path_field(
        "Folder inside the volume, relative, without '.' or '..' segments; written whole at "
        "the end of the run (replaced if it exists). Omitted: the job's name (the result's "
        "`name`), so that runs do not overwrite each other.",
        default=None,
    )
    merge: bool = merge_field()


class StartGrpoParams(ParamsModel):
    """Params of training.start_grpo."""

    agent_id: str = Field(
        pattern=AGENT_ID_PATTERN,
        max_length=63,
        description="The agent being trained: 1-63 letters, digits, '-', '_' or '.'.",
    )
    training_queries: list[TrainingQuery] = Field(
        min_length=MIN_QUERIES,
        description=(
            f"At least {MIN_QUERIES} training queries ({{query, expected_outcome}} objects); "
            "`training_data` is accepted as an alias."
        ),
    )
    config: GRPOConfig | None = Field(
        default=None,
        description=(
            "GRPOConfig fields in snake_case (n_iterations, learning_rate, max_budget_usd, ...). "
            f"Omitted: {_DEFAULTS.n_iterations} iterations, budget "
            f'"{_DEFAULTS.max_budget_usd}", a checkpoint every {_DEFAULTS.checkpoint_interval}.'
        ),
    )
    namespace: str | None = namespace_field()
    # Added after the original params, so positional calls keep their meaning.
    policy: PolicySpec | None = Field(
        default=None,
        description=(
            "spec.policy in snake_case (model, warm_start_steps). Omitted: builtin:tiny, "
            "no warm start. An addition to the original contract."
        ),
    )
    reward: RewardSpec | None = Field(
        default=None,
        description=(
            "spec.reward in snake_case (type, field, tolerance, ...). Omitted: exact_match "
            "on expected_outcome.answer. An addition to the original contract."
        ),
    )
    pricing: PricingSpec | None = Field(
        default=None,
        description=(
            "spec.pricing in snake_case: how the ledger prices the run. Omitted: the CRD's "
            "defaults. An addition to the original contract."
        ),
    )
    environment: EnvironmentSpec | None = Field(
        default=None,
        description=(
            "spec.environment in snake_case (type single_turn | calculator | python, "
            "entry_point, malformed_penalty, ...): what max_steps_per_trajectory and gamma act "
            "on. Omitted: single_turn. An addition to the original contract."
        ),
    )
    evaluation: EvaluationSpec | None = Field(
        default=None,
        description=(
            "spec.evaluation in snake_case (held_out_fraction, interval, samples_per_query, "
            "decoding, metric, success_threshold). Omitted: the CRD's 20 % held-out split when "
            "it leaves at least 100 queries to train on (125 queries or more), else "
            "held_out_fraction 0 (no held-out evaluation), so that the original 100-query "
            "calls keep working. An addition to the original contract."
        ),
    )
    output: OutputParams | None = Field(
        default=None,
        description=(
            "spec.output in snake_case (claim_name, path, merge): the PersistentVolumeClaim "
            "and folder where the trainer writes the trained model at the end (final and best "
            "Hugging Face folders and a manifest; get_status's `output` says where). Omitted: "
            "only the checkpoints are kept. An addition to the original contract."
        ),
    )


# The spec sections start_grpo takes besides agent_id and the queries, by param name.
SPEC_SECTIONS = ("config", "policy", "reward", "pricing", "environment", "evaluation")


class JobRefParams(ParamsModel):
    """Params of training.get_status and training.cancel."""

    job_id: str = Field(
        pattern=UUID_PATTERN, description="The job's id: the TrainingJob's metadata.uid, a UUID."
    )
    namespace: str | None = namespace_field(
        "Only look for the job in this namespace (optional: job ids are unique cluster-wide)."
    )


class ListJobsParams(ParamsModel):
    """Params of training.list_jobs."""

    agent_id: str | None = Field(
        default=None,
        pattern=AGENT_ID_PATTERN,
        max_length=63,
        description="Only the jobs of this agent.",
    )
    namespace: str | None = namespace_field(
        "Only this namespace; omitted: every namespace where the caller may list TrainingJobs."
    )
    status: JobStatus | Annotated[list[JobStatus], Field(min_length=1)] | None = Field(
        default=None,
        description=(
            "Only jobs in this status, or in one of these (queued, running, completed, failed, "
            "cancelled). Added since the original contract."
        ),
    )
    limit: int = Field(
        default=LIST_LIMIT_DEFAULT,
        ge=1,
        le=LIST_LIMIT_MAX,
        description=f"Most jobs in the answer (at most {LIST_LIMIT_MAX}).",
    )
    offset: int = Field(
        default=0, ge=0, description="Jobs to skip, in the stable order, before the first one."
    )

    def statuses(self) -> frozenset[str] | None:
        """The statuses asked for; None: all."""
        if self.status is None:
            return None
        return frozenset([self.status] if isinstance(self.status, str) else self.status)


class DiscoverParams(ParamsModel):
    """rpc.discover takes no params."""


# Result fields that several methods return, described once. "Added" marks keys that are
# new since the original contract (old clients ignore them).
_RESULT_FIELDS = {
    "success": "Always true in a result (a failure is a JSON-RPC error).",
    "job_id": "The job's id: the TrainingJob's metadata.uid, a UUID.",
    "agent_id": "spec.agentId: the agent being trained.",
    "status": "Lower-case status.phase: queued, running, completed, failed or cancelled "
    "(queued before the operator has set a phase).",
    "total_iterations": "Iterations the run will do (spec.config.nIterations).",
    "current_iteration": "Iterations completed (status.progress.currentIteration).",
    "best_checkpoint_id": "status.bestCheckpointId: the best checkpoint so far, null before one.",
    "namespace": "The TrainingJob's namespace. Added since the original contract.",
    "name": "The TrainingJob's name (kubectl get tj NAME). Added since the original contract.",
    "created_at": "metadata.creationTimestamp (RFC 3339).",
    "created_at_added": "metadata.creationTimestamp (RFC 3339). Added since the original contract.",
    "message": "status.message: a sentence on the current state, for people (null before "
    "the operator writes one). Added since the original contract.",
}


def result_field(key: str, **kwargs: Any) -> Any:
    return Field(description=_RESULT_FIELDS[key], **kwargs)


class StartGrpoResult(ResultModel):
    """Result of training.start_grpo."""

    success: Literal[True] = result_field("success", default=True)
    job_id: str = Field(description="The new job's id (metadata.uid).")
    agent_id: str = result_field("agent_id")
    status: JobStatus = result_field("status")
    total_iterations: int = result_field("total_iterations")
    budget_usd: ResultMoney = Field(
        description="spec.config.maxBudgetUsd: a JSON number with the Decimal's exact digits."
    )
    created_at: str = result_field("created_at")
    namespace: str = result_field("namespace")
    name: str = result_field("name")
    warnings: list[str] = Field(
        default_factory=list,
        description=(
            "What the apiserver warned of on create (the admission webhook's warnings, as "
            "kubectl prints them): allowed, but likely a mistake. Empty when none."
        ),
    )


class GetStatusResult(ResultModel):
    """Result of training.get_status."""

    success: Literal[True] = result_field("success", default=True)
    job_id: str = result_field("job_id")
    agent_id: str = result_field("agent_id")
    status: JobStatus = result_field("status")
    progress: Progress = Field(
        description="status.progress; before the operator reports, 0 of spec.config.nIterations."
    )
    metrics: dict[str, float | int] = Field(
        description="status.metrics with snake_case keys (avg_reward, loss, kl, ...)."
    )
    epochs: list[EpochMetrics] | None = Field(
        default=None,
        description=(
            "status.metrics.epochs: the latest update's figures per inner epoch (loss, kl, "
            "clip_ratio, grad_norm). Added since the original contract; kept out of `metrics`, "
            "whose values stay numbers."
        ),
    )
    cost: Cost = Field(
        description=(
            "status.cost: US dollars as JSON numbers written from the Decimals with their exact "
            "digits; before the trainer reports, cost 0 and the spec's budget."
        )
    )
    best_checkpoint_id: str | None = result_field("best_checkpoint_id")
    history: History = Field(
        description=(
            "status.history: the bounded, downsampled reward curve (empty before any report). "
            "Added since the original contract."
        )
    )
    namespace: str = result_field("namespace")
    name: str = result_field("name")
    created_at: str = result_field("created_at_added")
    message: str | None = result_field("message", default=None)
    evaluation: EvaluationStatus | None = Field(
        default=None,
        description=(
            "status.evaluation: the held-out evaluation's baseline, latest and best records and "
            "its curve (null before the trainer reports one). Added since the original contract."
        ),
    )
    output: OutputStatus | None = Field(
        default=None,
        description=(
            "status.output: where the trained model was kept (claim, folder, manifest, the "
            "final and best checkpoints), or kept false. Added since the original contract."
        ),
    )


class CancelResult(ResultModel):
    """Result of training.cancel: the cancel is recorded (spec.cancel is true)."""

    success: Literal[True] = result_field("success", default=True)
    job_id: str = result_field("job_id")
    status: JobStatus = Field(
        description="cancelled: the cancel is recorded; get_status follows the trainer stopping."
    )
    cancelled_at: str = Field(
        description="status.cancelledAt when the operator has set it, else the time of the call."
    )
    namespace: str = result_field("namespace")
    name: str = result_field("name")


class JobSummary(ResultModel):
    job_id: str = result_field("job_id")
    agent_id: str = result_field("agent_id")
    status: JobStatus = result_field("status")
    current_iteration: int = result_field("current_iteration")
    total_iterations: int = result_field("total_iterations")
    namespace: str = result_field("namespace")
    name: str = result_field("name")
    created_at: str = result_field("created_at_added")


class ListJobsResult(ResultModel):
    """Result of training.list_jobs: oldest first (creation time, then job id)."""

    success: Literal[True] = result_field("success", default=True)
    jobs: list[JobSummary] = Field(description="The jobs of this page, oldest first.")
    count: int = Field(description="len(jobs): the jobs in this page.")
    total_count: int = Field(
        description="The jobs that match, before limit and offset. Added since the original."
    )


class DiscoverResult(BaseModel):
    """An OpenRPC 1.3 document."""

    model_config = ConfigDict(extra="allow")

    openrpc: str = Field(description="The OpenRPC version the document follows (1.3.x).")

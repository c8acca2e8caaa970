"""The TrainingJob status: written by the operator only."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from agentcore_training.api.base import ApiModel
from agentcore_training.api.budget import STATUS_DESCRIPTION, BudgetStatus, budget_status
from agentcore_training.api.evaluation import EvaluationStatus
from agentcore_training.api.money import Money

# Points kept in status.history: enough for a plot, small enough for etcd (about 2 KiB).
HISTORY_MAX_POINTS = 100
INNER_EPOCHS_MAX = 16
"""The most inner epochs (optimiser passes over one batch): each is reported."""


class Phase(StrEnum):
    """Where a TrainingJob is in its life."""

    QUEUED = "Queued"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"

    @property
    def is_finished(self) -> bool:
        return self in (Phase.COMPLETED, Phase.FAILED, Phase.CANCELLED)


class ConditionType(StrEnum):
    """The conditions a TrainingJob reports (`kubectl wait --for=condition=<type>`)."""

    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    CANCELLED = "Cancelled"
    SUSPENDED = "Suspended"
    BUDGET_EXHAUSTED = "BudgetExhausted"
    BUDGET_EXCEEDED = "BudgetExceeded"
    """True when the spend went above maxBudgetUsd (the trainer failed to stop in time)."""
    BUDGET_WARNING = "BudgetWarning"
    """True once the spend reached a budget alert threshold; the reason names the highest."""
    SUMMARY_LOST = "SummaryLost"
    """True when the Job completed but the trainer's final summary could not be read."""
    IMPROVED = "Improved"
    HUNG = "Hung"
    """True when the trainer sent no report for spec.runtime.progressDeadlineSeconds (not
    `Stalled`: kstatus, as Flux uses it, reads that as a failed reconciliation)."""


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(ApiModel):
    """One aspect of the TrainingJob's state, in the Kubernetes API conventions' form."""

    type: ConditionType = Field(description="Which aspect this condition reports.")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(
        description="A CamelCase word that says why, for machines.",
        pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
        max_length=1024,
    )
    message: str = Field(
        default="", description="A sentence that says why, for people.", max_length=32768
    )
    last_transition_time: datetime = Field(
        description="When the status of this condition last changed."
    )
    observed_generation: int | None = Field(
        default=None, ge=0, description="The spec generation this condition was set from."
    )


class Progress(ApiModel):
    """How far the run has come."""

    current_iteration: int = Field(default=0, ge=0, description="Iterations completed.")
    total_iterations: int = Field(default=0, ge=0, description="Iterations the run will do.")
    percent_complete: int = Field(
        default=0, ge=0, le=100, description="current / total, as a whole percentage."
    )


class EpochMetrics(ApiModel):
    """The update's figures in one inner epoch (they differ from epoch to epoch)."""

    loss: float = Field(description="GRPO loss in this epoch, before its optimiser step.")
    kl: float = Field(
        description="KL to the reference in this epoch; the first epoch of a run reads exactly 0."
    )
    clip_ratio: float = Field(description="Fraction of tokens whose ratio was clipped.")
    grad_norm: float = Field(description="Gradient norm before clipping.")


class Metrics(ApiModel):
    """The latest iteration's training metrics."""

    avg_reward: float | None = Field(default=None, description="Mean reward of the trajectories.")
    std_reward: float | None = Field(default=None, description="Standard deviation of reward.")
    loss: float | None = Field(default=None, description="GRPO loss.")
    kl: float | None = Field(default=None, description="KL divergence to the reference policy.")
    clip_ratio: float | None = Field(
        default=None, description="Fraction of tokens whose ratio was clipped."
    )
    entropy: float | None = Field(default=None, description="Mean token entropy of the policy.")
    mean_completion_length: float | None = Field(
        default=None, description="Mean generated tokens per trajectory."
    )
    frac_zero_std_groups: float | None = Field(
        default=None, description="Fraction of groups whose rewards were all equal (no signal)."
    )
    mean_steps_per_trajectory: float | None = Field(
        default=None, description="Mean environment steps per trajectory."
    )
    tool_calls_per_trajectory: float | None = Field(
        default=None, description="Mean tool calls per trajectory."
    )
    tool_error_rate: float | None = Field(
        default=None, description="Fraction of tool calls that ended in a tool error."
    )
    frac_truncated: float | None = Field(
        default=None, description="Fraction of trajectories cut at maxStepsPerTrajectory."
    )
    tokens: int | None = Field(default=None, ge=0, description="Tokens processed so far.")
    iteration_seconds: float | None = Field(
        default=None, ge=0, description="Seconds the latest iteration took."
    )
    epochs: list[EpochMetrics] | None = Field(
        default=None,
        max_length=INNER_EPOCHS_MAX,
        description=(
            "Loss, KL, clip ratio and gradient norm of each inner epoch of the latest update "
            "(loss, kl and clipRatio above are their means)."
        ),
    )


class History(ApiModel):
    """A bounded, downsampled reward curve, for plots."""

    iterations: list[int] = Field(
        default_factory=list,
        description="Iteration numbers of the points.",
        max_length=HISTORY_MAX_POINTS,
    )
    avg_reward: list[float] = Field(
        default_factory=list,
        description="Mean reward at each of those iterations.",
        max_length=HISTORY_MAX_POINTS,
    )


class Cost(ApiModel):
    """Money spent, from the trainer's Decimal ledger: the true spend (BudgetExceeded if above)."""

    cost_usd: Money = Field(default=Decimal("0"), description="US dollars spent so far.")
    budget_usd: Money = Field(default=Decimal("0"), description="spec.config.maxBudgetUsd.")
    budget_remaining_usd: Money = Field(default=Decimal("0"), description="budgetUsd - costUsd.")
    budget_status: BudgetStatus = Field(
        default=BudgetStatus.OK,
        description=STATUS_DESCRIPTION,
    )

    @model_validator(mode="after")
    def _status_of_the_amounts(self) -> Cost:
        # A pure function of the amounts: whatever was given (or stored before the field
        # existed), the status is the one they make.
        status = budget_status(self.cost_usd, self.budget_usd)
        if self.budget_status != status:
            object.__setattr__(self, "budget_status", status)
        return self


class OutputModelStatus(ApiModel):
    """One policy written to spec.output."""

    checkpoint_id: str = Field(description="The checkpoint it was taken from.", max_length=253)
    iteration: int = Field(ge=0, description="The iteration of that checkpoint.")
    folder: str = Field(description="Its folder inside the volume.", max_length=2048)
    merged_folder: str | None = Field(
        default=None,
        description="LoRA with output.merge: the merged weights' folder inside the volume.",
        max_length=2048,
    )


class OutputStatus(ApiModel):
    """Where the trained model was kept, or that nothing was."""

    kept: bool = Field(description="True when the trainer wrote the model to spec.output.")
    claim_name: str | None = Field(
        default=None, description="The PersistentVolumeClaim it is on.", max_length=253
    )
    path: str | None = Field(
        default=None, description="The output folder inside the volume.", max_length=1024
    )
    manifest: str | None = Field(
        default=None,
        description="manifest.json inside the volume: files, sha256, base model, spend.",
        max_length=2048,
    )
    format: str | None = Field(
        default=None, description="full or adapter (LoRA): how the weights are written."
    )
    final: OutputModelStatus | None = Field(default=None, description="The final policy.")
    best: OutputModelStatus | None = Field(
        default=None, description="The best policy (status.bestCheckpointId)."
    )
    message: str = Field(default="", description="A sentence on what was kept.", max_length=1024)


class TrainingJobStatus(ApiModel):
    """What the operator observed. Written by the operator only."""

    job_id: str | None = Field(
        default=None, description="The job's id: metadata.uid, a UUID.", max_length=64
    )
    phase: Phase | None = Field(
        default=None, description="Queued, Running, Completed, Failed or Cancelled."
    )
    conditions: list[Condition] = Field(
        default_factory=list, description="Conditions, one per type.", max_length=16
    )
    progress: Progress | None = Field(default=None, description="How far the run has come.")
    metrics: Metrics | None = Field(default=None, description="The latest training metrics.")
    history: History | None = Field(default=None, description="A bounded reward curve.")
    cost: Cost | None = Field(default=None, description="Money spent against the budget.")
    evaluation: EvaluationStatus | None = Field(
        default=None, description="Held-out evaluation: baseline, latest and best."
    )
    best_checkpoint_id: str | None = Field(
        default=None,
        description=(
            "The best checkpoint: by the held-out evaluation metric, or by the mean training "
            "reward when the evaluation is off."
        ),
        max_length=253,
    )
    output: OutputStatus | None = Field(
        default=None, description="Where the trained model was kept (spec.output), or that not."
    )
    attempt: int | None = Field(
        default=None,
        ge=1,
        description="The trainer pod's attempt (1 for the first pod; a retry adds one).",
    )
    job_name: str | None = Field(
        default=None,
        description="Name of the batch/v1 Job that runs the trainer.",
        max_length=63,
    )
    start_time: datetime | None = Field(default=None, description="When the trainer started.")
    last_report_time: datetime | None = Field(
        default=None,
        description=(
            "When the operator last accepted a progress report of the trainer (the stall "
            "watchdog's clock: spec.runtime.progressDeadlineSeconds)."
        ),
    )
    completion_time: datetime | None = Field(
        default=None, description="When the run finished (Completed, Failed or Cancelled)."
    )
    cancelled_at: datetime | None = Field(default=None, description="When the run was cancelled.")
    observed_generation: int | None = Field(
        default=None, ge=0, description="The spec generation the status reflects."
    )
    message: str | None = Field(
        default=None, description="A sentence on the current state, for people.", max_length=4096
    )

    def updated(self, **fields: Any) -> TrainingJobStatus:
        """A copy with `fields` (snake_case names) set and validated, as a patch to be written.

        The fields given here or when this status was built are the ones `to_patch` writes.
        """
        given = {name: getattr(self, name) for name in self.model_fields_set}
        return TrainingJobStatus.model_validate({**given, **fields})

    def to_patch(self) -> dict[str, Any]:
        """The JSON merge patch (wire form) that writes the fields this status was given.

        Only given fields: a default must not overwrite what is stored (`conditions: []`
        would clear every condition). None is never written.
        """
        return self.model_dump(
            mode="json", by_alias=True, exclude_none=True, include=set(self.model_fields_set)
        )

"""The trainer -> operator progress protocol: one POST of a report, one answer back.

Pure pydantic, camelCase on the wire like the rest of the API. The trainer POSTs a
`ProgressReport` at most every couple of seconds and at the end; the operator answers with
a `ProgressAnswer` that says what the trainer must know (for now: cancel).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import ConfigDict, Field, model_validator

from agentcore_training.api.base import ApiModel
from agentcore_training.api.money import Money
from agentcore_training.api.status import HISTORY_MAX_POINTS, Metrics


class ProgressState(StrEnum):
    """Where the trainer is. Every state but running is final."""

    RUNNING = "running"
    COMPLETED = "completed"
    BUDGET_EXHAUSTED = "budget_exhausted"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self is not ProgressState.RUNNING


class RewardPoint(ApiModel):
    """One point of the reward curve."""

    iteration: int = Field(ge=0, description="The iteration the point belongs to.")
    avg_reward: float = Field(description="Mean reward of that iteration.")


class ProgressReport(ApiModel):
    """What the trainer tells the operator. Iterations and cost only go up between reports."""

    job_id: str | None = Field(
        default=None, description="The TrainingJob's uid, if the trainer knows it.", max_length=64
    )
    pod_name: str | None = Field(
        default=None, description="The trainer pod's name (env POD_NAME).", max_length=253
    )
    iteration: int = Field(ge=0, description="Iterations completed.")
    total_iterations: int = Field(ge=1, description="Iterations the run will do.")
    state: ProgressState = Field(description="running, or the final state of the run.")
    metrics: Metrics = Field(
        default_factory=Metrics, description="The latest iteration's training metrics."
    )
    cost_usd: Money = Field(description="US dollars spent so far, from the trainer's ledger.")
    budget_usd: Money = Field(description="spec.config.maxBudgetUsd.")
    checkpoint_id: str | None = Field(
        default=None, description="The latest checkpoint written.", max_length=253
    )
    best_checkpoint_id: str | None = Field(
        default=None, description="The checkpoint with the best mean reward.", max_length=253
    )
    avg_reward_history: list[RewardPoint] | None = Field(
        default=None,
        description=(
            "The whole downsampled reward curve so far (not a delta), so a lost report loses "
            "no point."
        ),
        max_length=HISTORY_MAX_POINTS,
    )
    message: str | None = Field(
        default=None, description="A sentence on the state, for people.", max_length=4096
    )

    @model_validator(mode="after")
    def _cost_within_budget(self) -> ProgressReport:
        # The invariant of the whole product; a report that breaks it is a trainer bug.
        if self.cost_usd > self.budget_usd:
            raise ValueError(f"costUsd {self.cost_usd} exceeds budgetUsd {self.budget_usd}")
        return self

    @property
    def budget_remaining_usd(self) -> Decimal:
        return self.budget_usd - self.cost_usd


class ProgressAnswer(ApiModel):
    """What the operator answers to a report."""

    # Unknown fields are ignored so that a newer operator can add some without breaking
    # trainers already running.
    model_config = ApiModel.model_config | ConfigDict(extra="ignore")

    cancel: bool = Field(
        default=False, description="True: checkpoint now and stop with state cancelled."
    )

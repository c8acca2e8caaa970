"""The operator-trainer contract, in one place: both sides import it, neither copies it.

Pure pydantic, camelCase on the wire like the rest of the API:

- the environment the Job sets and the trainer reads (`ENV_*`);
- the exit codes, which the Job's podFailurePolicy acts on (`EXIT_*`);
- the built-in model names the webhook admits and the trainer builds;
- the progress protocol: the trainer POSTs a `ProgressReport` at most every couple of
  seconds and at the end; the operator answers with a `ProgressAnswer` (for now: cancel);
- the `TerminationSummary` the trainer writes to its termination log, which the operator
  reads back from the pod's terminated state.
"""

from __future__ import annotations

import json
from decimal import Decimal
from enum import StrEnum
from typing import Final

from pydantic import ConfigDict, Field, ValidationError

from agentcore_training.api.base import ApiModel
from agentcore_training.api.evaluation import EvaluationStatus
from agentcore_training.api.money import Money
from agentcore_training.api.status import HISTORY_MAX_POINTS, Metrics, OutputStatus

# -- the environment the Job sets and the trainer reads -------------------------------------

ENV_SPEC: Final = "AGENTCORE_SPEC"
"""The TrainingJob spec itself, JSON (the Job sets this one)."""
ENV_SPEC_FILE: Final = "AGENTCORE_SPEC_FILE"
"""A file holding the spec, JSON or YAML (for laptop runs)."""
ENV_QUERIES_FILE: Final = "AGENTCORE_QUERIES_FILE"
ENV_EVAL_QUERIES_FILE: Final = "AGENTCORE_EVAL_QUERIES_FILE"
"""The evaluation's own queries (spec.evaluation.queries), when it has some."""
ENV_CHECKPOINT_DIR: Final = "AGENTCORE_CHECKPOINT_DIR"
ENV_OUTPUT_DIR: Final = "AGENTCORE_OUTPUT_DIR"
"""The folder for the trained model (spec.output's path on its volume); unset: none kept."""
ENV_PROGRESS_URL: Final = "AGENTCORE_PROGRESS_URL"
ENV_TOKEN_FILE: Final = "AGENTCORE_TOKEN_FILE"  # noqa: S105 - a variable's name, not a secret
ENV_PROGRESS_CA_FILE: Final = "AGENTCORE_PROGRESS_CA_FILE"
ENV_PROGRESS_CA_PEM: Final = "AGENTCORE_PROGRESS_CA_PEM"
"""The operator hands its CA over as PEM text: the pod then needs no extra volume for it."""
ENV_JOB_ID: Final = "AGENTCORE_JOB_ID"
ENV_TERMINATION_LOG: Final = "AGENTCORE_TERMINATION_LOG"
ENV_INNER_EPOCHS: Final = "AGENTCORE_INNER_EPOCHS"
ENV_MICRO_BATCH_SIZE: Final = "AGENTCORE_MICRO_BATCH_SIZE"
ENV_PROGRESS_INTERVAL: Final = "AGENTCORE_PROGRESS_INTERVAL_SECONDS"
ENV_POD_NAME: Final = "POD_NAME"
ENV_POD_NAMESPACE: Final = "POD_NAMESPACE"
ENV_OMP_NUM_THREADS: Final = "OMP_NUM_THREADS"
"""torch's intra-op threads: oversubscription on a busy node slows GRPO by 18-45x."""

CHECKPOINT_PREFIX: Final = "ckpt-"
"""A checkpoint's id is this and its iteration, zero-padded: status.checkpointId's values."""


def checkpoint_id(iteration: int) -> str:
    """The id of the checkpoint (and of the evaluation) after `iteration` iterations."""
    return f"{CHECKPOINT_PREFIX}{iteration:06d}"


TERMINATION_LOG: Final = "/dev/termination-log"
"""Where the trainer writes its TerminationSummary in a pod (the kubelet's default path)."""
TERMINATION_MESSAGE_MAX_BYTES: Final = 4096
"""What a kubelet reads of the termination-message file."""

# -- exit codes ------------------------------------------------------------------------------

EXIT_OK: Final = 0
"""The run ended as planned: completed, budget exhausted, or cancelled."""
EXIT_RUNTIME_FAILURE: Final = 1
"""Something failed while running (I/O, out of memory, a bug): worth a retry."""
EXIT_BAD_INPUT: Final = 2
"""The spec, the queries, the reward or the model path is wrong: a retry cannot help, so
the Job's podFailurePolicy fails the Job at once."""
EXIT_INTERRUPTED: Final = 143
"""SIGTERM (pod deletion, preemption): checkpointed; a new pod resumes from there."""

EXIT_CODES: Final = {
    EXIT_OK: "completed, budget exhausted or cancelled",
    EXIT_RUNTIME_FAILURE: "runtime failure (retryable)",
    EXIT_BAD_INPUT: "bad input: spec, queries, reward or model path (not retryable)",
    EXIT_INTERRUPTED: "interrupted by SIGTERM after a checkpoint (resumable)",
}

# -- models ----------------------------------------------------------------------------------

BUILTIN_MODELS: Final = ("tiny",)
"""The names of `builtin:<name>` policies: the webhook admits these, the trainer builds them
(trainer/policy/factory.py). Here because that module loads torch, which the operator's
image does not carry."""

# -- progress reports ------------------------------------------------------------------------


class ProgressState(StrEnum):
    """Where the trainer is. Every state but running is final."""

    RUNNING = "running"
    COMPLETED = "completed"
    BUDGET_EXHAUSTED = "budget_exhausted"
    CANCELLED = "cancelled"
    FAILED = "failed"


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
    evaluation: EvaluationStatus | None = Field(
        default=None, description="Held-out evaluation: baseline, latest, best, the curve."
    )
    output: OutputStatus | None = Field(
        default=None, description="The final report's word on spec.output: where, or none kept."
    )
    message: str | None = Field(
        default=None, description="A sentence on the state, for people.", max_length=4096
    )

    # No check that costUsd <= budgetUsd: the trainer keeps the budget by stopping in time,
    # and reports the true cost even in the case it failed to (the operator then sets the
    # BudgetExceeded condition). A report that hid an overrun would be the bug.

    @property
    def budget_remaining_usd(self) -> Decimal:
        return max(Decimal(0), self.budget_usd - self.cost_usd)

    @property
    def overrun_usd(self) -> Decimal:
        return max(Decimal(0), self.cost_usd - self.budget_usd)


class ProgressAnswer(ApiModel):
    """What the operator answers to a report."""

    # Unknown fields are ignored so that a newer operator can add some without breaking
    # trainers already running.
    model_config = ApiModel.model_config | ConfigDict(extra="ignore")

    cancel: bool = Field(
        default=False, description="True: checkpoint now and stop with state cancelled."
    )


# -- the termination summary -----------------------------------------------------------------


ATTEMPT_PATH_SUFFIX = "/attempt"
"""The handshake is POSTed to the progress URL plus this suffix."""


class AttemptRequest(ApiModel):
    """The first thing a starting trainer sends (first pod or a retry), before any spend."""

    job_id: str | None = Field(
        default=None, description="The TrainingJob's uid, if the trainer knows it.", max_length=64
    )
    pod_name: str | None = Field(
        default=None, description="The trainer pod's name (env POD_NAME).", max_length=253
    )


class AttemptAnswer(ApiModel):
    """What the operator, the ledger of record, knows of the run from the status it wrote."""

    model_config = ApiModel.model_config | ConfigDict(extra="ignore")

    attempt: int = Field(ge=1, description="This pod's attempt: 1 for the first pod.")
    cost_usd: Money = Field(description="US dollars the run has spent so far (status.cost).")
    iteration: int = Field(ge=0, description="The iteration the run reached (status.progress).")
    cancel: bool = Field(default=False, description="True: the run is cancelled; do not start.")


class TerminationSummary(ApiModel):
    """The trainer's last word, in its termination log: a final report plus why it ended.

    A run that failed before it got going carries only state, reason, exitCode and message;
    otherwise the report's fields come too, so the operator can finish the status from them
    even if the final POST was lost. A bare ProgressReport is a summary as well.
    """

    # A newer trainer may add keys: an older operator ignores them.
    model_config = ApiModel.model_config | ConfigDict(extra="ignore")

    state: ProgressState = Field(description="The final state of the run.")
    reason: str | None = Field(
        default=None,
        description="Completed, BudgetExhausted, Cancelled, Interrupted, BadInput or "
        "RuntimeFailure.",
    )
    exit_code: int | None = Field(default=None, description="The trainer's exit code.")
    job_id: str | None = Field(default=None, description="The TrainingJob's uid.", max_length=64)
    pod_name: str | None = Field(default=None, description="The pod's name.", max_length=253)
    iteration: int | None = Field(default=None, ge=0, description="Iterations completed.")
    total_iterations: int | None = Field(
        default=None, ge=1, description="Iterations the run would do."
    )
    cost_usd: Money | None = Field(default=None, description="US dollars spent.")
    budget_usd: Money | None = Field(default=None, description="spec.config.maxBudgetUsd.")
    checkpoint_id: str | None = Field(
        default=None, description="The last checkpoint written.", max_length=253
    )
    best_checkpoint_id: str | None = Field(
        default=None, description="The checkpoint with the best mean reward.", max_length=253
    )
    metrics: Metrics | None = Field(default=None, description="The last iteration's metrics.")
    avg_reward_history: list[RewardPoint] | None = Field(
        default=None, description="The reward curve.", max_length=HISTORY_MAX_POINTS
    )
    evaluation: EvaluationStatus | None = Field(
        default=None, description="Held-out evaluation, without its curve (the pushes carry it)."
    )
    output: OutputStatus | None = Field(default=None, description="What spec.output holds.")
    message: str | None = Field(default=None, description="A sentence on the end, for people.")

    @classmethod
    def of_report(
        cls, report: ProgressReport, *, reason: str, exit_code: int
    ) -> TerminationSummary:
        """The summary of a run that ended with `report`."""
        return cls(
            state=report.state,
            reason=reason,
            exit_code=exit_code,
            iteration=report.iteration,
            total_iterations=report.total_iterations,
            cost_usd=report.cost_usd,
            budget_usd=report.budget_usd,
            checkpoint_id=report.checkpoint_id,
            best_checkpoint_id=report.best_checkpoint_id,
            metrics=report.metrics,
            evaluation=(
                None
                if report.evaluation is None
                else report.evaluation.model_copy(update={"history": None})
            ),
            output=report.output,
            message=report.message,
        )

    def report(self) -> ProgressReport | None:
        """The final report this summary holds; None for a run that failed before one."""
        if (
            self.iteration is None
            or self.total_iterations is None
            or self.cost_usd is None
            or self.budget_usd is None
        ):
            return None
        try:
            return ProgressReport(
                job_id=self.job_id,
                pod_name=self.pod_name,
                iteration=self.iteration,
                total_iterations=self.total_iterations,
                state=self.state,
                metrics=self.metrics or Metrics(),
                cost_usd=self.cost_usd,
                budget_usd=self.budget_usd,
                checkpoint_id=self.checkpoint_id,
                best_checkpoint_id=self.best_checkpoint_id,
                avg_reward_history=self.avg_reward_history,
                evaluation=self.evaluation,
                output=self.output,
                message=self.message,
            )
        except ValidationError:
            return None

    def to_message(self) -> bytes:
        """JSON of at most TERMINATION_MESSAGE_MAX_BYTES (the metrics and message give way)."""
        data = self.model_dump_json(by_alias=True, exclude_none=True).encode()
        if len(data) <= TERMINATION_MESSAGE_MAX_BYTES:
            return data
        message = (self.message or "")[:1000]
        trimmed = self.model_copy(
            update={"metrics": None, "avg_reward_history": None, "message": message}
        )
        data = trimmed.model_dump_json(by_alias=True, exclude_none=True).encode()
        return data[:TERMINATION_MESSAGE_MAX_BYTES]

    @classmethod
    def from_message(cls, message: str | None) -> TerminationSummary | None:
        """The summary a termination message holds; None for anything else (a log tail)."""
        decoded = message_object(message)
        if decoded is None:
            return None
        try:
            return cls.model_validate(decoded)
        except ValidationError:
            return None


def message_object(message: str | None) -> dict[str, object] | None:
    """A termination message decoded as a JSON object, or None."""
    if not message or not message.lstrip().startswith("{"):
        return None
    try:
        decoded = json.loads(message)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None

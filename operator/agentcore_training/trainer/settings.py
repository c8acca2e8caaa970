"""The trainer's settings: one pydantic-settings class, read from the environment the Job
sets (the names are in api/contract.py); a command-line flag, where there is one, wins.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_core import PydanticUseDefault
from pydantic_settings import BaseSettings, SettingsConfigDict

from agentcore_training.api.contract import (
    ENV_CHECKPOINT_DIR,
    ENV_EVAL_QUERIES_FILE,
    ENV_INNER_EPOCHS,
    ENV_JOB_ID,
    ENV_MICRO_BATCH_SIZE,
    ENV_OUTPUT_DIR,
    ENV_POD_NAME,
    ENV_PROGRESS_CA_FILE,
    ENV_PROGRESS_CA_PEM,
    ENV_PROGRESS_INTERVAL,
    ENV_PROGRESS_URL,
    ENV_QUERIES_FILE,
    ENV_SPEC,
    ENV_SPEC_FILE,
    ENV_TERMINATION_LOG,
    ENV_TOKEN_FILE,
    TERMINATION_LOG,
)
from agentcore_training.api.status import INNER_EPOCHS_MAX

MIN_PUSH_INTERVAL_S = 0.05


class TrainerSettings(BaseSettings):
    """Every input of `agentcore-trainer` but the spec's own content.

    Each field reads the environment variable of its alias; `FLAGS` names the CLI flag of
    the fields that have one, and a flag given on the command line wins over the variable.
    An empty variable counts as unset.
    """

    model_config = SettingsConfigDict(
        frozen=True, validate_by_name=True, env_ignore_empty=True, extra="ignore"
    )

    spec_file: Path | None = Field(
        default=None,
        validation_alias=ENV_SPEC_FILE,
        description="TrainingJob spec file, JSON or YAML.",
    )
    spec: str | None = Field(
        default=None,
        validation_alias=ENV_SPEC,
        description="The spec itself, JSON or YAML (what the Job sets); the file wins.",
    )
    queries_file: Path | None = Field(
        default=None,
        validation_alias=ENV_QUERIES_FILE,
        description="Queries, JSON lines or a JSON list.",
    )
    eval_queries_file: Path | None = Field(
        default=None,
        validation_alias=ENV_EVAL_QUERIES_FILE,
        description="The evaluation's own queries (the Job sets it from spec.evaluation.queries); "
        "given, every query of the queries file is trained on.",
    )
    checkpoint_dir: Path | None = Field(
        default=None, validation_alias=ENV_CHECKPOINT_DIR, description="Checkpoint directory."
    )
    output_dir: Path | None = Field(
        default=None,
        validation_alias=ENV_OUTPUT_DIR,
        description="Folder for the trained model at the end (final, best, manifest).",
    )
    progress_url: str | None = Field(
        default=None, validation_alias=ENV_PROGRESS_URL, description="Operator progress endpoint."
    )
    token_file: Path | None = Field(
        default=None,
        validation_alias=ENV_TOKEN_FILE,
        description="Bearer token file, re-read per push.",
    )
    ca_file: Path | None = Field(
        default=None,
        validation_alias=ENV_PROGRESS_CA_FILE,
        description="CA bundle of the progress endpoint.",
    )
    ca_pem: str | None = Field(
        default=None,
        validation_alias=ENV_PROGRESS_CA_PEM,
        description="The progress endpoint's CA as PEM text (the operator hands it over so).",
    )
    job_id: str | None = Field(
        default=None, validation_alias=ENV_JOB_ID, description="The TrainingJob's uid."
    )
    pod_name: str | None = Field(
        default=None, validation_alias=ENV_POD_NAME, description="The trainer pod's name."
    )
    termination_log: Path = Field(
        default=Path(TERMINATION_LOG),
        validation_alias=ENV_TERMINATION_LOG,
        description="Where the final summary goes (unwritable is fine on a laptop).",
    )
    inner_epochs: int = Field(
        default=2,
        ge=1,
        le=INNER_EPOCHS_MAX,
        validation_alias=ENV_INNER_EPOCHS,
        description="Optimisation passes over each sampled batch.",
    )
    micro_batch_size: int | None = Field(
        default=None,
        ge=1,
        validation_alias=ENV_MICRO_BATCH_SIZE,
        description="Sequences per forward/backward, to bound memory; the whole batch if unset.",
    )
    push_interval_s: float = Field(
        default=2.0,
        validation_alias=ENV_PROGRESS_INTERVAL,
        description=f"Seconds between progress reports (at least {MIN_PUSH_INTERVAL_S}).",
    )

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        if isinstance(value, str):
            if not value.strip():
                raise PydanticUseDefault
            return value.strip()
        return value

    @field_validator("push_interval_s", mode="after")
    @classmethod
    def _at_least_the_minimum(cls, value: float) -> float:
        return max(MIN_PUSH_INTERVAL_S, value)


FLAGS: dict[str, str] = {
    "spec_file": "--spec",
    "queries_file": "--queries",
    "eval_queries_file": "--eval-queries",
    "checkpoint_dir": "--checkpoint-dir",
    "output_dir": "--output-dir",
    "progress_url": "--progress-url",
    "token_file": "--token-file",
    "ca_file": "--ca-file",
    "job_id": "--job-id",
    "termination_log": "--termination-log",
    "inner_epochs": "--inner-epochs",
    "micro_batch_size": "--micro-batch-size",
}
"""The command-line flag of each field that has one."""

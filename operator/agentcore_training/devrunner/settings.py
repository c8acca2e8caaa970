"""The dev runner's settings: one class, read from the command line and from
AGENTCORE_DEVRUNNER_* environment variables (a flag wins over its variable)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from agentcore_training import labels
from agentcore_training.cli_settings import command_line_settings


class DevRunnerSettings(BaseSettings):
    """Every knob of `agentcore-dev-runner`. Each field is the flag --<name> (dashes for
    underscores) and the variable AGENTCORE_DEVRUNNER_<NAME>."""

    model_config = command_line_settings("AGENTCORE_DEVRUNNER_", "agentcore-dev-runner")

    kubeconfig: str | None = Field(
        default=None, description="kubeconfig file; unset: $KUBECONFIG, else ~/.kube/config."
    )
    namespace: str | None = Field(
        default=None, description="Watch one namespace; all namespaces when unset."
    )
    workdir: Path | None = Field(
        default=None,
        description="Where the pod sandboxes go; a new temporary directory (kept) when unset.",
    )
    selector: str = Field(
        default=labels.TRAINER_POD_SELECTOR, description="Label selector of the pods to run."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Level of the runner's log (stderr)."
    )
    force: bool = Field(
        default=False,
        description="Run even when the cluster has Ready Nodes (a kubelet would run them too).",
    )

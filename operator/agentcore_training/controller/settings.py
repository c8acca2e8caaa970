"""The operator's settings: one class, read from AGENTCORE_OPERATOR_* environment variables
and from the command line (a flag wins over its variable). `agentcore-operator` reads them
once and hands them to the kopf handlers in kopf's memo."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from agentcore_training.api.queries import MIN_TRAINING_QUERIES
from agentcore_training.cli_settings import command_line_settings


class WebhookMode(StrEnum):
    """How the apiserver reaches the admission webhook."""

    URL = "url"  # a loopback or external URL: local control planes, the dev loop
    SERVICE = "service"  # a Service in the cluster: the deployed operator
    NONE = "none"  # the operator registers nothing (the configuration is managed elsewhere)


class OperatorSettings(BaseSettings):
    """Every knob of the operator. Each field is the variable AGENTCORE_OPERATOR_<NAME> and
    the flag --<name> (dashes for underscores)."""

    model_config = command_line_settings("AGENTCORE_OPERATOR_", "agentcore-operator")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Level of the operator's log."
    )
    liveness: str = Field(
        default="http://0.0.0.0:8081/healthz",
        description="kopf's liveness endpoint; empty turns it off.",
    )

    namespace: str | None = Field(
        default=None, description="Watch one namespace; all namespaces when unset."
    )
    listen_host: str = Field(
        default="0.0.0.0",  # noqa: S104 - in a pod the Service reaches it on the pod IP
        description="Address of the HTTPS server (admission webhook and progress endpoint).",
    )
    listen_port: int = Field(default=8443, ge=1, le=65535, description="Its port.")
    metrics_port: int = Field(
        default=8080, ge=0, le=65535, description="Port of /metrics (plain HTTP); 0 turns it off."
    )
    tls_cert_file: str | None = Field(
        default=None, description="Server certificate (PEM); a self-signed one is made if unset."
    )
    tls_key_file: str | None = Field(default=None, description="Its private key (PEM).")
    tls_ca_file: str | None = Field(
        default=None, description="The CA that signed it, handed to the apiserver and trainers."
    )
    tls_dir: str | None = Field(
        default=None,
        description=(
            "Without the three files above: where the self-signed certificate is kept, and "
            "reused after a restart (running trainers trust its CA); a temporary folder if unset."
        ),
    )
    advertise_url: str = Field(
        default="https://127.0.0.1:8443",
        description="Base URL at which the apiserver and trainer pods reach the HTTPS server.",
    )
    webhook_mode: WebhookMode = Field(
        default=WebhookMode.URL, description="How the apiserver reaches the webhook."
    )
    webhook_service_name: str = Field(
        default="agentcore-training-operator", description="Service of the webhook (service mode)."
    )
    webhook_service_namespace: str = Field(
        default="agentcore-system", description="Namespace of that Service."
    )
    webhook_configuration_name: str = Field(
        default="trainingjobs.training.agentcore.dev",
        description="Name of the ValidatingWebhookConfiguration the operator keeps.",
    )
    status_interval_seconds: float = Field(
        default=2.0,
        gt=0,
        description="At most one progress status patch per TrainingJob in this interval.",
    )
    resync_seconds: float = Field(
        default=60.0,
        ge=0,
        description="Every TrainingJob is reconciled at least this often (0: only on events).",
    )
    cancel_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        description="Time a cancelled trainer gets to checkpoint and exit before its Job goes.",
    )
    trainer_service_account: str = Field(
        default="default",
        description="ServiceAccount of trainer pods; it needs no API permissions at all.",
    )
    trainer_command: list[str] = Field(
        # A module, not the console script: the distroless trainer image has no scripts on PATH.
        default_factory=lambda: ["python3", "-m", "agentcore_training.trainer.main"],
        description="Command of the trainer container (a JSON list).",
    )
    min_queries: int = Field(
        default=MIN_TRAINING_QUERIES,
        ge=1,
        description="Fewest training queries the webhook admits.",
    )

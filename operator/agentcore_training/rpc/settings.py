"""The shim's settings: one pydantic-settings class, read from AGENTCORE_RPC_* variables.

Every field is an environment variable named AGENTCORE_RPC_ + the field in upper case, for
example AGENTCORE_RPC_PORT=8080. Lists are comma-separated; an empty value unsets an optional
field. docs/reference/configuration.md lists them all (generated).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from agentcore_training.api.patterns import DNS_LABEL_PATTERN

ENV_PREFIX = "AGENTCORE_RPC_"
JWT_ALGORITHMS = ("HS256", "RS256", "ES256")

CommaList = Annotated[list[str], NoDecode]
"""A list read from one comma-separated environment variable."""

_OPTIONAL = (
    "tls_cert_file",
    "tls_key_file",
    "kubeconfig",
    "watch_namespace",
    "jwt_issuer",
    "jwt_hs256_secret",
    "jwt_hs256_secret_file",
    "jwt_jwks_file",
    "jwt_jwks_url",
)
_LISTS = ("token_audiences", "jwt_audiences", "jwt_algorithms")


class ShimSettings(BaseSettings):
    """Every knob of the JSON-RPC shim. Each field reads AGENTCORE_RPC_<NAME>."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    host: str = Field(default="0.0.0.0", description="Address to listen on.")  # noqa: S104
    port: int = Field(default=8080, ge=0, le=65535, description="Port to listen on.")
    tls_cert_file: Path | None = Field(
        default=None, description="Serve HTTPS with this certificate (PEM) and tls_key_file."
    )
    tls_key_file: Path | None = Field(default=None, description="Private key of tls_cert_file.")
    kubeconfig: str | None = Field(
        default=None,
        description="kubeconfig to use; unset: in-cluster configuration, else KUBECONFIG.",
    )
    namespace: str = Field(
        default="default",
        pattern=DNS_LABEL_PATTERN,
        description="Namespace of training.start_grpo when the call names none.",
    )
    watch_namespace: str | None = Field(
        default=None,
        pattern=DNS_LABEL_PATTERN,
        description="Serve (and watch) only this namespace; unset: every namespace.",
    )
    max_request_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="Largest HTTP body accepted (larger: HTTP 413).",
    )
    max_batch: int = Field(default=100, ge=1, description="Most calls in one batch.")
    cache_sync_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long a read waits for the watch cache's first sync before -32004.",
    )
    tokenreview: bool = Field(
        default=True, description="Authenticate bearer tokens with the TokenReview API."
    )
    token_audiences: CommaList = Field(
        default_factory=list,
        description="Audiences TokenReview checks; empty: the apiserver's own audiences.",
    )
    authn_cache_ttl_seconds: float = Field(
        default=60.0, ge=0, description="How long an authenticated token is remembered."
    )
    authz_cache_ttl_seconds: float = Field(
        default=10.0, ge=0, description="How long a SubjectAccessReview decision is remembered."
    )
    auth_cache_size: int = Field(
        default=4096, ge=1, description="Most tokens, and most decisions, remembered."
    )
    jwt_issuer: str | None = Field(
        default=None,
        description=(
            "Verify JWTs with this `iss` locally (HS256 secret or a JWKS) instead of TokenReview."
        ),
    )
    jwt_audiences: CommaList = Field(
        default_factory=list, description="Accepted `aud` values of local JWTs (required)."
    )
    jwt_hs256_secret: SecretStr | None = Field(default=None, description="HS256 shared secret.")
    jwt_hs256_secret_file: Path | None = Field(
        default=None, description="File holding the HS256 shared secret."
    )
    jwt_jwks_file: Path | None = Field(default=None, description="JWKS file of RS256/ES256 keys.")
    jwt_jwks_url: str | None = Field(
        default=None, description="URL of the JWKS of RS256/ES256 keys (refreshed on unknown kid)."
    )
    jwt_algorithms: CommaList = Field(
        default_factory=lambda: list(JWT_ALGORITHMS),
        description="Accepted algorithms, among HS256, RS256 and ES256 (never none).",
    )
    jwt_leeway_seconds: int = Field(
        default=0, ge=0, le=300, description="Clock skew allowed on exp and nbf."
    )
    jwt_username_claim: str = Field(default="sub", description="Claim holding the username.")
    jwt_groups_claim: str = Field(default="groups", description="Claim holding the groups.")
    jwt_username_prefix: str = Field(
        default="jwt:", description="Prefix added to JWT usernames (keeps them apart from others)."
    )
    jwt_groups_prefix: str = Field(default="jwt:", description="Prefix added to JWT groups.")
    rate_limit_start_grpo_per_minute: int = Field(
        default=10, ge=0, description="training.start_grpo calls a minute per user; 0: no limit."
    )
    rate_limit_get_status_per_minute: int = Field(
        default=100, ge=0, description="training.get_status calls a minute per user; 0: no limit."
    )
    rate_limit_cancel_per_minute: int = Field(
        default=20, ge=0, description="training.cancel calls a minute per user; 0: no limit."
    )
    rate_limit_list_jobs_per_minute: int = Field(
        default=100, ge=0, description="training.list_jobs calls a minute per user; 0: no limit."
    )
    rate_limit_evaluate_per_minute: int = Field(
        default=100, ge=0, description="training.evaluate calls a minute per user; 0: no limit."
    )
    log_level: str = Field(default="INFO", description="Python logging level.")

    @field_validator(*_OPTIONAL, mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator(*_LISTS, mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("jwt_algorithms")
    @classmethod
    def _known_algorithms(cls, value: list[str]) -> list[str]:
        unknown = [alg for alg in value if alg not in JWT_ALGORITHMS]
        if unknown:
            raise ValueError(f"unsupported JWT algorithms {unknown}: use {list(JWT_ALGORITHMS)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ShimSettings:
        keys = (
            self.jwt_hs256_secret,
            self.jwt_hs256_secret_file,
            self.jwt_jwks_file,
            self.jwt_jwks_url,
        )
        if self.jwt_issuer and not any(keys):
            raise ValueError("jwt_issuer needs a key: jwt_hs256_secret(_file) or jwt_jwks_*")
        if self.jwt_issuer and not self.jwt_audiences:
            raise ValueError("jwt_issuer needs jwt_audiences")
        if any(keys) and not self.jwt_issuer:
            raise ValueError("JWT keys are set but jwt_issuer is not")
        if not self.tokenreview and not self.jwt_issuer:
            raise ValueError("with tokenreview off, configure local JWT verification")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file go together")
        return self

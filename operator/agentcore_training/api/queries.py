"""Where queries are: a ConfigMap or a file on a PersistentVolumeClaim."""

from __future__ import annotations

from pydantic import Field, model_validator

from agentcore_training.api.base import ApiModel
from agentcore_training.api.patterns import CONFIGMAP_KEY_PATTERN, DNS_SUBDOMAIN_PATTERN

MIN_TRAINING_QUERIES = 100
"""Fewest queries a run trains on (the original API's rule; the operator's default)."""


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

"""spec.evaluation: the held-out split and how it is scored."""

from __future__ import annotations

import math
from enum import StrEnum

from pydantic import Field

from agentcore_training.api.base import ApiModel
from agentcore_training.api.queries import QueriesSource


class Decoding(StrEnum):
    """How the held-out evaluation samples its answers."""

    GREEDY = "greedy"
    TEMPERATURE = "temperature"


class EvaluationMetric(StrEnum):
    """The held-out number that picks the best checkpoint."""

    SUCCESS_RATE = "success_rate"
    MEAN_REWARD = "mean_reward"


class EvaluationSpec(ApiModel):
    """Held-out evaluation: queries never trained on, scored at the start, every `interval`
    iterations and at the end; the best checkpoint is the best of these evaluations."""

    held_out_fraction: float = Field(
        default=0.2,
        ge=0,
        le=0.9,
        description=(
            "Fraction of spec.queries held out for evaluation and never trained on: the last "
            "part of the queries after a shuffle seeded by config.seed (floor(n * fraction) "
            "queries). At least 100 training queries must remain. 0 with no evaluation "
            "queries turns the evaluation off. Not used when queries is set."
        ),
    )
    queries: QueriesSource | None = Field(
        default=None,
        description=(
            "Evaluation queries of their own (a ConfigMap or a file on a PVC, like "
            "spec.queries); then every query of spec.queries is trained on."
        ),
    )
    interval: int = Field(
        default=10,
        ge=1,
        le=10000,
        description="Evaluate every this many iterations; always before the first and after "
        "the last.",
    )
    samples_per_query: int = Field(
        default=1, ge=1, le=16, description="Answers sampled for each evaluation query."
    )
    decoding: Decoding = Field(
        default=Decoding.GREEDY,
        description="greedy (the most likely token each step), or temperature (sampled at "
        "config.temperature, as in training).",
    )
    metric: EvaluationMetric = Field(
        default=EvaluationMetric.SUCCESS_RATE,
        description=(
            "success_rate (the fraction of evaluation answers whose reward reaches "
            "successThreshold) or mean_reward: the number that picks bestCheckpointId."
        ),
    )
    success_threshold: float = Field(
        default=1.0, description="Least reward that counts an answer as a success."
    )

    @property
    def enabled(self) -> bool:
        return self.queries is not None or self.held_out_fraction > 0

    def held_out_count(self, n_queries: int) -> int:
        """How many of spec.queries' `n_queries` are held out: floor(n * heldOutFraction)
        (rounded to 1e-9 first, against float noise), none when queries is set."""
        if self.queries is not None:
            return 0
        return math.floor(round(n_queries * self.held_out_fraction, 9))

"""spec.policy: the model being trained."""

from __future__ import annotations

from pydantic import Field

from agentcore_training.api.base import ApiModel

POLICY_MODEL_PATTERN = r"^(builtin:[a-z0-9][-a-z0-9]*|hf:/\S+)$"


class PolicySpec(ApiModel):
    """The model being trained."""

    model: str = Field(
        default="builtin:tiny",
        description=(
            "builtin:<name> for a built-in model (builtin:tiny, a small causal transformer "
            "that trains on CPU), or hf:<absolute path> for a Hugging Face model in the image "
            "or on a volume. Nothing is downloaded at run time."
        ),
        pattern=POLICY_MODEL_PATTERN,
        max_length=1010,
    )
    warm_start_steps: int = Field(
        default=0,
        ge=0,
        le=100000,
        description=(
            "Supervised steps of format-only warm start before GRPO (teaches the answer "
            "format on random targets, never the task's answers); 0 turns it off."
        ),
    )

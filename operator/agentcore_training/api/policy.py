"""spec.policy: the model being trained, its precision, LoRA and chat template.

The learning rates that pretrained models tolerate live here too (one place): the
admission webhook warns above them, the trainer logs the same warning, the docs cite them.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from agentcore_training.api.base import ApiModel

POLICY_MODEL_PATTERN = r"^(builtin:[a-z0-9][-a-z0-9]*|hf:/\S+)$"
ALL_LINEAR = "all-linear"
"""peft's name for every linear layer but the output head."""

MAX_TOLERATED_LR_FULL = 1e-4
"""Above this, full fine-tuning of a pretrained model diverges (one AdamW step moves every
weight by ~lr: at 1e-3 SmolLM2's KL to the reference read ~6e8 after one step)."""
MAX_TOLERATED_LR_LORA = 1e-3
"""LoRA's low-rank update tolerates about ten times more."""
USUAL_LR_FULL = (1e-6, 2e-5)
USUAL_LR_LORA = (1e-4, 2e-4)


class PolicyDtype(StrEnum):
    """The precision of the weights, of generation and of the update."""

    AUTO = "auto"
    FLOAT32 = "float32"
    BFLOAT16 = "bfloat16"
    FLOAT16 = "float16"


class ChatTemplateMode(StrEnum):
    """Whether queries are rendered with the tokenizer's chat template."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"


class LoraSpec(ApiModel):
    """Low-rank adapters (peft) instead of full fine-tuning."""

    rank: int = Field(default=16, ge=1, le=1024, description="The adapters' rank r.")
    alpha: float = Field(
        default=32.0, gt=0, le=4096, description="The scale numerator: updates scale by alpha/r."
    )
    dropout: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description=(
            "Dropout on the adapters' input during the update (never while sampling). "
            "Above 0 the first inner epoch's ratio is no longer exactly 1."
        ),
    )
    target_modules: list[str] = Field(
        default_factory=lambda: [ALL_LINEAR],
        min_length=1,
        max_length=64,
        description=(
            f"Names (or name suffixes) of the modules to adapt; {ALL_LINEAR} (the default) "
            "is every linear layer but the output head."
        ),
    )


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
    dtype: PolicyDtype = Field(
        default=PolicyDtype.AUTO,
        description=(
            "Precision of an hf: policy: auto is bfloat16 on a GPU that supports it, else "
            "float32 (always float32 on CPU). builtin policies are float32."
        ),
    )
    lora: LoraSpec | None = Field(
        default=None,
        description=(
            "Train LoRA adapters of an hf: policy instead of all its weights. The KL "
            "reference is the base model (the adapters disabled)."
        ),
    )
    chat_template: ChatTemplateMode = Field(
        default=ChatTemplateMode.AUTO,
        description=(
            "auto: render each query as a user turn of the tokenizer's chat template when it "
            "has one; on: always (an error without a template); off: the raw query text."
        ),
    )
    system_prompt: str | None = Field(
        default=None,
        max_length=4000,
        description="A system turn before each query (needs the chat template).",
    )

    @property
    def pretrained(self) -> bool:
        return self.model.startswith("hf:")


def learning_rate_warning(policy: PolicySpec, learning_rate: float) -> str | None:
    """A warning when a pretrained policy gets a learning rate it does not tolerate."""
    if not policy.pretrained:
        return None
    if policy.lora is not None:
        limit, usual, how = MAX_TOLERATED_LR_LORA, USUAL_LR_LORA, "LoRA"
    else:
        limit, usual, how = MAX_TOLERATED_LR_FULL, USUAL_LR_FULL, "full fine-tuning"
    if learning_rate <= limit:
        return None
    return (
        f"spec.config.learningRate {learning_rate:g} is above {limit:g}, more than a pretrained "
        f"model tolerates with {how}: the first update can wreck it (usual: "
        f"{usual[0]:g} to {usual[1]:g})"
    )


def chat_conflict(policy: PolicySpec, *, has_template: bool) -> str | None:
    """Why policy.chatTemplate / systemPrompt cannot work with this tokenizer, if so."""
    if policy.chat_template is ChatTemplateMode.ON and not has_template:
        return f"policy.chatTemplate is on, but {policy.model}'s tokenizer has no chat template"
    uses = policy.chat_template is not ChatTemplateMode.OFF and has_template
    if policy.system_prompt is not None and not uses:
        return "policy.systemPrompt needs a chat template (policy.chatTemplate on or auto)"
    return None


def policy_conflict(policy: PolicySpec) -> str | None:
    """What is wrong with the policy fields together, as far as the spec alone tells."""
    if not policy.pretrained:
        if policy.lora is not None:
            return "policy.lora needs an hf: policy (builtin models train all their weights)"
        return chat_conflict(policy, has_template=False)  # builtin tokenizers have none
    if policy.lora is not None and policy.warm_start_steps > 0:
        # LoRA's KL reference is the base model: a warm start would be penalised away.
        return "policy.warmStartSteps needs full fine-tuning: set it to 0 with policy.lora"
    return None

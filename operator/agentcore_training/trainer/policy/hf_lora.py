"""LoRA adapters (policy.lora) through peft: wrapping, adapter files, the base reference.

The KL reference of a LoRA policy is its own base model with the adapters disabled
(peft's `disable_adapter()`), so there is no second copy of the weights. peft is imported
on use (the `hf` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from agentcore_training.api.policy import ALL_LINEAR, LoraSpec
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.tokenizer import TextCodec

if TYPE_CHECKING:
    from agentcore_training.trainer.policy.hf import HFPolicy

ADAPTER_WEIGHTS = "adapter_model.safetensors"
ADAPTER_CONFIG = "adapter_config.json"


def _peft() -> Any:
    try:
        import peft  # optional extra, imported on use
    except ImportError:
        raise BadInputError("policy.lora needs peft: install agentcore-training[hf]") from None
    return peft


def wrap_lora(model: Any, spec: LoraSpec, *, source: str, seed: int) -> Any:
    """The model with fresh adapters (B = 0: the same outputs as the base, exactly)."""
    peft = _peft()
    targets: str | list[str] = (
        ALL_LINEAR if spec.target_modules == [ALL_LINEAR] else list(spec.target_modules)
    )
    config = peft.LoraConfig(
        r=spec.rank,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=targets,
        bias="none",
        task_type="CAUSAL_LM",
    )
    # The adapters' A matrices are drawn from the global RNG: seed it, so a run is repeatable.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            wrapped = peft.get_peft_model(model, config)
        except ValueError as error:
            raise BadInputError(f"policy.lora: {str(error).strip().splitlines()[0]}") from None
    # What finds the base again: written into adapter_config.json.
    wrapped.peft_config["default"].base_model_name_or_path = source
    return wrapped


def load_adapter(model: Any, folder: Path, device: torch.device) -> None:
    """Read adapter weights written by save_pretrained into the wrapped model."""
    from safetensors.torch import load_file  # ships with transformers

    state = load_file(str(folder / ADAPTER_WEIGHTS), device=str(device))
    result = _peft().set_peft_model_state_dict(model, state)
    unexpected = list(getattr(result, "unexpected_keys", []) or [])
    if unexpected:
        raise BadInputError(f"adapter in {folder} does not fit the model: {unexpected[:3]}")


def merged_copy(model: Any) -> Any:
    """A plain transformers model with the adapters merged in; the policy is untouched."""
    import copy

    return copy.deepcopy(model).merge_and_unload()


class BaseReference:
    """The Policy protocol over a LoRA policy's base: its adapters disabled while it runs."""

    def __init__(self, policy: HFPolicy) -> None:
        self._policy = policy

    @property
    def codec(self) -> TextCodec:
        return self._policy.codec

    @property
    def module(self) -> torch.nn.Module:
        return self._policy.module

    @property
    def device(self) -> torch.device:
        return self._policy.device

    @property
    def max_context(self) -> int | None:
        return self._policy.max_context

    @torch.no_grad()
    def logits(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        *,
        keep: int = 0,
        shared_prefix: int = 0,
    ) -> torch.Tensor:
        with self._policy.model.disable_adapter():
            return self._policy.logits(
                input_ids, attention_mask, keep=keep, shared_prefix=shared_prefix
            )

    def generate(
        self,
        prompt_ids: torch.Tensor,
        prompt_mask: torch.Tensor,
        *,
        max_new_tokens: int,
        temperature: float,
        generator: torch.Generator,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        with self._policy.model.disable_adapter():
            return self._policy.generate(
                prompt_ids,
                prompt_mask,
                max_new_tokens=max_new_tokens,
                temperature=temperature,
                generator=generator,
                noise=noise,
            )

    def frozen_copy(self) -> BaseReference:
        return self

    def save(self, directory: Path) -> None:
        """Nothing to write: the base's weights are the model path's."""

    def load(self, directory: Path) -> None:
        """Nothing to read (see save)."""

    def describe(self) -> dict[str, str | int]:
        return {**self._policy.describe(), "reference": "base model, adapters disabled"}

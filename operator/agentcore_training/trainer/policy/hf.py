"""hf:<path>: a Hugging Face causal LM loaded from a local folder or GGUF file, offline.

transformers is imported lazily (the `hf` extra, by `hf_load.py`), so the rest of the
trainer runs without it. Nothing is downloaded. The model lives on the trainer's device
(CUDA when the pod has a GPU, else the CPU) in policy.dtype; generation and the update run
there, and checkpoints load on either. With policy.lora only the adapters train.
"""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path
from typing import Any

import torch
from torch import nn

from agentcore_training.api.policy import PolicySpec
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.policy.chat import ChatFormat
from agentcore_training.trainer.policy.hf_codec import HFCodec
from agentcore_training.trainer.policy.hf_load import load_pretrained, pick_device, pick_dtype
from agentcore_training.trainer.policy.hf_lora import (
    BaseReference,
    load_adapter,
    merged_copy,
    wrap_lora,
)
from agentcore_training.trainer.policy.hf_prefix import prefilled_cache, shared_prefix_logits
from agentcore_training.trainer.policy.protocol import Policy
from agentcore_training.trainer.policy.sampling import NoiseSampler
from agentcore_training.trainer.tokenizer import TextCodec

CHECKPOINT_FOLDER = "hf"
"""The policy's folder inside a checkpoint: a save_pretrained folder (or adapter folder)."""


def _transformers_cache(config: Any) -> Any:
    from transformers import DynamicCache  # the `hf` extra, loaded with the model already

    return DynamicCache(config=config)


class HFPolicy:
    """The Policy protocol over a transformers AutoModelForCausalLM (or a peft LoRA of one)."""

    def __init__(
        self,
        model: Any,
        codec: HFCodec,
        source: str,
        *,
        device: torch.device,
        lora: bool,
        compute_dtype: torch.dtype = torch.float32,
    ) -> None:
        self.model = model
        self._codec = codec
        self.source = source
        self._device = device
        self.lora = lora
        self.compute_dtype = compute_dtype
        self.share_prefill = True
        """Prefill a group's prompt once for its samples (off: every row prefills its own)."""

    def _precision(self) -> contextlib.AbstractContextManager[Any]:
        """Autocast to the compute dtype where the weights are kept wider (float32)."""
        weights = next(self.model.parameters()).dtype
        if self.compute_dtype == weights or self.lora:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self._device.type, dtype=self.compute_dtype)

    @classmethod
    def load_from(
        cls, spec: PolicySpec, *, seed: int = 0, device: torch.device | None = None
    ) -> HFPolicy:
        """The model that spec.model names, on `device` (default: CUDA if any, else CPU)."""
        model_path = spec.model.removeprefix("hf:")
        path = Path(model_path)
        if not path.exists():
            raise BadInputError(f"model path {model_path} does not exist ({spec.model})")
        device = device or pick_device()
        compute = pick_dtype(spec.dtype, device)
        # Full fine-tuning keeps float32 master weights (a bfloat16 weight of 0.01 moves in
        # steps of 6e-5: an update at lr 1e-5 would round away) and computes in `compute`
        # under autocast; LoRA's frozen base is stored in `compute`, its adapters in float32.
        weights = compute if spec.lora is not None else torch.float32
        tokenizer, model = load_pretrained(path, dtype=weights)
        codec = HFCodec(tokenizer, ChatFormat.for_policy(tokenizer, spec))
        if spec.lora is not None:
            model = wrap_lora(model, spec.lora, source=model_path, seed=seed)
        model.to(device)
        model.train()
        return cls(
            model,
            codec,
            model_path,
            device=device,
            lora=spec.lora is not None,
            compute_dtype=compute,
        )

    @property
    def codec(self) -> TextCodec:
        return self._codec

    @property
    def module(self) -> nn.Module:
        module: nn.Module = self.model
        return module

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def max_context(self) -> int | None:
        value = getattr(self.model.config, "max_position_embeddings", None)
        return int(value) if value else None

    def logits(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        *,
        keep: int = 0,
        shared_prefix: int = 0,
    ) -> torch.Tensor:
        input_ids = input_ids.to(self._device)
        attention_mask = attention_mask.to(self._device)
        # Explicit positions: with left padding, the first real token is position 0.
        positions = (attention_mask.long().cumsum(dim=1) - 1).clamp(min=0)
        with self._precision():
            shared = shared_prefix_logits(
                self.model,
                input_ids,
                attention_mask,
                positions,
                prefix=shared_prefix,
                keep=keep,
                cache=_transformers_cache(self.model.config),
            )
            if shared is not None:
                return shared.float()
            out = self.model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                position_ids=positions,
                use_cache=False,
                logits_to_keep=keep,  # 0: every position
            )
        logits: torch.Tensor = out.logits.float()
        return logits

    @torch.no_grad()
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
        sampling: dict[str, Any] = {"do_sample": True, "temperature": temperature}
        sampling.update(top_k=0, top_p=1.0)
        if noise is not None:
            # Our uniforms choose each token (a processor leaves only it), so greedy
            # decoding takes it: no global RNG, a row's tokens are its own.
            sampling = {
                "do_sample": False,
                "logits_processor": [
                    NoiseSampler(noise, temperature, start=int(prompt_ids.shape[1]))
                ],
            }
        # transformers samples from the global RNG: seed it from ours, so that our
        # generator's state (saved in checkpoints) still decides everything.
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        devices: list[int] = []
        if self._device.type == "cuda":
            index = self._device.index
            devices = [index if index is not None else torch.cuda.current_device()]
        training = self.model.training
        self.model.eval()  # no adapter dropout while sampling
        try:
            with torch.random.fork_rng(devices=devices), self._precision():
                ids, mask = prompt_ids.to(self._device), prompt_mask.to(self._device)
                # A group's prompts are prefilled once (then shared): no sampling is drawn.
                extra: dict[str, Any] = {}
                if self.share_prefill:
                    cache = _transformers_cache(self.model.config)
                    if prefilled_cache(self.model, ids, mask, cache) is not None:
                        extra["cache"] = cache
                torch.manual_seed(seed)  # seeds CUDA's generators too
                out = self.model.generate(
                    input_ids=ids,
                    attention_mask=mask,
                    **extra,
                    max_new_tokens=max_new_tokens,
                    pad_token_id=self._codec.pad_id,
                    eos_token_id=self._codec.eos_id,
                    **sampling,
                )
        finally:
            self.model.train(training)
        completions: torch.Tensor = out[:, prompt_ids.shape[1] :]
        return completions

    def frozen_copy(self) -> Policy:
        if self.lora:
            return BaseReference(self)  # the base itself: no second copy of the weights
        model = copy.deepcopy(self.model)
        model.requires_grad_(False)
        model.eval()
        return HFPolicy(
            model,
            self._codec,
            self.source,
            device=self._device,
            lora=False,
            compute_dtype=self.compute_dtype,
        )

    def save_pretrained(self, directory: Path, *, merge: bool = False) -> Path:
        """Write the model as a folder that transformers (or peft) loads; returns it.

        Full fine-tuning: a save_pretrained folder with the tokenizer. LoRA: an adapter
        folder (adapter_config.json, whose base_model_name_or_path is the model path,
        and adapter_model.safetensors) with the tokenizer; `merge=True` writes a full
        folder with the adapters merged into a copy of the weights instead.
        """
        directory.mkdir(parents=True, exist_ok=True)
        model = merged_copy(self.model) if self.lora and merge else self.model
        model.save_pretrained(str(directory), safe_serialization=True)
        self._codec.tokenizer.save_pretrained(str(directory))
        return directory

    def save(self, directory: Path) -> None:
        self.save_pretrained(directory / CHECKPOINT_FOLDER)

    def load(self, directory: Path) -> None:
        folder = directory / CHECKPOINT_FOLDER
        if self.lora:
            load_adapter(self.model, folder, self._device)
            return
        from safetensors.torch import load_file  # ships with transformers

        state: dict[str, torch.Tensor] = {}
        for shard in sorted(folder.glob("*.safetensors")):
            state.update(load_file(str(shard), device=str(self._device)))
        # Tied weights are stored once: strict=False lets the tie fill the other name.
        self.model.load_state_dict(state, strict=False)

    def describe(self) -> dict[str, str | int]:
        parameters = list(self.model.parameters())
        facts: dict[str, str | int] = {
            "backend": f"hf:{self.source}",
            "parameters": sum(p.numel() for p in parameters),
            "trainableParameters": sum(p.numel() for p in parameters if p.requires_grad),
            "vocabSize": self._codec.vocab_size,
            "device": str(self._device),
            "dtype": str(self.compute_dtype).removeprefix("torch."),
            "weightsDtype": str(parameters[0].dtype).removeprefix("torch."),
            "chatTemplate": "on" if self._codec.chat else "off",
        }
        if self._codec.chat:
            facts["toolRole"] = self._codec.chat.tool_role
        return facts

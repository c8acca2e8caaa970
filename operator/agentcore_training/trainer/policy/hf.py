"""hf:<path>: a Hugging Face causal LM loaded from a local folder or GGUF file, offline.

transformers is imported lazily (the `hf` extra, by `hf_load.py`), so the rest of the
trainer runs without it. Nothing is downloaded.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import torch
from torch import nn

from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.policy.hf_load import load_pretrained
from agentcore_training.trainer.tokenizer import TextCodec


class HFCodec:
    """TextCodec over a transformers tokenizer."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        if tokenizer.eos_token_id is None:
            raise BadInputError("the Hugging Face tokenizer has no EOS token")
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token  # the usual stand-in
        self._eos = int(tokenizer.eos_token_id)
        self._pad = int(tokenizer.pad_token_id)

    @property
    def eos_id(self) -> int:
        return self._eos

    @property
    def pad_id(self) -> int:
        return self._pad

    @property
    def vocab_size(self) -> int:
        return len(self.tokenizer)

    def encode(self, text: str) -> list[int]:
        return [int(t) for t in self.tokenizer.encode(text, add_special_tokens=False)]

    def decode(self, ids: Any) -> str:
        tokens = [int(t) for t in ids]
        if self._eos in tokens:
            tokens = tokens[: tokens.index(self._eos)]
        return str(self.tokenizer.decode(tokens, skip_special_tokens=True))


class HFPolicy:
    """The Policy protocol over a transformers AutoModelForCausalLM."""

    def __init__(self, model: Any, codec: HFCodec, source: str) -> None:
        self.model = model
        self._codec = codec
        self.source = source

    @classmethod
    def load_from(cls, model_path: str) -> HFPolicy:
        path = Path(model_path)
        if not path.exists():
            raise BadInputError(
                f"model path {model_path} does not exist (policy.model hf:{model_path})"
            )
        tokenizer, model = load_pretrained(path)
        model.train()
        return cls(model, HFCodec(tokenizer), model_path)

    @property
    def codec(self) -> TextCodec:
        return self._codec

    @property
    def module(self) -> nn.Module:
        module: nn.Module = self.model
        return module

    @property
    def max_context(self) -> int | None:
        value = getattr(self.model.config, "max_position_embeddings", None)
        return int(value) if value else None

    def logits(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # Explicit positions: with left padding, the first real token is position 0.
        positions = (attention_mask.long().cumsum(dim=1) - 1).clamp(min=0)
        out = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            position_ids=positions,
            use_cache=False,
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
    ) -> torch.Tensor:
        # transformers samples from the global RNG: seed it from ours, so that our
        # generator's state (saved in checkpoints) still decides everything.
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            out = self.model.generate(
                input_ids=prompt_ids,
                attention_mask=prompt_mask,
                do_sample=True,
                temperature=temperature,
                top_k=0,
                top_p=1.0,
                max_new_tokens=max_new_tokens,
                pad_token_id=self._codec.pad_id,
                eos_token_id=self._codec.eos_id,
            )
        completions: torch.Tensor = out[:, prompt_ids.shape[1] :]
        return completions

    def frozen_copy(self) -> HFPolicy:
        model = copy.deepcopy(self.model)
        model.requires_grad_(False)
        model.eval()
        return HFPolicy(model, self._codec, self.source)

    def save(self, directory: Path) -> None:
        self.model.save_pretrained(str(directory / "hf"), safe_serialization=True)
        self._codec.tokenizer.save_pretrained(str(directory / "hf"))

    def load(self, directory: Path) -> None:
        from safetensors.torch import load_file  # ships with transformers

        state: dict[str, torch.Tensor] = {}
        for shard in sorted((directory / "hf").glob("*.safetensors")):
            state.update(load_file(str(shard)))
        # Tied weights are stored once: strict=False lets the tie fill the other name.
        self.model.load_state_dict(state, strict=False)

    def describe(self) -> dict[str, str | int]:
        return {
            "backend": f"hf:{self.source}",
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "vocabSize": self._codec.vocab_size,
        }

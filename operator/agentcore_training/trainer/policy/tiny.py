"""builtin:tiny: a GPT-2-shaped causal transformer (~100k parameters) with a char tokenizer.

Random init, trains on CPU in seconds: the policy of CI, demos and the benchmark. Its
shape matches a transformers GPT2Config (learned positions, pre-LayerNorm, GELU MLP,
tied head), so the TRL baseline can run the very same architecture.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - the conventional name
from torch import nn

from agentcore_training.trainer.policy.sampling import sample_with_noise
from agentcore_training.trainer.tokenizer import CharTokenizer, TextCodec

# A very negative logit rather than -inf: PAD is never sampled, and entropy stays finite.
_NEVER = -1e9


@dataclass(frozen=True)
class TinyConfig:
    vocab_size: int
    max_context: int
    d_model: int = 64
    n_layers: int = 2
    n_heads: int = 4
    mlp_ratio: int = 4


class _Block(nn.Module):
    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        d = config.d_model
        self.n_heads = config.n_heads
        self.ln_1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, config.mlp_ratio * d)
        self.out = nn.Linear(config.mlp_ratio * d, d)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        batch, length, d = x.shape
        q, k, v = self.qkv(self.ln_1(x)).split(d, dim=2)
        shape = (batch, length, self.n_heads, d // self.n_heads)
        q, k, v = (t.view(shape).transpose(1, 2) for t in (q, k, v))
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=mask is None)
        x = x + self.proj(attended.transpose(1, 2).reshape(batch, length, d))
        out: torch.Tensor = x + self.out(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))
        return out


class TinyCausalLM(nn.Module):
    def __init__(self, config: TinyConfig) -> None:
        super().__init__()
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.d_model)
        self.wpe = nn.Embedding(config.max_context, config.d_model)
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.n_layers))
        self.ln_f = nn.LayerNorm(config.d_model)
        self.apply(self._init)
        # GPT-2's scaled init of the residual projections keeps early updates small.
        for block in self.blocks:
            assert isinstance(block, _Block)
            for layer in (block.proj, block.out):
                nn.init.normal_(layer.weight, std=0.02 / math.sqrt(2 * config.n_layers))

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        length = input_ids.shape[1]
        keep = attention_mask.bool()
        positions = (attention_mask.long().cumsum(dim=1) - 1).clamp(min=0)
        mask: torch.Tensor | None = None
        if not bool(keep[:, 0].all()):
            # Left padding: each position sees earlier real tokens, and always itself (no
            # all-masked rows). Without it, plain causal attention is exact for every real
            # token (right padding comes after them) and takes SDPA's fast path.
            causal = torch.ones(length, length, dtype=torch.bool, device=input_ids.device).tril()
            eye = torch.eye(length, dtype=torch.bool, device=input_ids.device)
            mask = (causal & keep[:, None, None, :]) | eye
        x = self.wte(input_ids) + self.wpe(positions)
        for block in self.blocks:
            x = block(x, mask)
        logits: torch.Tensor = self.ln_f(x) @ self.wte.weight.T
        logits[..., CharTokenizer.PAD] = _NEVER
        return logits


def tiny_config(name: str, vocab_size: int, max_context: int) -> TinyConfig:
    if name == "tiny":
        return TinyConfig(vocab_size=vocab_size, max_context=max_context)
    raise ValueError(name)


class TinyPolicy:
    """The Policy protocol over TinyCausalLM."""

    backend = "builtin:tiny"

    def __init__(self, model: TinyCausalLM, tokenizer: CharTokenizer) -> None:
        self.model = model
        self.tokenizer = tokenizer

    @classmethod
    def create(cls, tokenizer: CharTokenizer, max_context: int, seed: int) -> TinyPolicy:
        config = tiny_config("tiny", tokenizer.vocab_size, max_context)
        # Its own seeded generator: the same seed gives the same initial weights, so the
        # reference policy can be rebuilt instead of stored.
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = TinyCausalLM(config)
        return cls(model, tokenizer)

    @property
    def codec(self) -> TextCodec:
        return self.tokenizer

    @property
    def module(self) -> nn.Module:
        return self.model

    @property
    def device(self) -> torch.device:
        # Always the CPU: at ~100k parameters, kernel launches would cost more than the math.
        return torch.device("cpu")

    @property
    def max_context(self) -> int | None:
        return self.model.config.max_context

    def logits(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        *,
        keep: int = 0,
        shared_prefix: int = 0,
    ) -> torch.Tensor:
        # No KV cache here: the prefix is not shared (at this size it would not pay).
        result: torch.Tensor = self.model(input_ids, attention_mask)
        return result[:, -keep:] if keep > 0 else result

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
        # No KV cache: sequences are a few dozen tokens, and a full forward is cheaper
        # than cache bookkeeping at this size.
        ids, mask = prompt_ids, prompt_mask
        batch = ids.shape[0]
        done = torch.zeros(batch, dtype=torch.bool)
        new_tokens = []
        for step in range(max_new_tokens):
            last = self.model(ids, mask)[:, -1, :] / temperature
            probs = torch.softmax(last, dim=-1)
            if noise is not None:
                token = sample_with_noise(probs, noise[:, step])
            else:
                token = torch.multinomial(probs, 1, generator=generator)[:, 0]
            token = torch.where(done, torch.full_like(token, CharTokenizer.PAD), token)
            new_tokens.append(token)
            ids = torch.cat([ids, token[:, None]], dim=1)
            mask = torch.cat([mask, (~done).long()[:, None]], dim=1)
            done = done | (token == CharTokenizer.EOS)
            if bool(done.all()):
                break
        return torch.stack(new_tokens, dim=1)

    def frozen_copy(self) -> TinyPolicy:
        model = copy.deepcopy(self.model)
        model.requires_grad_(False)
        model.eval()
        return TinyPolicy(model, self.tokenizer)

    def save(self, directory: Path) -> None:
        meta: dict[str, Any] = {
            "backend": self.backend,
            "config": asdict(self.model.config),
            "tokenizer": self.tokenizer.to_json(),
        }
        (directory / "policy.json").write_text(json.dumps(meta), encoding="utf-8")
        torch.save(self.model.state_dict(), directory / "policy.pt")

    def load(self, directory: Path) -> None:
        state = torch.load(directory / "policy.pt", map_location="cpu", weights_only=True)
        self.model.load_state_dict(state)

    def describe(self) -> dict[str, str | int]:
        return {
            "backend": self.backend,
            "parameters": sum(p.numel() for p in self.model.parameters()),
            "vocabSize": self.tokenizer.vocab_size,
            "maxContext": self.model.config.max_context,
        }

"""The one interface every policy backend implements."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import torch

from agentcore_training.trainer.tokenizer import TextCodec


class Policy(Protocol):
    """A causal LM that the trainer samples from and updates.

    Batches are left-padded prompts followed by right-padded completions; `attention_mask`
    says which positions are real tokens.
    """

    @property
    def codec(self) -> TextCodec: ...

    @property
    def module(self) -> torch.nn.Module:
        """The trainable weights."""

    @property
    def device(self) -> torch.device:
        """Where its weights are: batches for it are built there."""

    @property
    def max_context(self) -> int | None:
        """The longest sequence it takes (prompt + completion), or None if unbounded."""

    def logits(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        *,
        keep: int = 0,
        shared_prefix: int = 0,
    ) -> torch.Tensor:
        """Next-token logits [batch, length, vocab] (float32) for every position, or for the
        last `keep` positions only (keep > 0). `shared_prefix` says that consecutive rows
        often repeat their first `shared_prefix` columns (a group's prompt): a backend may
        run such a prefix once and share it; the logits are the same either way."""

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
        """Sample completions [batch, <= max_new_tokens], pad_id after each EOS.

        With `noise` (uniforms [batch, >= max_new_tokens], `policy/sampling.py`) row i's
        token at step t is the inverse CDF at noise[i, t], and `generator` is unused: a
        row's tokens do not depend on the other rows (data-parallel ranks rely on it)."""

    def frozen_copy(self) -> Policy:
        """A copy whose weights never change (the KL reference)."""

    def save(self, directory: Path) -> None:
        """Write the weights (and what is needed to rebuild the model) under directory."""

    def load(self, directory: Path) -> None:
        """Read back weights written by save."""

    def describe(self) -> dict[str, str | int]:
        """A few facts for the logs: backend, parameters, vocabulary size."""

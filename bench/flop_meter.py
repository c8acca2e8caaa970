"""Executed model FLOPs of a run, per phase, counted as the forward passes happen.

A global module hook sees every forward of every model in the process (both sides of a
benchmark alike). Per token fed to the input embedding: 2 N_body FLOPs without grad, 6
with (forward, then the gradients of the activations and of every weight), 4 for LoRA
(the frozen base's weights get no gradient); per row fed to the output head (the vocabulary
projection, only at the positions whose logits are kept) the same factors times V x d.
Padding counts (it is computed); attention's sequence terms are left out (~50 tokens).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import torch


class FlopMeter:
    """FLOPs a phase ("rollout" or "update") executed while the meter was entered."""

    def __init__(self, body_params: int, vocab: int, width: int, *, lora: bool) -> None:
        self.body_params, self.vocab, self.width, self.lora = body_params, vocab, width, lora
        self.flops = {"rollout": 0.0, "update": 0.0}
        self.phase = "update"
        self._handle: Any = None

    def _factor(self) -> int:
        if not torch.is_grad_enabled():
            return 2
        return 4 if self.lora else 6

    def _hook(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        if not args or not isinstance(args[0], torch.Tensor):
            return
        if isinstance(module, torch.nn.Embedding) and module.num_embeddings == self.vocab:
            tokens = args[0].numel()
            self.flops[self.phase] += self._factor() * self.body_params * tokens
        elif isinstance(module, torch.nn.Linear) and module.out_features == self.vocab:
            rows = args[0].shape[:-1].numel()
            self.flops[self.phase] += self._factor() * self.vocab * self.width * rows

    def __enter__(self) -> FlopMeter:
        self._handle = torch.nn.modules.module.register_module_forward_hook(self._hook)
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.remove()

    @contextlib.contextmanager
    def during(self, phase: str) -> Iterator[None]:
        previous, self.phase = self.phase, phase
        try:
            yield
        finally:
            self.phase = previous

    def wrap(self, phase: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            with self.during(phase):
                return function(*args, **kwargs)

        return counted

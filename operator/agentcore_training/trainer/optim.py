"""AdamW, the same update as torch.optim.AdamW, without torch.optim's start-up cost.

torch.optim.Optimizer imports torch._dynamo on first use: 3-9 s of start-up on a busy
2-core machine, paid by every trainer start and every resumed pod. This is the plain
(foreach) AdamW update with decoupled weight decay, and a state_dict for checkpoints.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch


class AdamW:
    """AdamW (Loshchilov & Hutter), matching torch.optim.AdamW(amsgrad=False)."""

    def __init__(
        self,
        params: Iterable[torch.nn.Parameter],
        *,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.params: list[torch.Tensor] = [p for p in params if p.requires_grad]
        self.lr = lr
        self.betas = betas
        self.eps = eps
        self.weight_decay = weight_decay
        self.steps = 0
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        params: list[torch.Tensor] = [self.params[i] for i in live]
        grads = [g for g in (self.params[i].grad for i in live) if g is not None]
        avg = [self.exp_avg[i] for i in live]
        avg_sq = [self.exp_avg_sq[i] for i in live]
        beta1, beta2 = self.betas
        self.steps += 1
        if self.weight_decay:
            torch._foreach_mul_(params, 1 - self.lr * self.weight_decay)
        torch._foreach_lerp_(avg, grads, 1 - beta1)
        torch._foreach_mul_(avg_sq, beta2)
        torch._foreach_addcmul_(avg_sq, grads, grads, 1 - beta2)
        bias1 = 1 - beta1**self.steps
        bias2 = 1 - beta2**self.steps
        denominators = torch._foreach_sqrt(avg_sq)
        torch._foreach_div_(denominators, math.sqrt(bias2))
        torch._foreach_add_(denominators, self.eps)
        torch._foreach_addcdiv_(params, avg, denominators, -self.lr / bias1)

    def state_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "exp_avg": [t.clone() for t in self.exp_avg],
            "exp_avg_sq": [t.clone() for t in self.exp_avg_sq],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["exp_avg"]) != len(self.params):
            raise ValueError("optimizer state does not match the model's parameters")
        self.steps = int(state["steps"])
        for mine, saved in zip(self.exp_avg, state["exp_avg"], strict=True):
            mine.copy_(saved)
        for mine, saved in zip(self.exp_avg_sq, state["exp_avg_sq"], strict=True):
            mine.copy_(saved)

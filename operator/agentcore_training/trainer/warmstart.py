"""The optional format warm start (policy.warmStartSteps).

Single turn: supervised steps that teach the answer *format*, "digits then EOS", on random
digits after the task's prompts. The targets are random, never the task's answers: the
policy learns to stop, not to add, and GRPO still has everything to learn.

Multi-step environments: supervised steps on the environment's own made-up trajectories
(random content, never a task query), which show its action format.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch

from agentcore_training.trainer.environments.protocol import FormatTeacher
from agentcore_training.trainer.episodes import encode_lenient
from agentcore_training.trainer.grpo import token_logprobs
from agentcore_training.trainer.jsonlog import log
from agentcore_training.trainer.ledger import SAFETY_FACTOR, Usage, seconds_decimal
from agentcore_training.trainer.optim import AdamW
from agentcore_training.trainer.policy.protocol import Policy
from agentcore_training.trainer.queries import Query
from agentcore_training.trainer.update import GRAD_CLIP_NORM

if TYPE_CHECKING:
    from agentcore_training.trainer.trainer import Trainer

WARM_START_BATCH = 64
MAX_RANDOM_DIGITS = 3


def format_warm_start(
    policy: Policy,
    prompts: Sequence[Sequence[int]],
    *,
    steps: int,
    learning_rate: float,
    max_new_tokens: int,
    generator: torch.Generator,
    before_step: Callable[[], None] | None = None,
) -> float:
    """Run `steps` supervised steps; returns the last step's loss (nats per token).

    `before_step` is called before each step (the budget check: it raises to stop)."""
    codec = policy.codec
    digit_ids = [codec.encode(str(d)) for d in range(10)]
    # An optimiser of its own, thrown away after: GRPO's AdamW starts with clean moments.
    optimizer = AdamW(policy.module.parameters(), lr=learning_rate, weight_decay=0.0)
    longest_digits = max(1, min(MAX_RANDOM_DIGITS, max_new_tokens - 1))
    loss_value = float("nan")
    for _ in range(steps):
        if before_step is not None:
            before_step()
        picks = torch.randint(0, len(prompts), (WARM_START_BATCH,), generator=generator)
        lengths = torch.randint(1, longest_digits + 1, (WARM_START_BATCH,), generator=generator)
        rows: list[tuple[list[int], list[int]]] = []
        for pick, length in zip(picks.tolist(), lengths.tolist(), strict=True):
            digits = torch.randint(0, 10, (length,), generator=generator).tolist()
            target = [t for d in digits for t in digit_ids[d]]
            if len(target) < max_new_tokens:
                target.append(codec.eos_id)
            rows.append((list(prompts[pick]), target[:max_new_tokens]))
        prompt_width = max(len(p) for p, _ in rows)
        target_width = max(len(t) for _, t in rows)
        width = prompt_width + target_width
        ids = torch.full((len(rows), width), codec.pad_id, dtype=torch.long)
        attn = torch.zeros((len(rows), width), dtype=torch.long)
        mask = torch.zeros((len(rows), width))
        for row, (prompt, target) in enumerate(rows):
            start = prompt_width - len(prompt)
            ids[row, start:prompt_width] = torch.tensor(prompt)
            ids[row, prompt_width : prompt_width + len(target)] = torch.tensor(target)
            attn[row, start : prompt_width + len(target)] = 1
            mask[row, prompt_width : prompt_width + len(target)] = 1
        loss_value = _supervised_step(policy, optimizer, ids, attn, mask)
    return loss_value


def episode_warm_start(
    policy: Policy,
    teacher: FormatTeacher,
    queries: Sequence[Query],
    *,
    steps: int,
    learning_rate: float,
    rng: random.Random,
    before_step: Callable[[], None] | None = None,
) -> float:
    """The warm start of a multi-step environment: supervised steps on the environment's
    made-up example trajectories (`FormatTeacher.format_example`, random content), on the
    action tokens only (the environment's tokens are context, never targets). An example
    whose prompt is one of the task's queries is drawn again. Returns the last loss.
    `before_step` is called before each step (the budget check: it raises to stop)."""
    codec = policy.codec
    task_prompts = {q.query for q in queries}
    optimizer = AdamW(policy.module.parameters(), lr=learning_rate, weight_decay=0.0)
    loss_value = float("nan")
    for _ in range(steps):
        if before_step is not None:
            before_step()
        rows: list[tuple[list[int], list[float]]] = []
        while len(rows) < WARM_START_BATCH:
            query = queries[rng.randrange(len(queries))]
            segments = teacher.format_example(query, rng)
            for _attempt in range(100):
                if segments[0].text not in task_prompts:
                    break
                segments = teacher.format_example(query, rng)
            else:
                continue
            ids: list[int] = []
            weights: list[float] = []
            for index, segment in enumerate(segments):
                # Rendered as a run renders them: the prompt, then observations.
                encode = codec.encode_prompt if index == 0 else codec.encode_observation
                tokens = encode_lenient(codec, segment.text, None if segment.action else encode)
                if segment.action:
                    tokens = [*tokens, codec.eos_id]
                ids += tokens
                weights += [1.0 if segment.action else 0.0] * len(tokens)
            rows.append((ids, weights))
        width = max(len(ids) for ids, _ in rows)
        batch = torch.full((len(rows), width), codec.pad_id, dtype=torch.long)
        attn = torch.zeros((len(rows), width), dtype=torch.long)
        mask = torch.zeros((len(rows), width))
        for row, (ids, weights) in enumerate(rows):
            batch[row, : len(ids)] = torch.tensor(ids)
            attn[row, : len(ids)] = 1
            mask[row, : len(ids)] = torch.tensor(weights)
        loss_value = _supervised_step(policy, optimizer, batch, attn, mask)
    return loss_value


def run_warm_start(trainer: Trainer) -> None:
    """The warm start of a fresh run, step by step under the budget gate (BudgetStop)."""
    gate, rates = trainer.gate, trainer.rates
    assert gate is not None
    assert rates is not None
    started = time.monotonic()
    previous: list[float] = []

    def before_step() -> None:
        now = time.monotonic()
        if previous:
            rates.saw_warm_step(now - previous[-1])
        previous[:] = [now]
        step = Usage(seconds=seconds_decimal(rates.warm_step_s * float(SAFETY_FACTOR)))
        gate.check("warm start", step)

    teacher = trainer.environment.make() if trainer.environment.multi_step else None
    if isinstance(teacher, FormatTeacher):
        loss = episode_warm_start(
            trainer.policy,
            teacher,
            trainer.queries,
            steps=trainer.spec.policy.warm_start_steps,
            learning_rate=trainer.config.learning_rate,
            rng=random.Random(trainer.config.seed + 1),  # noqa: S311 - not a secret
            before_step=before_step,
        )
    else:
        loss = format_warm_start(
            trainer.policy,
            trainer.prompts,
            steps=trainer.spec.policy.warm_start_steps,
            learning_rate=trainer.config.learning_rate,
            max_new_tokens=trainer.config.max_new_tokens,
            generator=torch.Generator().manual_seed(trainer.config.seed + 1),
            before_step=before_step,
        )
    log(
        "info",
        "warm_start",
        steps=trainer.spec.policy.warm_start_steps,
        loss=round(loss, 4),
        seconds=round(time.monotonic() - started, 3),
    )


def _supervised_step(
    policy: Policy,
    optimizer: AdamW,
    ids: torch.Tensor,
    attn: torch.Tensor,
    mask: torch.Tensor,
) -> float:
    """One step of mean next-token cross-entropy over the tokens where `mask` is set
    (weighted by it); returns the loss."""
    ids, attn, mask = (t.to(policy.device) for t in (ids, attn, mask))
    logp = token_logprobs(policy.logits(ids[:, :-1], attn[:, :-1]), ids[:, 1:])
    loss = -(logp * mask[:, 1:]).sum() / mask[:, 1:].sum().clamp(min=1)
    optimizer.zero_grad()
    torch.autograd.backward(loss)
    torch.nn.utils.clip_grad_norm_(policy.module.parameters(), GRAD_CLIP_NORM)
    optimizer.step()
    return float(loss.detach())

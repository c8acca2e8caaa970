"""Multi-step rollouts: the policy acts, the environment answers, until the trajectory ends.

Each step, every unfinished trajectory's context (prompt, then its actions and the
environment's observations so far) is left-padded and the policy generates one action, up
to `maxNewTokens` tokens ending with EOS (the EOS is part of the action). The environment's
`step` gets the decoded action; its observation is appended as environment tokens. A
trajectory ends on a final answer, on a malformed action, when the environment says done,
or after `maxStepsPerTrajectory` actions (or when the next action could not fit the model's
context): then it is cut, unanswered.

Outcome rewards: the reward of the final answer; -malformedPenalty for a malformed action;
0 for a cut trajectory or one the environment ended without an answer. `credit.py` turns
them into per-step advantages. The batch has the layout of `rollout.py` (left-padded
prompt, right-padded rest); `loss_mask` is 1 exactly on the policy's action tokens, so the
environment's tokens are out of the policy loss and of the KL term.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from agentcore_training.trainer.budget import SpendGate
from agentcore_training.trainer.credit import step_advantages
from agentcore_training.trainer.environments.factory import EnvironmentFactory
from agentcore_training.trainer.environments.protocol import Environment, StepResult
from agentcore_training.trainer.errors import BadInputError, TrainerError
from agentcore_training.trainer.policy.protocol import Policy
from agentcore_training.trainer.policy.sampling import group_noise
from agentcore_training.trainer.queries import Query
from agentcore_training.trainer.rewards import Reward
from agentcore_training.trainer.rollout import EpisodeStats, RolloutBatch, left_pad
from agentcore_training.trainer.tokenizer import TextCodec

CUT_REWARD = 0.0
"""The outcome reward of a trajectory cut at maxStepsPerTrajectory, or ended unanswered."""


def encode_lenient(
    codec: TextCodec, text: str, encode: Callable[[str], list[int]] | None = None
) -> list[int]:
    """Encode environment text with `encode` (default: codec.encode); characters a char
    vocabulary lacks are dropped, not fatal."""
    try:
        return (encode or codec.encode)(text)
    except BadInputError:
        kept: list[int] = []
        for char in text:
            try:
                kept.extend(codec.encode(char))
            except BadInputError:
                continue
        return kept


@dataclass
class _Trajectory:
    environment: Environment
    query: Query
    prompt: list[int]
    rest: list[int] = field(default_factory=list)
    is_action: list[bool] = field(default_factory=list)
    step_of: list[int] = field(default_factory=list)
    """The step index of each token of `rest` (-1 for environment tokens)."""
    steps: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    done: bool = False
    truncated: bool = False
    reward: float = CUT_REWARD
    answer: str | None = None
    context_tokens: int = 0
    """Prompt tokens read over all steps (each generation reads the whole context)."""
    noise: torch.Tensor | None = None
    """Its own uniforms [max_steps, max_new_tokens] (`policy/sampling.py`), or None."""


def _step(environment: Environment, action: str, name: str) -> StepResult:
    try:
        return environment.step(action)
    except Exception as error:  # a user environment's bug is a runtime failure
        raise TrainerError(f"environment {name}: step raised {error!r}") from None


def _action_tokens(row: torch.Tensor, eos_id: int) -> list[int]:
    tokens: list[int] = []
    for token in row.tolist():
        tokens.append(int(token))
        if token == eos_id:
            break
    return tokens


@torch.no_grad()
def sample_episodes(
    policy: Policy,
    environment: EnvironmentFactory,
    reward: Reward,
    queries: Sequence[Query],
    *,
    group_size: int,
    max_steps: int,
    max_new_tokens: int,
    temperature: float,
    gamma: float,
    generator: torch.Generator,
    gate: SpendGate | None = None,
    seeds: Sequence[int] | None = None,
) -> RolloutBatch:
    """Run `group_size` trajectories of each query in `environment`, and lay them out.

    With `seeds` (one per query) every trajectory samples with its own uniforms, not with
    `generator`: a trajectory does not depend on the others (see `rollout.sample_rollout`).

    `gate` is asked before every step whether its worst case (every row generates
    `max_new_tokens` tokens and calls the tool) stays within the budget; it raises
    BudgetStop otherwise, so the rollout stops between two steps.
    """
    codec = policy.codec
    limit = policy.max_context
    runs: list[_Trajectory] = []
    for index, query in enumerate(queries):
        table = None
        if seeds is not None:
            table = group_noise(seeds[index], group_size, max_steps, max_new_tokens)
        for member in range(group_size):
            env = environment.make()
            prompt = encode_lenient(codec, env.reset(query), codec.encode_prompt)
            if not prompt:
                raise BadInputError(f"environment {environment.name}: empty prompt")
            noise = None if table is None else table[:, member]
            runs.append(_Trajectory(env, query, prompt, noise=noise))
    for step in range(max_steps):
        active = [t for t in runs if not t.done]
        for run in active:
            if limit is not None and len(run.prompt) + len(run.rest) + max_new_tokens > limit:
                run.done = run.truncated = True
        active = [t for t in active if not t.done]
        if not active:
            break
        contexts = [t.prompt + t.rest for t in active]
        ids, mask = left_pad(contexts, codec.pad_id)
        ids, mask = ids.to(policy.device), mask.to(policy.device)
        context_tokens = sum(len(c) for c in contexts)
        if gate is not None:
            gate.before_generation(
                len(active), context_tokens, max_new_tokens, tool_calls=len(active)
            )
        started = time.monotonic()
        actions = policy.generate(
            ids,
            mask,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            generator=generator,
            noise=_step_noise(active, step),
        )
        step_tokens = [_action_tokens(row, codec.eos_id) for row in actions]
        if gate is not None:
            gate.after_generation(
                time.monotonic() - started,
                len(active),
                int(actions.shape[1]),
                context_tokens,
                sum(len(t) for t in step_tokens),
            )
        calls = 0
        for run, context, tokens in zip(active, contexts, step_tokens, strict=True):
            run.context_tokens += len(context)
            run.rest += tokens
            run.is_action += [True] * len(tokens)
            run.step_of += [step] * len(tokens)
            run.steps += 1
            observation, done, info = _step(run.environment, codec.decode(tokens), environment.name)
            run.tool_calls += int(info.tool_call)
            calls += int(info.tool_call)
            run.tool_errors += int(info.tool_error)
            if done:
                run.done = True
                if info.answer is not None:
                    run.answer = info.answer
                    run.reward = reward(info.answer, run.query)
                elif info.malformed:
                    run.reward = -environment.malformed_penalty
                continue
            if step + 1 < max_steps:
                seen = encode_lenient(codec, observation, codec.encode_observation)
                run.rest += seen
                run.is_action += [False] * len(seen)
                run.step_of += [-1] * len(seen)
        if gate is not None:
            gate.after_tool_calls(calls)
    for run in runs:
        if not run.done:
            run.done = run.truncated = True
    return _layout(runs, codec, group_size=group_size, gamma=gamma, device=policy.device)


def _step_noise(active: Sequence[_Trajectory], step: int) -> torch.Tensor | None:
    noises = [run.noise[step] for run in active if run.noise is not None]
    return torch.stack(noises) if noises else None


def _layout(
    runs: Sequence[_Trajectory],
    codec: TextCodec,
    *,
    group_size: int,
    gamma: float,
    device: torch.device,
) -> RolloutBatch:
    """The batch, built row by row on the CPU and moved to `device` once."""
    rewards = [run.reward for run in runs]
    per_step = step_advantages(rewards, [run.steps for run in runs], group_size, gamma)
    prompt_ids, prompt_mask = left_pad([run.prompt for run in runs], codec.pad_id)
    width = max(1, max(len(run.rest) for run in runs))
    rest_ids = torch.full((len(runs), width), codec.pad_id, dtype=torch.long)
    rest_mask = torch.zeros((len(runs), width), dtype=torch.long)
    loss_mask = torch.zeros((len(runs), width))
    advantages = torch.zeros((len(runs), width))
    for row, (run, steps) in enumerate(zip(runs, per_step, strict=True)):
        count = len(run.rest)
        if count == 0:
            continue
        rest_ids[row, :count] = torch.tensor(run.rest, dtype=torch.long)
        rest_mask[row, :count] = 1
        acting = torch.tensor(run.is_action, dtype=torch.bool)
        loss_mask[row, :count] = acting.float()
        values = torch.tensor([steps[s] if s >= 0 else 0.0 for s in run.step_of])
        advantages[row, :count] = values * acting.float()
    completion_tokens = int(loss_mask.sum())
    zeros = torch.zeros_like(prompt_mask, dtype=torch.float32)
    return RolloutBatch(
        input_ids=torch.cat([prompt_ids, rest_ids], dim=1).to(device),
        attention_mask=torch.cat([prompt_mask, rest_mask], dim=1).to(device),
        loss_mask=torch.cat([zeros, loss_mask], dim=1).to(device),
        advantages=torch.cat([zeros, advantages], dim=1).to(device),
        rewards=torch.tensor(rewards, dtype=torch.float32, device=device),
        completion_lengths=loss_mask.sum(dim=1).long().to(device),
        prompt_tokens=sum(run.context_tokens for run in runs),
        completion_tokens=completion_tokens,
        texts=[_transcript(run, codec) for run in runs],
        group_size=group_size,
        episodes=EpisodeStats(
            trajectories=len(runs),
            steps=sum(run.steps for run in runs),
            tool_calls=sum(run.tool_calls for run in runs),
            tool_errors=sum(run.tool_errors for run in runs),
            truncated=sum(int(run.truncated) for run in runs),
        ),
    )


def _transcript(run: _Trajectory, codec: TextCodec) -> str:
    """The actions and observations as text, each action followed by ' | ' (for logs)."""
    pieces: list[str] = []
    current: list[int] = []
    key = (run.is_action[0], run.step_of[0]) if run.rest else (True, 0)
    for token, is_action, step in zip(run.rest, run.is_action, run.step_of, strict=True):
        if (is_action, step) != key:
            pieces.append(codec.decode(current) + (" | " if key[0] else ""))
            current = []
            key = (is_action, step)
        current.append(token)
    if current:
        pieces.append(codec.decode(current) + (" | " if key[0] else ""))
    return "".join(pieces)

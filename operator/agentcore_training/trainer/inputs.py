"""Checks of the inputs that need no torch: they fail fast, before the slow imports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agentcore_training.api.contract import BUILTIN_MODELS
from agentcore_training.api.policy import PolicySpec, policy_conflict
from agentcore_training.trainer.config import TrainerOptions
from agentcore_training.trainer.environments.factory import EnvironmentFactory, build_environment
from agentcore_training.trainer.environments.protocol import FormatTeacher
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.evaluation_split import HeldOutSet, held_out_set
from agentcore_training.trainer.queries import Query, load_queries
from agentcore_training.trainer.rewards import Reward, build_reward


def check_policy_source(policy: PolicySpec) -> None:
    """A known built-in model, or an hf: path that exists."""
    kind, _, name = policy.model.partition(":")
    if kind == "builtin":
        if name not in BUILTIN_MODELS:
            known = ", ".join(f"builtin:{m}" for m in BUILTIN_MODELS)
            raise BadInputError(f"unknown built-in model {policy.model!r}: expected one of {known}")
    elif kind == "hf":
        if not Path(name).exists():
            raise BadInputError(f"model path {name} does not exist (policy.model {policy.model})")
    else:
        raise BadInputError(f"policy.model {policy.model!r} must be builtin:<name> or hf:<path>")
    conflict = policy_conflict(policy)
    if conflict is not None:
        raise BadInputError(conflict)


@dataclass(frozen=True)
class Inputs:
    """The queries, the reward and the environment, checked against each other."""

    queries: list[Query]
    """Every query of the queries file (the held-out ones too: see held_out)."""
    reward: Reward
    environment: EnvironmentFactory
    held_out: HeldOutSet
    """Which of them the run trains on, and the queries it evaluates on."""


def prepare_inputs(options: TrainerOptions) -> Inputs:
    queries = load_queries(options.queries_file)
    own = None if options.eval_queries_file is None else load_queries(options.eval_queries_file)
    held_out = held_out_set(options.spec.evaluation, queries, own, options.spec.config.seed)
    reward = build_reward(options.spec.reward, [*queries, *(own or [])])
    check_policy_source(options.spec.policy)
    environment = build_environment(options.spec.environment)
    if (
        environment.multi_step
        and options.spec.policy.warm_start_steps > 0
        and not isinstance(environment.make(), FormatTeacher)
    ):
        raise BadInputError(
            f"environment {environment.name} has no format_example() for the warm start: "
            "set policy.warmStartSteps to 0"
        )
    return Inputs(queries=queries, reward=reward, environment=environment, held_out=held_out)

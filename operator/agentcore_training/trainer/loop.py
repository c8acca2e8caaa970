"""The training loop: budget check, rollout, update, charge, report, checkpoint.

`run_training` is the whole run as a function (main.py only adds the CLI, signals, the
progress pusher and the termination message), so tests and the benchmark call it directly.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import torch

from agentcore_training.api.contract import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    AttemptAnswer,
    ProgressReport,
    ProgressState,
)
from agentcore_training.api.evaluation import EvaluationRecord
from agentcore_training.api.status import Metrics
from agentcore_training.trainer.budget import BudgetStop, Rates, SpendGate
from agentcore_training.trainer.checkpoint import CheckpointStore, checkpoint_id
from agentcore_training.trainer.config import TrainerOptions
from agentcore_training.trainer.environments.factory import EnvironmentFactory
from agentcore_training.trainer.environments.protocol import FormatTeacher
from agentcore_training.trainer.episodes import sample_episodes
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.estimate import IterationShape, next_iteration_estimate
from agentcore_training.trainer.evaluation import Evaluations
from agentcore_training.trainer.grpo import zero_std_fraction
from agentcore_training.trainer.history import RewardHistory
from agentcore_training.trainer.inputs import Inputs, prepare_inputs
from agentcore_training.trainer.jsonlog import log
from agentcore_training.trainer.ledger import (
    SAFETY_FACTOR,
    Ledger,
    Prices,
    Usage,
    price,
    seconds_decimal,
)
from agentcore_training.trainer.optim import AdamW
from agentcore_training.trainer.policy.factory import build_policy
from agentcore_training.trainer.policy.protocol import Policy
from agentcore_training.trainer.progress import NullSink, ProgressSink
from agentcore_training.trainer.queries import Query, to_jsonl
from agentcore_training.trainer.rewards import Reward
from agentcore_training.trainer.rollout import encode_prompts, sample_rollout
from agentcore_training.trainer.run_state import RunState
from agentcore_training.trainer.update import policy_update
from agentcore_training.trainer.warmstart import (
    WARM_START_BATCH,
    episode_warm_start,
    format_warm_start,
)

CHECKPOINT_BYTES_PER_SECOND = 20e6
"""Before the first checkpoint its time is assumed from the weights' size at this rate."""
CHECKPOINT_FIXED_SECONDS = 0.25


@dataclass(frozen=True)
class RunResult:
    """How a run ended."""

    state: ProgressState
    reason: str
    """Completed, BudgetExhausted, Cancelled or Interrupted (a CamelCase condition reason)."""
    exit_code: int
    report: ProgressReport
    ledger: Ledger
    rewards: list[float] = field(default_factory=list)
    """Mean reward of each iteration this process ran (for tests and the benchmark)."""
    seconds: float = 0.0
    """Wall-clock seconds of this process's iterations (rollout + update)."""
    sampled: set[int] = field(default_factory=set)
    """Indices (in the queries file) of every query this process trained on."""


def spec_fingerprint(options: TrainerOptions, queries: Sequence[Query]) -> str:
    """What a checkpoint must match to be resumed: the run's spec and its queries."""
    spec = options.spec.model_dump(mode="json", exclude={"cancel", "suspend", "runtime"})
    text = json.dumps(spec, sort_keys=True) + "\n" + to_jsonl(queries)
    return hashlib.sha256(text.encode()).hexdigest()


def batch_indices(cursor: int, batch_size: int, n_queries: int, seed: int) -> list[int]:
    """The queries at positions cursor .. cursor+batch_size of a reshuffled-per-epoch order.

    A pure function of (cursor, seed): the data position is one integer in a checkpoint.
    """
    picks: list[int] = []
    order: list[int] = []
    current_epoch = -1
    for position in range(cursor, cursor + batch_size):
        epoch, offset = divmod(position, n_queries)
        if epoch != current_epoch:
            generator = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
            order = torch.randperm(n_queries, generator=generator).tolist()
            current_epoch = epoch
        picks.append(order[offset])
    return picks


class Trainer:
    """One run: state that the loop updates and checkpoints carry."""

    def __init__(
        self,
        options: TrainerOptions,
        sink: ProgressSink,
        stop: threading.Event,
        clock_start: float,
        inputs: Inputs | None = None,
    ) -> None:
        self.options = options
        self.spec = options.spec
        self.config = options.spec.config
        self.sink = sink
        self.stop = stop
        self.last_charge = clock_start
        self.prices = Prices.from_spec(self.spec.pricing)
        inputs = inputs or prepare_inputs(options)
        held_out = inputs.held_out
        # Only the training part is ever sampled; train_index maps back to the file.
        self.train_index = held_out.train_indices
        self.queries = [inputs.queries[i] for i in self.train_index]
        self.sampled: set[int] = set()
        self.reward: Reward = inputs.reward
        self.environment: EnvironmentFactory = inputs.environment
        multi_step = self.environment.multi_step
        self.max_steps = self.config.max_steps_per_trajectory if multi_step else 1
        # Room for one observation after each step but the last: "=" + result + newline.
        self.observation_tokens = self.spec.environment.max_tool_result_chars + 2
        self.policy: Policy = build_policy(
            self.spec.policy,
            [*inputs.queries, *held_out.queries],  # the vocabulary covers what is evaluated
            reward_field=self.spec.reward.field,
            max_new_tokens=self.config.max_new_tokens,
            seed=self.config.seed,
            extra_alphabet=self.environment.alphabet,
            context_per_step=self.observation_tokens if multi_step else 0,
            max_steps=self.max_steps,
        )
        self.prompts = encode_prompts(self.policy.codec, self.queries)
        eval_prompts = encode_prompts(self.policy.codec, held_out.queries)
        longest = max(len(p) for p in [*self.prompts, *eval_prompts])
        limit = self.policy.max_context
        if limit is not None and longest + self.config.max_new_tokens > limit:
            raise BadInputError(
                f"the longest query is {longest} tokens; with maxNewTokens "
                f"{self.config.max_new_tokens} that exceeds the model's context of {limit}"
            )
        self.shape = IterationShape(
            longest_prompt=longest,
            max_steps=self.max_steps,
            max_new_tokens=self.config.max_new_tokens,
            observation_tokens=self.observation_tokens,
            n_trajectories_per_query=self.config.n_trajectories_per_query,
            batch_size=self.config.batch_size,
            inner_epochs=options.inner_epochs,
            multi_step=multi_step,
            max_context=limit,
        )
        self.fingerprint = spec_fingerprint(options, [*inputs.queries, *held_out.queries])
        self.evaluations = Evaluations(self.spec, held_out, eval_prompts, max_steps=self.max_steps)
        self.store = CheckpointStore(options.checkpoint_dir)
        self.sampling = torch.Generator().manual_seed(self.config.seed)
        self.optimizer = AdamW(
            self.policy.module.parameters(), lr=self.config.learning_rate, weight_decay=0.0
        )
        self.reference: Policy | None = None
        self.reference_saved = False
        self.ledger = Ledger(budget=self.config.max_budget_usd)
        self.iteration = 0
        self.cursor = 0
        self.history = RewardHistory()
        self.metrics = Metrics()
        self.checkpoint_id: str | None = None
        self.best_checkpoint_id: str | None = None
        self.best_reward: float | None = None
        self.window: list[float] = []
        self.rewards: list[float] = []
        self.loop_seconds = 0.0
        self._prior: Decimal | None = None
        self._probe_seconds: float | None = None
        self.rates: Rates | None = None
        self.gate: SpendGate | None = None
        self.stopped: BudgetStop | None = None
        """Set when the budget stopped the run before its first iteration (the warm start)."""

    # -- start -----------------------------------------------------------------------------

    def start(self, attempt: AttemptAnswer | None = None) -> None:
        """Resume from the latest checkpoint, or start fresh (with the warm start).

        `attempt` is the operator's answer to the handshake: the spend it recorded is
        carried over when it is more than the checkpoint's (or there is no checkpoint).
        """
        latest = self.store.latest()
        if latest is not None:
            self._resume(latest)
        if attempt is not None:
            carried = self.ledger.carry_over(attempt.cost_usd)
            log(
                "info",
                "ledger_of_record",
                attempt=attempt.attempt,
                recordedUsd=format(attempt.cost_usd, "f"),
                carriedUsd=format(carried, "f"),
                recordedIteration=attempt.iteration,
                resumedIteration=self.iteration,
            )
        self.gate = SpendGate(self.ledger, self.prices, self._rates(), lambda: self.last_charge)
        if latest is not None:
            return
        kl_needed = self.config.kl_coef > 0
        if self.spec.policy.warm_start_steps > 0:
            try:
                self._warm_start()
            except BudgetStop as stop:
                self.stopped = stop
            self._charge("warm_start", Usage())
            self.reference_saved = kl_needed
        self.reference = self.policy.frozen_copy() if kl_needed else None
        log(
            "info",
            "start",
            policy=self.policy.describe(),
            queries=len(self.queries),
            evaluationQueries=len(self.evaluations.queries),
            environment=self.environment.name,
        )
        # The baseline: the untrained policy (after the format-only warm start), kept as
        # ckpt-000000 so that it can be the best checkpoint if training never beats it.
        if self._evaluate() is not None:
            self.checkpoint(ProgressState.RUNNING)

    def _warm_start(self) -> None:
        gate, rates = self.gate, self.rates
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

        teacher = self.environment.make() if self.environment.multi_step else None
        if isinstance(teacher, FormatTeacher):
            loss = episode_warm_start(
                self.policy,
                teacher,
                self.queries,
                steps=self.spec.policy.warm_start_steps,
                learning_rate=self.config.learning_rate,
                rng=random.Random(self.config.seed + 1),  # noqa: S311 - not a secret
                before_step=before_step,
            )
        else:
            loss = format_warm_start(
                self.policy,
                self.prompts,
                steps=self.spec.policy.warm_start_steps,
                learning_rate=self.config.learning_rate,
                max_new_tokens=self.config.max_new_tokens,
                generator=torch.Generator().manual_seed(self.config.seed + 1),
                before_step=before_step,
            )
        log(
            "info",
            "warm_start",
            steps=self.spec.policy.warm_start_steps,
            loss=round(loss, 4),
            seconds=round(time.monotonic() - started, 3),
        )

    def _resume(self, ckpt_id: str) -> None:
        state = RunState.from_json(self.store.read_state(ckpt_id))
        if state.spec_fingerprint != self.fingerprint:
            raise BadInputError(
                f"checkpoint directory {self.options.checkpoint_dir} holds a run of another "
                "spec or other queries: use a new directory"
            )
        path = self.store.path_of(ckpt_id)
        self.reference_saved = state.reference_saved
        if self.config.kl_coef > 0:
            # Without a warm start the reference is the initial weights: rebuild, not store.
            self.reference = self.policy.frozen_copy()
            if self.reference_saved:
                self.reference.load(path / "reference")
        self.policy.load(path)
        train_state = self.store.read_train_state(ckpt_id)
        self.optimizer.load_state_dict(train_state["optimizer"])
        self.sampling.set_state(train_state["sampling_rng"])
        torch.set_rng_state(train_state["torch_rng"])
        self.ledger = state.ledger
        self.iteration = state.iteration
        self.cursor = state.data_cursor
        self.history = state.history
        self.metrics = state.metrics
        self.checkpoint_id = ckpt_id
        self.best_checkpoint_id = state.best_checkpoint_id
        self.best_reward = state.best_reward
        if state.evaluation is not None:
            self.evaluations.book.restore(state.evaluation)
        log(
            "info",
            "resumed",
            checkpointId=ckpt_id,
            iteration=self.iteration,
            costUsd=format(self.ledger.spent, "f"),
            policy=self.policy.describe(),
        )

    # -- money -----------------------------------------------------------------------------

    def _charge(self, label: str, usage: Usage) -> None:
        """Charge `usage` plus the wall-clock time since the last charge."""
        now = time.monotonic()
        seconds = seconds_decimal(now - self.last_charge)
        self.last_charge = now
        charge = self.ledger.charge(
            Usage(
                seconds=seconds,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                tool_calls=usage.tool_calls,
            ),
            self.prices,
            label=label,
            iteration=self.iteration,
        )
        if self.gate is not None:
            self.gate.reset()
        if self.ledger.overrun_usd > 0:
            log(
                "warning",
                "budget_overrun",
                label=label,
                iteration=self.iteration,
                costUsd=format(charge.cost, "f"),
                spentUsd=format(self.ledger.spent, "f"),
                overrunUsd=format(self.ledger.overrun_usd, "f"),
            )

    def _probe(self) -> float:
        """Seconds of one forward pass of one group at the widest context (timed once)."""
        if self._probe_seconds is None:
            shape = self.shape
            probe = torch.full(
                (shape.n_trajectories_per_query, shape.probe_width), self.policy.codec.eos_id
            )
            started = time.monotonic()
            with torch.no_grad():
                self.policy.logits(probe, torch.ones_like(probe))
            self._probe_seconds = time.monotonic() - started
        return self._probe_seconds

    def _rates(self) -> Rates:
        """Worst-case rates before anything was measured: from the probe and the size."""
        if self.rates is None:
            config = self.config
            probe = self._probe()
            n = config.n_trajectories_per_query
            parameters = sum(p.numel() * p.element_size() for p in self.policy.module.parameters())
            # Weights, two AdamW moments, and a reference copy at most.
            checkpoint_bytes = 4 * parameters
            self.rates = Rates(
                token_step_s=probe / n,
                update_s=probe * config.batch_size * (1 + 3 * self.options.inner_epochs),
                checkpoint_s=CHECKPOINT_FIXED_SECONDS
                + checkpoint_bytes / CHECKPOINT_BYTES_PER_SECOND,
                warm_step_s=3 * probe * WARM_START_BATCH / n,
            )
        return self.rates

    def _prior_estimate(self) -> Decimal:
        """Before any iteration: worst-case tokens, and time from one timed forward pass."""
        if self._prior is None:
            usage = self.shape.worst_case_usage(self._probe())
            self._prior = price(usage, self.prices).total
        return self._prior

    def next_estimate(self) -> Decimal:
        """Time already elapsed since the last charge, a cautious next iteration, the
        end of the run (a final checkpoint and the tail) after it, and the final evaluation
        (reserved, so that the run can always afford its last one)."""
        end = price(self.gate.end_reserve(), self.prices).total if self.gate else Decimal(0)
        return (
            end
            + next_iteration_estimate(
                self.ledger,
                self.prices,
                pending_seconds=time.monotonic() - self.last_charge,
                prior=self._prior_estimate,
            )
            + self.evaluations.estimate(self._prior_estimate)
        )

    def _evaluate(self) -> EvaluationRecord | None:
        """Evaluate the current weights on the held-out queries, on the ledger."""
        if self.stopped is not None:  # a budget stop: nothing more may be spent
            self.evaluations.book.skipped(
                f"no evaluation at iteration {self.iteration}: the budget stopped the run"
            )
            return None
        pending = price(
            Usage(seconds=seconds_decimal(time.monotonic() - self.last_charge)), self.prices
        ).total
        record = self.evaluations.run(
            self.policy,
            self.environment,
            self.reward,
            iteration=self.iteration,
            ledger=self.ledger,
            charge=lambda usage: self._charge("evaluation", usage),
            pending_usd=pending,
            prior_iteration=self._prior_estimate,
        )
        if record is not None:
            self.best_checkpoint_id = self.evaluations.book.best_checkpoint_id
        return record

    # -- one iteration -----------------------------------------------------------------------

    def run_iteration(self) -> None:
        """One iteration; raises BudgetStop (nothing updated, the cursor back) when a part of
        it could cross the budget: the running check of `budget.py`."""
        config = self.config
        gate = self.gate
        started = time.monotonic()
        picks = batch_indices(self.cursor, config.batch_size, len(self.queries), config.seed)
        if self.environment.multi_step:
            batch = sample_episodes(
                self.policy,
                self.environment,
                self.reward,
                [self.queries[i] for i in picks],
                group_size=config.n_trajectories_per_query,
                max_steps=self.max_steps,
                max_new_tokens=config.max_new_tokens,
                temperature=config.temperature,
                gamma=config.gamma,
                generator=self.sampling,
                gate=gate,
            )
        else:
            # single_turn: one batched generation, the completion is the answer.
            batch = sample_rollout(
                self.policy,
                self.reward,
                [self.queries[i] for i in picks],
                [self.prompts[i] for i in picks],
                group_size=config.n_trajectories_per_query,
                max_new_tokens=config.max_new_tokens,
                temperature=config.temperature,
                generator=self.sampling,
                gate=gate,
            )
        if gate is not None:
            gate.check("update", gate.update_reserve())
        update_started = time.monotonic()
        self.cursor += config.batch_size
        self.sampled.update(self.train_index[i] for i in picks)
        stats = policy_update(
            self.policy,
            self.reference,
            self.optimizer,
            batch,
            inner_epochs=self.options.inner_epochs,
            clip_epsilon=config.clip_epsilon,
            kl_coef=config.kl_coef,
            temperature=config.temperature,
            micro_batch_size=self.options.micro_batch_size,
        )
        if self.rates is not None:
            self.rates.saw_update(time.monotonic() - update_started)
        seconds = time.monotonic() - started
        self.loop_seconds += seconds
        self.iteration += 1
        episodes = batch.stats
        self._charge(
            "iteration",
            Usage(
                prompt_tokens=batch.prompt_tokens,
                completion_tokens=batch.completion_tokens,
                tool_calls=episodes.tool_calls,
            ),
        )
        avg_reward = float(batch.rewards.mean())
        self.metrics = Metrics(
            avg_reward=avg_reward,
            std_reward=float(batch.rewards.std(correction=0)),
            loss=stats.loss,
            kl=stats.kl,
            clip_ratio=stats.clip_ratio,
            entropy=stats.entropy,
            mean_completion_length=float(batch.completion_lengths.float().mean()),
            frac_zero_std_groups=zero_std_fraction(batch.rewards, batch.group_size),
            mean_steps_per_trajectory=episodes.mean_steps,
            tool_calls_per_trajectory=episodes.tool_calls_per_trajectory,
            tool_error_rate=episodes.tool_error_rate,
            frac_truncated=episodes.frac_truncated,
            tokens=self.ledger.usage.prompt_tokens + self.ledger.usage.completion_tokens,
            iteration_seconds=round(seconds, 6),
        )
        self.rewards.append(avg_reward)
        self.window.append(avg_reward)
        self.history.add(self.iteration, avg_reward)
        log(
            "info",
            "iteration",
            iteration=self.iteration,
            totalIterations=config.n_iterations,
            costUsd=format(self.ledger.spent, "f"),
            gradNorm=round(stats.grad_norm, 6),
            metrics=self.metrics.to_snake(),
        )

    # -- checkpoints and reports ------------------------------------------------------------

    def checkpoint(self, state: ProgressState) -> str:
        ckpt_id = checkpoint_id(self.iteration)
        if self.evaluations.book.best is not None:
            self.window = []  # the held-out evaluation picks the best (see _evaluate)
        elif self.window:
            window_mean = sum(self.window) / len(self.window)
            if self.best_reward is None or window_mean > self.best_reward:
                self.best_reward = window_mean
                self.best_checkpoint_id = ckpt_id
            self.window = []
        elif self.best_checkpoint_id is None:
            self.best_checkpoint_id = ckpt_id
        reference = self.reference if self.reference_saved else None

        def save_weights(directory: Path) -> None:
            self.policy.save(directory)
            if reference is not None:
                (directory / "reference").mkdir()
                reference.save(directory / "reference")

        run_state = RunState(
            iteration=self.iteration,
            total_iterations=self.config.n_iterations,
            data_cursor=self.cursor,
            state=state,
            spec_fingerprint=self.fingerprint,
            reference_saved=self.reference_saved,
            ledger=self.ledger,
            best_checkpoint_id=self.best_checkpoint_id,
            best_reward=self.best_reward,
            metrics=self.metrics,
            history=self.history,
            evaluation=self.evaluations.book.to_json(),
        )
        train_state = {
            "optimizer": self.optimizer.state_dict(),
            "sampling_rng": self.sampling.get_state(),
            "torch_rng": torch.get_rng_state(),
        }
        started = time.monotonic()
        self.store.write(ckpt_id, run_state.to_json(), train_state, save_weights)
        if self.rates is not None:
            self.rates.saw_checkpoint(time.monotonic() - started)
        previous = self.checkpoint_id
        self.checkpoint_id = ckpt_id
        self.store.prune([ckpt_id, previous, self.best_checkpoint_id])
        log(
            "info",
            "checkpoint",
            checkpointId=ckpt_id,
            bestCheckpointId=self.best_checkpoint_id,
            costUsd=format(self.ledger.spent, "f"),
        )
        return ckpt_id

    def report(self, state: ProgressState, message: str | None = None) -> ProgressReport:
        return ProgressReport(
            job_id=self.options.job_id,
            pod_name=self.options.pod_name,
            iteration=self.iteration,
            total_iterations=self.config.n_iterations,
            state=state,
            metrics=self.metrics,
            cost_usd=self.ledger.spent,
            budget_usd=self.ledger.budget,
            checkpoint_id=self.checkpoint_id,
            best_checkpoint_id=self.best_checkpoint_id,
            avg_reward_history=self.history.to_points(),
            evaluation=self.evaluations.book.status(),
            message=message,
        )

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> RunResult:
        config = self.config
        self.sink.publish(self.report(ProgressState.RUNNING, "started"))
        while True:
            if self.stopped is not None:
                state, reason, code = ProgressState.BUDGET_EXHAUSTED, "BudgetExhausted", EXIT_OK
                message = (
                    f"budget exhausted after {self.iteration} iterations: stopped before a "
                    f"{self.stopped}"
                )
                break
            if self.iteration >= config.n_iterations:
                state, reason, code = ProgressState.COMPLETED, "Completed", EXIT_OK
                message = f"completed {self.iteration} iterations"
                break
            if self.spec.cancel or self.sink.cancel_requested:
                state, reason, code = ProgressState.CANCELLED, "Cancelled", EXIT_OK
                message = f"cancelled after {self.iteration} iterations"
                break
            if self.stop.is_set():
                state, reason, code = ProgressState.RUNNING, "Interrupted", EXIT_INTERRUPTED
                message = f"interrupted by SIGTERM after {self.iteration} iterations"
                break
            estimate = self.next_estimate()
            if not self.ledger.can_afford(estimate):
                state, reason, code = ProgressState.BUDGET_EXHAUSTED, "BudgetExhausted", EXIT_OK
                message = (
                    f"budget exhausted after {self.iteration} iterations: spent "
                    f"{self.ledger.spent} USD of {self.ledger.budget}, and the next iteration "
                    f"could cost up to {estimate}"
                )
                break
            try:
                self.run_iteration()
            except BudgetStop as stop:
                # What the stopped iteration used so far was spent: it goes on the ledger.
                assert self.gate is not None
                self._charge("stopped_iteration", self.gate.pending)
                self.stopped = stop
                log("info", "budget_stop", iteration=self.iteration, phase=stop.phase)
                continue
            evaluated = self.evaluations.due(self.iteration) and self._evaluate() is not None
            if (evaluated or self.iteration % config.checkpoint_interval == 0) and (
                self.iteration < config.n_iterations
            ):
                self.checkpoint(ProgressState.RUNNING)
            self.sink.publish(self.report(ProgressState.RUNNING))
        self._final_evaluation(state)
        # The time since the last charge (the last checks, a checkpoint) is spend too.
        self._charge("tail", Usage())
        self.checkpoint(state)
        # The final checkpoint's time is spend too: the final report shows it (the
        # checkpoint cannot hold its own cost).
        self._charge("final_checkpoint", Usage())
        log(
            "info",
            "finished",
            state=state.value,
            reason=reason,
            iteration=self.iteration,
            costUsd=format(self.ledger.spent, "f"),
            overrunUsd=format(self.ledger.overrun_usd, "f"),
            message=message,
        )
        return RunResult(
            state=state,
            reason=reason,
            exit_code=code,
            report=self.report(state, message),
            ledger=self.ledger,
            rewards=self.rewards,
            seconds=self.loop_seconds,
            sampled=self.sampled,
        )

    def _final_evaluation(self, state: ProgressState) -> None:
        """The end is always evaluated, unless the run was cut short (said in the book)."""
        latest = self.evaluations.book.latest
        if latest is not None and latest.iteration == self.iteration:
            return
        if state in (ProgressState.COMPLETED, ProgressState.BUDGET_EXHAUSTED):
            self._evaluate()
        elif self.evaluations.enabled:
            ending = "cancelled" if state is ProgressState.CANCELLED else "interrupted"
            self.evaluations.book.skipped(
                f"no evaluation at iteration {self.iteration}: the run was {ending}"
            )


def run_training(
    options: TrainerOptions,
    sink: ProgressSink | None = None,
    stop: threading.Event | None = None,
    clock_start: float | None = None,
    inputs: Inputs | None = None,
    attempt: AttemptAnswer | None = None,
) -> RunResult:
    """Run (or resume) the whole training; raises TrainerError subclasses on failure."""
    trainer = Trainer(
        options,
        sink or NullSink(),
        stop or threading.Event(),
        time.monotonic() if clock_start is None else clock_start,
        inputs,
    )
    trainer.start(attempt)
    return trainer.run()

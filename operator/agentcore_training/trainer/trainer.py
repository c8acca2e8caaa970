"""A run's state: the policy, the optimizer, the ledger and the evaluations, and its start.

`loop.py` drives it; `iteration.py` runs one iteration on it; `snapshot.py` checkpoints it.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Sequence
from decimal import Decimal

import torch

from agentcore_training.api.contract import (
    AttemptAnswer,
    ProgressReport,
    ProgressState,
)
from agentcore_training.api.evaluation import EvaluationRecord
from agentcore_training.api.policy import learning_rate_warning
from agentcore_training.api.status import Metrics, OutputStatus
from agentcore_training.trainer import distributed
from agentcore_training.trainer.budget import BudgetStop, Rates, SpendGate
from agentcore_training.trainer.checkpoint import CheckpointStore
from agentcore_training.trainer.config import TrainerOptions
from agentcore_training.trainer.environments.factory import EnvironmentFactory
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.estimate import IterationShape, next_iteration_estimate
from agentcore_training.trainer.evaluation import Evaluations
from agentcore_training.trainer.history import RewardHistory
from agentcore_training.trainer.inputs import Inputs, prepare_inputs
from agentcore_training.trainer.jsonlog import log
from agentcore_training.trainer.ledger import (
    Ledger,
    Prices,
    Usage,
    price,
    seconds_decimal,
)
from agentcore_training.trainer.optim import AdamW
from agentcore_training.trainer.output import prepare_output
from agentcore_training.trainer.policy.factory import build_policy
from agentcore_training.trainer.policy.protocol import Policy
from agentcore_training.trainer.progress import ProgressSink
from agentcore_training.trainer.queries import Query, to_jsonl
from agentcore_training.trainer.rewards import Reward
from agentcore_training.trainer.rollout import encode_prompts
from agentcore_training.trainer.snapshot import resume, save_checkpoint
from agentcore_training.trainer.warmstart import (
    WARM_START_BATCH,
    run_warm_start,
)

CHECKPOINT_BYTES_PER_SECOND = 20e6
"""Before the first checkpoint its time is assumed from the weights' size at this rate."""
CHECKPOINT_FIXED_SECONDS = 0.25
OUTPUT_FIXED_SECONDS = 5.0
"""The output's time beyond its bytes: tokenizer files, hashing, folders."""


def spec_fingerprint(options: TrainerOptions, queries: Sequence[Query]) -> str:
    """What a checkpoint must match to be resumed: the run's spec and its queries."""
    spec = options.spec.model_dump(mode="json", exclude={"cancel", "suspend", "runtime"})
    text = json.dumps(spec, sort_keys=True) + "\n" + to_jsonl(queries)
    return hashlib.sha256(text.encode()).hexdigest()


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
        # Under torchrun: this process's rank of `world`; rank 0 (`main`) alone owns the
        # ledger, the reports, the checkpoints and the output.
        self.rank, self.world = distributed.rank(), distributed.world_size()
        self.main = self.rank == 0
        if self.config.batch_size < self.world:
            raise BadInputError(
                f"batchSize {self.config.batch_size} is smaller than the {self.world} "
                "data-parallel processes: each needs at least one query an iteration"
            )
        self.prices = Prices.from_spec(self.spec.pricing, processes=self.world)
        inputs = inputs or prepare_inputs(options)
        prepare_output(options.output_dir, self.spec.policy.model)
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
        warning = learning_rate_warning(self.spec.policy, self.config.learning_rate)
        if warning is not None:
            log("warning", "learning_rate_high", message=warning)
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
        self.output: OutputStatus | None = None
        """Set at the end: where the output went, or that none was kept."""

    # -- start -----------------------------------------------------------------------------

    def start(self, attempt: AttemptAnswer | None = None) -> None:
        """Resume from the latest checkpoint, or start fresh (with the warm start).

        `attempt` is the operator's answer to the handshake: the spend it recorded is
        carried over when it is more than the checkpoint's (or there is no checkpoint).
        """
        # Every rank resumes the same checkpoint (rank 0's choice; no one writes yet).
        latest = distributed.broadcast_object(self.store.latest())
        if latest is not None:
            resume(self, latest)
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
            if self.main:  # on the ledger; the other ranks take its weights below
                try:
                    run_warm_start(self)
                except BudgetStop as stop:
                    self.stopped = stop
                self._charge("warm_start", Usage())
            self.reference_saved = kl_needed
        distributed.broadcast_module(self.policy.module)  # every rank from rank 0's weights
        self.reference = self.policy.frozen_copy() if kl_needed else None
        if not self.main:
            return  # the baseline evaluation and its checkpoint are rank 0's
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
            save_checkpoint(self, ProgressState.RUNNING)

    # -- money -----------------------------------------------------------------------------

    def _charge(self, label: str, usage: Usage) -> None:
        """Charge `usage` plus the wall-clock time since the last charge (rank 0 only: the
        usage it charges is the whole batch's, its clock is every process's)."""
        if not self.main:
            return
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
                (shape.n_trajectories_per_query, shape.probe_width),
                self.policy.codec.eos_id,
                device=self.policy.device,
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
            # The output: final and best written, best and final read back (x2 with merged).
            output_s = 0.0
            if self.options.output_dir is not None:
                merge = self.spec.output is not None and self.spec.output.merge
                folds = 6 if merge else 4  # merged weights: one more write of each
                output_s = OUTPUT_FIXED_SECONDS + folds * parameters / CHECKPOINT_BYTES_PER_SECOND
            self.rates = Rates(
                token_step_s=probe / n,
                update_s=probe * config.batch_size * (1 + 3 * self.options.inner_epochs),
                checkpoint_s=CHECKPOINT_FIXED_SECONDS
                + checkpoint_bytes / CHECKPOINT_BYTES_PER_SECOND,
                warm_step_s=3 * probe * WARM_START_BATCH / n,
                output_s=output_s,
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
            if self.evaluations.book.message is None:  # else it says why already
                self.evaluations.book.skipped(
                    f"no evaluation at iteration {self.iteration}: the budget stopped the run"
                )
            return None
        pending = price(
            Usage(seconds=seconds_decimal(time.monotonic() - self.last_charge)), self.prices
        ).total
        # The running check, as in training: the estimate above is only a forecast.
        gate = SpendGate(
            self.ledger, self.prices, self._rates(), lambda: self.last_charge, updates=False
        )
        try:
            record = self.evaluations.run(
                self.policy,
                self.environment,
                self.reward,
                iteration=self.iteration,
                ledger=self.ledger,
                charge=lambda usage: self._charge("evaluation", usage),
                pending_usd=pending,
                prior_iteration=self._prior_estimate,
                gate=gate,
            )
        except BudgetStop as stop:
            self._charge("stopped_evaluation", gate.pending)  # what it used was spent
            self.stopped = stop
            self.evaluations.book.skipped(
                f"the budget stopped the evaluation at iteration {self.iteration}: {stop}"
            )
            log("info", "budget_stop", iteration=self.iteration, phase=stop.phase)
            return None
        if record is not None:
            self.best_checkpoint_id = self.evaluations.book.best_checkpoint_id
        return record

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
            output=self.output,
            message=message,
        )

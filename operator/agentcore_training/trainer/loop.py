"""The run loop: budget check, iteration, evaluation, report, checkpoint, until the end.

`run_training` is the whole run as a function (main.py only adds the CLI, signals, the
progress pusher and the termination message), so tests and the benchmark call it directly.
The pieces: `trainer.py` (the run's state and its start), `iteration.py` (one iteration),
`snapshot.py` (checkpoints and resume), `output.py` (the trained model to spec.output).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from agentcore_training.api.contract import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    AttemptAnswer,
    ProgressReport,
    ProgressState,
)
from agentcore_training.api.status import OutputStatus
from agentcore_training.trainer import distributed
from agentcore_training.trainer.budget import BudgetStop
from agentcore_training.trainer.config import TrainerOptions
from agentcore_training.trainer.inputs import Inputs
from agentcore_training.trainer.iteration import run_iteration
from agentcore_training.trainer.jsonlog import log
from agentcore_training.trainer.ledger import Ledger, Usage
from agentcore_training.trainer.output import NOT_KEPT, WRITTEN_STATES, write_output
from agentcore_training.trainer.progress import NullSink, ProgressSink
from agentcore_training.trainer.snapshot import save_checkpoint
from agentcore_training.trainer.trainer import Trainer


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


Ending = tuple[ProgressState, str, int, str]
"""How the loop ends: state, reason, exit code, message."""


def _ending(trainer: Trainer) -> Ending | None:
    """Whether the run ends before another iteration, and how (None: it goes on)."""
    config = trainer.config
    if trainer.stopped is not None:
        message = (
            f"budget exhausted after {trainer.iteration} iterations: stopped before a "
            f"{trainer.stopped}"
        )
        return ProgressState.BUDGET_EXHAUSTED, "BudgetExhausted", EXIT_OK, message
    if trainer.iteration >= config.n_iterations:
        message = f"completed {trainer.iteration} iterations"
        return ProgressState.COMPLETED, "Completed", EXIT_OK, message
    if trainer.spec.cancel or trainer.sink.cancel_requested:
        message = f"cancelled after {trainer.iteration} iterations"
        return ProgressState.CANCELLED, "Cancelled", EXIT_OK, message
    if trainer.stop.is_set():
        message = f"interrupted by SIGTERM after {trainer.iteration} iterations"
        return ProgressState.RUNNING, "Interrupted", EXIT_INTERRUPTED, message
    estimate = trainer.next_estimate()
    if not trainer.ledger.can_afford(estimate):
        message = (
            f"budget exhausted after {trainer.iteration} iterations: spent "
            f"{trainer.ledger.spent} USD of {trainer.ledger.budget}, and the next iteration "
            f"could cost up to {estimate}"
        )
        return ProgressState.BUDGET_EXHAUSTED, "BudgetExhausted", EXIT_OK, message
    return None


def run_loop(trainer: Trainer) -> RunResult:
    """Iterate until done, cancelled, interrupted or out of budget; then end the run.

    Under torchrun rank 0 decides, before each iteration, whether the run goes on (the
    budget, a cancel or suspend, a SIGTERM are what it sees) and every rank follows its
    decision; rank 0 alone evaluates, checkpoints, reports and writes the output."""
    config = trainer.config
    if trainer.main:
        trainer.sink.publish(trainer.report(ProgressState.RUNNING, "started"))
    while True:
        ending = distributed.broadcast_object(_ending(trainer) if trainer.main else None)
        if ending is not None:
            break
        try:
            run_iteration(trainer)
        except BudgetStop as stop:
            # What the stopped iteration used so far was spent: it goes on the ledger.
            assert trainer.gate is not None
            trainer._charge("stopped_iteration", trainer.gate.pending)
            trainer.stopped = stop
            if trainer.main:
                log("info", "budget_stop", iteration=trainer.iteration, phase=stop.phase)
            continue
        if not trainer.main:
            continue
        evaluated = trainer.evaluations.due(trainer.iteration) and trainer._evaluate() is not None
        if (evaluated or trainer.iteration % config.checkpoint_interval == 0) and (
            trainer.iteration < config.n_iterations
        ):
            save_checkpoint(trainer, ProgressState.RUNNING)
        trainer.sink.publish(trainer.report(ProgressState.RUNNING))
    state, reason, _code, message = ending
    if not trainer.main:
        return _result(trainer, ending)
    _final_evaluation(trainer, state)
    # The time since the last charge (the last checks, a checkpoint) is spend too.
    trainer._charge("tail", Usage())
    save_checkpoint(trainer, state)
    # The final checkpoint's time is spend too: the final report shows it (the
    # checkpoint cannot hold its own cost).
    trainer._charge("final_checkpoint", Usage())
    _write_output(trainer, state)
    log(
        "info",
        "finished",
        state=state.value,
        reason=reason,
        iteration=trainer.iteration,
        costUsd=format(trainer.ledger.spent, "f"),
        overrunUsd=format(trainer.ledger.overrun_usd, "f"),
        message=message,
    )
    return _result(trainer, ending)


def _result(trainer: Trainer, ending: Ending) -> RunResult:
    state, reason, code, message = ending
    return RunResult(
        state=state,
        reason=reason,
        exit_code=code,
        report=trainer.report(state, message),
        ledger=trainer.ledger,
        rewards=trainer.rewards,
        seconds=trainer.loop_seconds,
        sampled=trainer.sampled,
    )


def _final_evaluation(trainer: Trainer, state: ProgressState) -> None:
    """The end is always evaluated, unless the run was cut short (said in the book)."""
    latest = trainer.evaluations.book.latest
    if latest is not None and latest.iteration == trainer.iteration:
        return
    if state in (ProgressState.COMPLETED, ProgressState.BUDGET_EXHAUSTED):
        trainer._evaluate()
    elif trainer.evaluations.enabled:
        ending = "cancelled" if state is ProgressState.CANCELLED else "interrupted"
        trainer.evaluations.book.skipped(
            f"no evaluation at iteration {trainer.iteration}: the run was {ending}"
        )


def _write_output(trainer: Trainer, state: ProgressState) -> None:
    """The trained model to spec.output, on the ledger (the end reserve kept room for it)."""
    if trainer.options.output_dir is None:
        trainer.output = OutputStatus(kept=False, message=NOT_KEPT)
    elif state in WRITTEN_STATES:  # interrupted: the pod that resumes writes it at its end
        trainer.output = write_output(trainer, state)
        trainer._charge("output", Usage())


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
    return run_loop(trainer)

"""`agentcore-trainer`: the CLI around run_training, with signals, progress and exit codes.

Exit codes (api/contract.py): 0 completed, budget exhausted or cancelled; 1 runtime
failure; 2 bad input; 143 interrupted by SIGTERM (checkpointed, resumable). The last word is
a TerminationSummary in the termination log, which the operator reads back.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from agentcore_training.api.contract import (
    ENV_OMP_NUM_THREADS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_RUNTIME_FAILURE,
    AttemptRequest,
    ProgressState,
    TerminationSummary,
)
from agentcore_training.trainer.config import TrainerOptions, parse_options, termination_log_path
from agentcore_training.trainer.errors import BadInputError, TrainerError
from agentcore_training.trainer.inputs import prepare_inputs
from agentcore_training.trainer.jsonlog import log
from agentcore_training.trainer.ledger import Prices, Usage, price, seconds_decimal
from agentcore_training.trainer.progress import (
    NullSink,
    ProgressPusher,
    ProgressSink,
    WaitedOutTheBudget,
)

if TYPE_CHECKING:
    from agentcore_training.trainer.loop import RunResult

FINAL_PUSH_TIMEOUT_S = 10.0


def _set_threads() -> None:
    # On a busy 2-core node, OpenMP oversubscription makes GRPO 18-45x slower: honour
    # OMP_NUM_THREADS for torch's intra-op pool too.
    value = os.environ.get(ENV_OMP_NUM_THREADS, "")
    if value.isdigit() and int(value) > 0:
        import torch  # deferred: bad input is reported before torch's slow import

        torch.set_num_threads(int(value))


def _error_line(message: str) -> None:
    first = " ".join(message.split())  # one line, whatever the message held
    sys.stderr.write(f"agentcore-trainer: error: {first}\n")
    sys.stderr.flush()


def result_summary(result: RunResult) -> TerminationSummary:
    """The summary of a run that ended (completed, out of budget, cancelled, interrupted)."""
    return TerminationSummary.of_report(
        result.report, reason=result.reason, exit_code=result.exit_code
    )


def _own_spend(
    options: TrainerOptions, clock_start: float, extra_s: float = 0.0, processes: int = 1
) -> Decimal:
    """What this pod's `processes` have cost since it started (plus `extra_s`): their
    time, at the run's compute price; nothing else is spent before training."""
    seconds = seconds_decimal(time.monotonic() - clock_start + extra_s)
    prices = Prices.from_spec(options.spec.pricing, processes=processes)
    return price(Usage(seconds=seconds), prices).total


def _affordable(
    options: TrainerOptions, clock_start: float, processes: int = 1
) -> Callable[[float], bool]:
    """Whether waiting `seconds` more for the operator keeps this pod within the budget."""
    budget = options.spec.config.max_budget_usd
    return lambda seconds: _own_spend(options, clock_start, seconds, processes) <= budget


def waited_out_summary(
    options: TrainerOptions, clock_start: float, waited: WaitedOutTheBudget, processes: int = 1
) -> TerminationSummary:
    """The end of a pod that waited for the operator until more waiting could cross the
    budget: BudgetExhausted with its own spend (what earlier pods spent is on the status)."""
    spent = _own_spend(options, clock_start, processes=processes)
    budget = options.spec.config.max_budget_usd
    return TerminationSummary(
        state=ProgressState.BUDGET_EXHAUSTED,
        reason="BudgetExhausted",
        exit_code=EXIT_OK,
        job_id=options.job_id,
        pod_name=options.pod_name,
        cost_usd=spent,
        budget_usd=budget,
        message=(
            f"budget exhausted waiting for the operator's attempt answer ({waited}): this pod "
            f"spent {spent} USD of {budget} waiting, and the next wait could cross the budget"
        ),
    )


def failure_summary(error: BaseException) -> TerminationSummary:
    """The summary of a run that failed: bad input, or a runtime failure."""
    return TerminationSummary(
        state=ProgressState.FAILED,
        reason="BadInput" if isinstance(error, BadInputError) else "RuntimeFailure",
        exit_code=_exit_code(error),
        message=_error_text(error)[:2000],
    )


def _exit_code(error: BaseException) -> int:
    return error.exit_code if isinstance(error, TrainerError) else EXIT_RUNTIME_FAILURE


def _error_text(error: BaseException) -> str:
    return str(error) if isinstance(error, TrainerError) else f"{type(error).__name__}: {error}"


def _write_termination(path: Path | None, summary: TerminationSummary) -> None:
    if path is None:
        return
    try:
        path.write_bytes(summary.to_message())
    except OSError as error:
        # On a laptop /dev/termination-log does not exist: the logs are the record there.
        log("debug", "termination_log_unwritable", path=str(path), error=error.strerror)


def main(argv: Sequence[str] | None = None) -> int:
    clock_start = time.monotonic()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del frame
        log("warning", "signal", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    termination: Path | None = termination_log_path(argv)
    try:
        options = parse_options(argv)
        inputs = prepare_inputs(options)
        _set_threads()
        from agentcore_training.trainer import distributed  # deferred: imports torch
        from agentcore_training.trainer.loop import run_training

        if distributed.init_from_env() and not distributed.is_main():
            termination = None  # rank 0 writes the pod's termination message
        processes = distributed.world_size()
        sink: ProgressSink = NullSink()
        if options.progress_url and distributed.is_main():
            try:
                sink = ProgressPusher(
                    options.progress_url,
                    token_file=options.token_file,
                    ca_file=options.ca_file,
                    ca_pem=options.ca_pem,
                    interval_s=options.push_interval_s,
                )
            except (ValueError, OSError) as error:
                raise BadInputError(f"progress endpoint: {error}") from None
        attempt = None
        early: int | None = None
        if isinstance(sink, ProgressPusher):
            # The operator is the ledger of record: learn what was spent before spending.
            request = AttemptRequest(job_id=options.job_id, pod_name=options.pod_name)
            try:
                attempt = sink.attempt(request, stop, _affordable(options, clock_start, processes))
            except WaitedOutTheBudget as waited:
                summary = waited_out_summary(options, clock_start, waited, processes)
                log("warning", "budget_spent_waiting_for_the_operator", message=summary.message)
                _write_termination(termination, summary)
                early = EXIT_OK
            else:
                if attempt is None:
                    log("warning", "interrupted_before_the_attempt_handshake")
                    early = EXIT_INTERRUPTED
        # Rank 0 alone talks to the operator; the other ranks end as it does before training.
        early = distributed.broadcast_object(early)
        if early is not None:
            distributed.close()
            return early
        result = run_training(options, sink, stop, clock_start, inputs, attempt=attempt)
        if not distributed.finish_together():
            log("warning", "a_rank_left_before_the_end", state=result.report.state.value)
        if not distributed.is_main():
            log("info", "released")  # rank 0 has finished: this rank ends
        distributed.close()
    except (TrainerError, Exception) as error:
        text = _error_text(error)
        if not isinstance(error, TrainerError):
            log("error", "crash", error=text, traceback=traceback.format_exc())
        _error_line(text)
        _write_termination(termination, failure_summary(error))
        return _exit_code(error)
    delivered = sink.close(result.report, FINAL_PUSH_TIMEOUT_S)
    if options.progress_url and not delivered and isinstance(sink, ProgressPusher):
        log("warning", "final_report_not_delivered", url=options.progress_url)
    _write_termination(termination, result_summary(result))
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())

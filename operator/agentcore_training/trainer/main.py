"""`agentcore-trainer`: the CLI around run_training, with signals, progress and exit codes.

Exit codes (see errors.py): 0 completed, budget exhausted or cancelled; 1 runtime failure;
2 bad input; 143 interrupted by SIGTERM (checkpointed, resumable).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from agentcore_training.trainer.config import parse_options, termination_log_path
from agentcore_training.trainer.errors import (
    EXIT_BAD_INPUT,
    EXIT_RUNTIME_FAILURE,
    BadInputError,
    TrainerError,
)
from agentcore_training.trainer.inputs import prepare_inputs
from agentcore_training.trainer.jsonlog import log
from agentcore_training.trainer.progress import NullSink, ProgressPusher, ProgressSink

TERMINATION_MESSAGE_MAX_BYTES = 4096
FINAL_PUSH_TIMEOUT_S = 10.0


def _set_threads() -> None:
    # On a busy 2-core node, OpenMP oversubscription makes GRPO 18-45x slower: honour
    # OMP_NUM_THREADS for torch's intra-op pool too.
    value = os.environ.get("OMP_NUM_THREADS", "")
    if value.isdigit() and int(value) > 0:
        import torch  # deferred: bad input is reported before torch's slow import

        torch.set_num_threads(int(value))


def _error_line(message: str) -> None:
    first = " ".join(message.split())  # one line, whatever the message held
    sys.stderr.write(f"agentcore-trainer: error: {first}\n")
    sys.stderr.flush()


def termination_summary(summary: dict[str, Any]) -> bytes:
    """The final summary as JSON of at most 4 KiB (the message and history give way first)."""
    data = json.dumps(summary, separators=(",", ":"), default=str).encode()
    if len(data) <= TERMINATION_MESSAGE_MAX_BYTES:
        return data
    trimmed = dict(summary)
    trimmed.pop("metrics", None)
    message = str(trimmed.get("message", ""))
    trimmed["message"] = message[:1000]
    data = json.dumps(trimmed, separators=(",", ":"), default=str).encode()
    return (
        data[:TERMINATION_MESSAGE_MAX_BYTES] if len(data) > TERMINATION_MESSAGE_MAX_BYTES else data
    )


def _write_termination(path: Path | None, summary: dict[str, Any]) -> None:
    if path is None:
        return
    try:
        path.write_bytes(termination_summary(summary))
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
    termination = termination_log_path(argv)
    try:
        options = parse_options(argv)
        inputs = prepare_inputs(options)
        _set_threads()
        from agentcore_training.trainer.loop import run_training  # deferred: imports torch

        sink: ProgressSink = NullSink()
        if options.progress_url:
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
        result = run_training(options, sink, stop, clock_start, inputs)
    except (TrainerError, Exception) as error:
        bad_input = isinstance(error, BadInputError)
        code = error.exit_code if isinstance(error, TrainerError) else EXIT_RUNTIME_FAILURE
        text = str(error) if isinstance(error, TrainerError) else f"{type(error).__name__}: {error}"
        if not isinstance(error, TrainerError):
            log("error", "crash", error=text, traceback=traceback.format_exc())
        _error_line(text)
        _write_termination(
            termination,
            {
                "state": "failed",
                "reason": "BadInput" if bad_input else "RuntimeFailure",
                "exitCode": code if code else EXIT_BAD_INPUT,
                "message": text[:2000],
            },
        )
        return code
    delivered = sink.close(result.report, FINAL_PUSH_TIMEOUT_S)
    if options.progress_url and not delivered:
        log("warning", "final_report_not_delivered", url=options.progress_url)
    report = result.report
    _write_termination(
        termination,
        {
            "state": report.state.value,
            "reason": result.reason,
            "exitCode": result.exit_code,
            "iteration": report.iteration,
            "totalIterations": report.total_iterations,
            "costUsd": format(report.cost_usd, "f"),
            "budgetUsd": format(report.budget_usd, "f"),
            "checkpointId": report.checkpoint_id,
            "bestCheckpointId": report.best_checkpoint_id,
            "metrics": report.metrics.to_wire(),
            "message": report.message,
        },
    )
    return result.exit_code


if __name__ == "__main__":
    sys.exit(main())

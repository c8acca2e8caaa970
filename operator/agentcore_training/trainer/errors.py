"""Exit codes of the trainer and the errors that map to them.

The codes are part of the contract with the Job's podFailurePolicy: bad input (2) fails the
Job at once, since a retry would fail the same way; a runtime failure (1) is retried up to
backoffLimit; an interruption by SIGTERM (143) resumes from the latest checkpoint.
"""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
"""The run ended as planned: completed, budget exhausted, or cancelled."""
EXIT_RUNTIME_FAILURE: Final = 1
"""Something failed while running (I/O, out of memory, a bug): worth a retry."""
EXIT_BAD_INPUT: Final = 2
"""The spec, the queries, the reward or the model path is wrong: a retry cannot help."""
EXIT_INTERRUPTED: Final = 143
"""SIGTERM (pod deletion, preemption): checkpointed; a new pod resumes from there."""

EXIT_CODES: Final = {
    EXIT_OK: "completed, budget exhausted or cancelled",
    EXIT_RUNTIME_FAILURE: "runtime failure (retryable)",
    EXIT_BAD_INPUT: "bad input: spec, queries, reward or model path (not retryable)",
    EXIT_INTERRUPTED: "interrupted by SIGTERM after a checkpoint (resumable)",
}


class TrainerError(Exception):
    """An error the trainer reports in one line and ends with `exit_code`."""

    exit_code: int = EXIT_RUNTIME_FAILURE


class BadInputError(TrainerError):
    """The inputs are wrong; the message says which and how."""

    exit_code = EXIT_BAD_INPUT

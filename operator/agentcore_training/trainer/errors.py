"""The errors of the trainer and the exit codes they map to.

The codes (api/contract.py) are part of the contract with the Job's podFailurePolicy: bad
input fails the Job at once, since a retry would fail the same way; a runtime failure is
retried up to backoffLimit; an interruption by SIGTERM resumes from the latest checkpoint.
"""

from __future__ import annotations

from agentcore_training.api.contract import EXIT_BAD_INPUT, EXIT_RUNTIME_FAILURE


class TrainerError(Exception):
    """An error the trainer reports in one line and ends with `exit_code`."""

    exit_code: int = EXIT_RUNTIME_FAILURE


class BadInputError(TrainerError):
    """The inputs are wrong; the message says which and how."""

    exit_code = EXIT_BAD_INPUT

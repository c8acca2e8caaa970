"""Progress reports to the operator: a background pusher that never blocks training.

The loop hands over its latest report after every iteration (`publish`); a thread POSTs the
newest one at most every `interval` seconds, retrying with exponential backoff, with
`Authorization: Bearer <token>` (the token file is re-read for every push: kubelet rotates
projected tokens). An answer `{"cancel": true}` sets `cancel_requested`. Standard library
only (urllib), so the trainer image needs no HTTP client.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from agentcore_training.api.contract import (
    ATTEMPT_PATH_SUFFIX,
    AttemptAnswer,
    AttemptRequest,
    ProgressAnswer,
    ProgressReport,
)
from agentcore_training.trainer.jsonlog import log

REQUEST_TIMEOUT_S = 10.0
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 15.0


class WaitedOutTheBudget(Exception):  # noqa: N818 - an ending, not an error
    """Waiting longer for the operator's answer could cross the budget: end the run."""

    def __init__(self, tries: int) -> None:
        super().__init__(f"no answer from the operator after {tries} tries")
        self.tries = tries


class ProgressSink(Protocol):
    """Where the loop's reports go."""

    @property
    def cancel_requested(self) -> bool: ...

    def publish(self, report: ProgressReport) -> None:
        """Hand over the newest report; returns at once."""

    def close(self, final: ProgressReport, timeout_s: float) -> bool:
        """Deliver `final` (waiting at most timeout_s); True if it was delivered."""


class NullSink:
    """No progress URL: the JSON-line logs and the termination message are the record."""

    cancel_requested = False

    def publish(self, report: ProgressReport) -> None:
        del report

    def close(self, final: ProgressReport, timeout_s: float) -> bool:
        del final, timeout_s
        return True


class ProgressPusher:
    """POSTs reports from a daemon thread, newest first, rate-limited, with retries."""

    def __init__(
        self,
        url: str,
        *,
        token_file: Path | None = None,
        ca_file: Path | None = None,
        ca_pem: str | None = None,
        interval_s: float = 2.0,
    ) -> None:
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"progress URL {url!r} must be http:// or https://")
        self.url = url
        self.token_file = token_file
        self.interval_s = interval_s
        context = ssl.create_default_context(
            cafile=str(ca_file) if ca_file else None, cadata=ca_pem
        )
        # The CA bundle applies to https; the scheme was checked just above.
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._pending: ProgressReport | None = None
        self._final = False
        self._stopping = False
        self._delivered_final = threading.Event()
        self._cancel = threading.Event()
        self.pushes = 0
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="progress-pusher", daemon=True)
        self._thread.start()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def publish(self, report: ProgressReport) -> None:
        with self._lock:
            if not self._final:
                self._pending = report
                self._wake.notify()

    def close(self, final: ProgressReport, timeout_s: float) -> bool:
        with self._lock:
            self._pending = final
            self._final = True
            self._wake.notify()
        delivered = self._delivered_final.wait(timeout_s)
        with self._lock:
            self._stopping = True
            self._wake.notify()
        return delivered

    def _run(self) -> None:
        last_push = float("-inf")
        backoff = BACKOFF_START_S
        while True:
            with self._lock:
                while True:
                    if self._stopping:
                        return
                    wait = 0.0 if self._final else last_push + self.interval_s - time.monotonic()
                    if self._pending is not None and wait <= 0:
                        break
                    self._wake.wait(timeout=None if self._pending is None else wait)
                report, final = self._pending, self._final
                self._pending = None
            assert report is not None
            if self._push(report):
                backoff = BACKOFF_START_S
                last_push = time.monotonic()
                if final:
                    self._delivered_final.set()
                    return
                continue
            # Failed: keep it unless a newer one came meanwhile, wait, try again.
            with self._lock:
                if self._pending is None:
                    self._pending = report
                if not self._stopping:
                    self._wake.wait(timeout=backoff)
            backoff = min(backoff * 2, BACKOFF_MAX_S)

    def attempt(
        self,
        request: AttemptRequest,
        stop: threading.Event,
        affordable: Callable[[float], bool] | None = None,
    ) -> AttemptAnswer | None:
        """The attempt handshake: ask the operator what the run has spent and reached.

        Retries with exponential backoff (0.5 s doubling to 15 s), logging each failure: a
        trainer never trains while this is unknown. Waiting is compute too: before each wait
        `affordable(seconds)` says whether the wait and the next try still fit the budget;
        when not, it raises WaitedOutTheBudget (an operator away for hours must not burn a
        GPU's budget). Returns None only when `stop` is set (SIGTERM) before an answer came.
        """
        url = self.url.rstrip("/") + ATTEMPT_PATH_SUFFIX
        body = json.dumps(request.to_wire()).encode()
        backoff = BACKOFF_START_S
        tries = 0
        while not stop.is_set():
            tries += 1
            headers = {"Content-Type": "application/json"}
            token = self._token()
            if token:
                headers["Authorization"] = f"Bearer {token}"
            # The scheme is http(s), checked in __init__.
            call = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
            try:
                with self._opener.open(call, timeout=REQUEST_TIMEOUT_S) as reply:
                    answer = AttemptAnswer.model_validate_json(reply.read(65536))
            except (urllib.error.URLError, OSError, ValueError) as error:
                log(
                    "warning",
                    "attempt_handshake_waiting",
                    url=url,
                    tries=tries,
                    retryInSeconds=backoff,
                    error=str(error)[:300],
                )
                if affordable is not None and not affordable(backoff + REQUEST_TIMEOUT_S):
                    raise WaitedOutTheBudget(tries) from error
                stop.wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
                continue
            log(
                "info",
                "attempt",
                attempt=answer.attempt,
                spentUsd=format(answer.cost_usd, "f"),
                iteration=answer.iteration,
                tries=tries,
            )
            return answer
        return None

    def _token(self) -> str | None:
        if self.token_file is None:
            return None
        try:
            return self.token_file.read_text(encoding="utf-8").strip() or None
        except OSError as error:
            log("warning", "progress_token_unreadable", file=str(self.token_file), error=str(error))
            return None

    def _push(self, report: ProgressReport) -> bool:
        body = json.dumps(report.to_wire()).encode()
        headers = {"Content-Type": "application/json"}
        token = self._token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # The scheme is http(s), checked in __init__.
        request = urllib.request.Request(  # noqa: S310
            self.url, data=body, headers=headers, method="POST"
        )
        try:
            with self._opener.open(request, timeout=REQUEST_TIMEOUT_S) as reply:
                raw = reply.read(65536)
        except (urllib.error.URLError, OSError, ValueError) as error:
            self.failures += 1
            log("warning", "progress_push_failed", url=self.url, error=str(error)[:300])
            return False
        self.pushes += 1
        if raw.strip():
            try:
                answer = ProgressAnswer.model_validate_json(raw)
            except ValidationError:
                log("warning", "progress_answer_invalid", body=raw[:200].decode("utf-8", "replace"))
                return True
            if answer.cancel:
                self._cancel.set()
        return True

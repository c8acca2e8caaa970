"""A small local HTTP server that plays the operator's progress endpoint in tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    reports: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)
    answer: dict[str, Any] = field(default_factory=lambda: {"cancel": False})
    fail_first: int = 0
    seen: int = 0
    attempt: dict[str, Any] = field(
        default_factory=lambda: {"attempt": 1, "costUsd": "0", "iteration": 0}
    )
    """The answer to the attempt handshake (POST .../progress/attempt)."""
    fail_attempts: int = 0
    attempts_seen: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def progress_server(recorded: Recorded) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if self.path.endswith("/attempt"):
                with recorded.lock:
                    recorded.attempts_seen += 1
                    failing = recorded.attempts_seen <= recorded.fail_attempts
                    answer = json.dumps(recorded.attempt).encode()
                self.send_response(503 if failing else 200)
                self.send_header("Content-Length", str(0 if failing else len(answer)))
                self.end_headers()
                if not failing:
                    self.wfile.write(answer)
                return
            with recorded.lock:
                recorded.seen += 1
                failing = recorded.seen <= recorded.fail_first
                if not failing:
                    recorded.reports.append(json.loads(body))
                    recorded.authorizations.append(self.headers.get("Authorization"))
                answer = json.dumps(recorded.answer).encode()
            if failing:
                self.send_response(503)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/progress"
    finally:
        server.shutdown()
        server.server_close()

"""JSON-line logs on stdout: one object per line, for `kubectl logs` and log shippers."""

from __future__ import annotations

import json
import sys
import threading
from datetime import UTC, datetime
from typing import Any

_lock = threading.Lock()


def log(level: str, event: str, **fields: Any) -> None:
    """Write one JSON line: time, level, event, then the fields."""
    record = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": level,
        "event": event,
        **fields,
    }
    line = json.dumps(record, default=str, separators=(",", ":"))
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

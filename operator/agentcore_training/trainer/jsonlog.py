"""JSON-line logs on stdout: one object per line, for `kubectl logs` and log shippers."""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import UTC, datetime
from typing import Any

_lock = threading.Lock()
# Under torchrun every rank logs to the same stream: a rank other than 0 says which it is.
_RANK = os.environ.get("RANK", "0")
_RANK_FIELD: dict[str, Any] = {"rank": int(_RANK)} if _RANK.isdigit() and _RANK != "0" else {}


def log(level: str, event: str, **fields: Any) -> None:
    """Write one JSON line: time, level, event, then the fields."""
    record = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": level,
        "event": event,
        **_RANK_FIELD,
        **fields,
    }
    line = json.dumps(record, default=str, separators=(",", ":"))
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

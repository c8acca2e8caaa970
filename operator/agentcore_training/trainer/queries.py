"""Training queries: JSON lines, or one JSON list, of {"query", "expected_outcome"} items.

The operator's admission check asks for at least 100 queries; the trainer accepts any
number from 1, so that it runs on a laptop with a handful, but rejects malformed items.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentcore_training.trainer.errors import BadInputError


@dataclass(frozen=True)
class Query:
    """One training query and what a good answer looks like."""

    query: str
    expected_outcome: dict[str, Any]


def _item(value: Any, where: str) -> Query:
    if not isinstance(value, dict):
        raise BadInputError(f"{where}: expected an object with query and expected_outcome")
    query = value.get("query")
    if not isinstance(query, str) or not query:
        raise BadInputError(f"{where}: 'query' must be a non-empty string")
    outcome = value.get("expected_outcome")
    if not isinstance(outcome, dict):
        raise BadInputError(f"{where}: 'expected_outcome' must be an object")
    return Query(query=query, expected_outcome=outcome)


def parse_queries(text: str, source: str) -> list[Query]:
    """Parse queries from text; raises BadInputError naming the first bad item."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise BadInputError(f"{source}: not valid JSON: {error}") from None
        items = [_item(value, f"{source}: item {i}") for i, value in enumerate(data)]
    else:
        items = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                raise BadInputError(f"{source}: line {number} is not valid JSON: {error}") from None
            items.append(_item(value, f"{source}: line {number}"))
    if not items:
        raise BadInputError(f"{source}: no queries (at least 1 is needed)")
    return items


def load_queries(path: Path) -> list[Query]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise BadInputError(f"cannot read queries file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise BadInputError(f"queries file {path} is not UTF-8 text") from None
    return parse_queries(text, str(path))


def to_jsonl(queries: Sequence[Query]) -> str:
    """The JSON-lines form of queries (for tests and tools)."""
    return "".join(
        json.dumps({"query": q.query, "expected_outcome": q.expected_outcome}) + "\n"
        for q in queries
    )

"""Every result field of the JSON-RPC methods is described: in the OpenRPC document (and so
in the generated docs/reference/jsonrpc.md) and by name in docs/jsonrpc.md."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from agentcore_training.rpc.openrpc import document

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "jsonrpc.md"
DOC = document()
SCHEMAS: dict[str, Any] = DOC["components"]["schemas"]


def _ref(node: dict[str, Any]) -> str | None:
    for candidate in (node, node.get("items") or {}, *(node.get("anyOf") or [])):
        ref = candidate.get("$ref")
        if isinstance(ref, str):
            return ref.rsplit("/", 1)[-1]
    return None


def _fields(name: str, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted field, description) of schema `name` and of the objects it nests."""
    found = []
    for field, sub in SCHEMAS[name].get("properties", {}).items():
        found.append((prefix + field, str(sub.get("description") or "").strip()))
        nested = _ref(sub)
        if nested is not None and "properties" in SCHEMAS[nested]:
            found.extend(_fields(nested, f"{prefix}{field}."))
    return found


def _result(method: dict[str, Any]) -> str:
    name = _ref(method["result"]["schema"])
    assert name is not None
    return name


METHODS = {method["name"]: _result(method) for method in DOC["methods"]}


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_result_field_has_a_description(method: str) -> None:
    undescribed = [field for field, text in _fields(METHODS[method]) if not text]
    assert undescribed == [], f"{method}: result fields without a description"


def _section(method: str) -> str:
    text = GUIDE.read_text()
    start = text.index(f"### `{method}(")
    end = text.find("\n### ", start + 1)
    return text[start : end if end != -1 else None]


@pytest.mark.parametrize("method", [m for m in sorted(METHODS) if m.startswith("training.")])
def test_the_guide_names_every_result_field(method: str) -> None:
    section = _section(method)
    missing = [
        field
        for field, _ in _fields(METHODS[method])
        if not re.search(rf"\b{re.escape(field.rsplit('.', 1)[-1])}\b", section)
    ]
    assert missing == [], f"docs/jsonrpc.md, {method}: result fields it does not name"

"""The OpenRPC 1.3 document of the shim, generated from the params and result models (pure)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from pydantic import BaseModel

from agentcore_training.api.money import MONEY_PATTERN
from agentcore_training.rpc.errors import CODES
from agentcore_training.rpc.methods import METHODS, MethodSpec
from agentcore_training.rpc.schemas import MONEY_NUMBER_SCHEMA

OPENRPC_VERSION = "1.3.2"
_REF = "#/components/schemas/{model}"
_MONEY_SCHEMA = {"type": "string", "pattern": MONEY_PATTERN}


def _version() -> str:
    try:
        return metadata.version("agentcore-training")
    except metadata.PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "0.0.0"


def _schema(model: type[BaseModel], mode: str, schemas: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON schema; its $defs move to components.schemas. Money, a decimal string
    in the resource, is a JSON number in results and a number or a decimal string in params."""
    schema = model.model_json_schema(
        by_alias=False,
        ref_template=_REF,
        mode="validation" if mode == "validation" else "serialization",
    )
    viewed: dict[str, Any] = _money(schema, result=mode != "validation")
    schemas.update(viewed.pop("$defs", {}))
    return viewed


def _money(node: Any, *, result: bool) -> Any:
    """`node` with each money schema (a decimal string) as the JSON-RPC view has it."""
    if isinstance(node, list):
        return [_money(value, result=result) for value in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") == "string" and node.get("pattern") == MONEY_PATTERN:
        kept = {k: v for k, v in node.items() if k not in ("type", "pattern")}
        if result:  # a result's money is a number; a default in string form would mislead
            kept.pop("default", None)
            return {**kept, **MONEY_NUMBER_SCHEMA}
        return {**kept, "anyOf": [dict(MONEY_NUMBER_SCHEMA), dict(_MONEY_SCHEMA)]}
    return {key: _money(value, result=result) for key, value in node.items()}


def _method(spec: MethodSpec, schemas: dict[str, Any]) -> dict[str, Any]:
    params_schema = _schema(spec.params, "validation", schemas)
    required = set(params_schema.get("required", ()))
    properties: dict[str, Any] = params_schema.get("properties", {})
    order = list(spec.positional) + [name for name in properties if name not in spec.positional]
    params = []
    for name in order:
        prop = dict(properties[name])
        description = prop.pop("description", None)
        prop.pop("title", None)
        descriptor: dict[str, Any] = {"name": name, "required": name in required, "schema": prop}
        if description:
            descriptor["description"] = description
        params.append(descriptor)
    result_schema = _schema(spec.result, "serialization", schemas)
    result_name = spec.result.__name__
    schemas[result_name] = result_schema
    return {
        "name": spec.name,
        "summary": spec.summary,
        "paramStructure": "either",
        "params": params,
        "result": {"name": "result", "schema": {"$ref": _REF.format(model=result_name)}},
        "errors": [{"code": code, "message": CODES[code][0]} for code in spec.errors],
    }


def document(
    methods: Sequence[MethodSpec] = METHODS, *, server_url: str | None = None
) -> dict[str, Any]:
    """The OpenRPC document of `methods`."""
    schemas: dict[str, Any] = {}
    doc: dict[str, Any] = {
        "openrpc": OPENRPC_VERSION,
        "info": {
            "title": "agentcore-training JSON-RPC",
            "version": _version(),
            "description": (
                "GRPO training jobs of LLM agents, as TrainingJobs on Kubernetes. "
                "Bearer token authentication; Kubernetes RBAC authorization per call."
            ),
        },
        "methods": [_method(spec, schemas) for spec in methods],
        "components": {
            "schemas": schemas,
            "errors": {
                CODES[code][0].replace(" ", ""): {"code": code, "message": CODES[code][0]}
                for code in sorted(CODES, reverse=True)
            },
        },
    }
    if server_url is not None:
        doc["servers"] = [{"name": "agentcore-rpc", "url": server_url}]
    return doc


@functools.cache
def served_document() -> dict[str, Any]:
    """The document `rpc.discover` answers with, built once (callers must not change it)."""
    return document()

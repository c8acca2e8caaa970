"""Generate the TrainingJob CustomResourceDefinition from the pydantic models.

`python -m agentcore_training.api.crd` prints it (`make crds` writes it under crds/);
`make check-crds` fails when the checked-in file differs from what the models generate.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import sys
from pathlib import Path
from typing import Any

import yaml

from agentcore_training.api import resource
from agentcore_training.api.spec import TrainingJobSpec
from agentcore_training.api.status import TrainingJobStatus

# JSON-schema keywords that a structural Kubernetes schema does not take.
_DROPPED_KEYWORDS = ("title", "$defs", "additionalProperties")


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Inline $refs, keeping the description written at the place of use."""
    if "$ref" in schema:
        target = copy.deepcopy(defs[schema["$ref"].rsplit("/", 1)[-1]])
        local = {k: v for k, v in schema.items() if k != "$ref"}
        return _resolve({**target, **local}, defs)
    return schema


_ABSENT = "x-absent-when-unset"
"""A marker (removed before output) of an Optional field whose default is None: absent means
not given, so it must not get a {} default (evaluation.queries: {} would be a source)."""


def _structural(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """Turn one pydantic JSON-schema node into a structural OpenAPI v3 node."""
    schema = _resolve(dict(schema), defs)
    any_of = schema.get("anyOf")
    if any_of is not None and not schema.get("x-kubernetes-int-or-string"):
        # Optional[X] is anyOf [X, null]: a field that may be absent, not a nullable one.
        variants = [v for v in any_of if v.get("type") != "null"]
        if len(variants) != 1:
            raise ValueError(f"a CRD schema cannot express anyOf {any_of!r}")
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        schema = {**_resolve(dict(variants[0]), defs), **rest}
        if schema.get("default", "") is None:
            del schema["default"]
            schema[_ABSENT] = True
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _DROPPED_KEYWORDS:
            continue
        if key == "properties":
            out[key] = {name: _structural(sub, defs) for name, sub in value.items()}
        elif key == "items":
            out[key] = _structural(value, defs)
        elif key in ("exclusiveMinimum", "exclusiveMaximum"):
            # JSON Schema 2020-12 gives the bound; OpenAPI v3.0 gives a flag beside it.
            bound = "minimum" if key == "exclusiveMinimum" else "maximum"
            out[bound] = value
            out[key] = True
        elif key == "maxLength" and "x-kubernetes-int-or-string" in schema:
            continue
        else:
            out[key] = value
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = _structural(schema["additionalProperties"], defs)
    if "enum" in out and "type" not in out:
        out["type"] = "string"
    if out.get("format") == "date-time":
        out["type"] = "string"
    return out


def _default_empty_objects(node: dict[str, Any]) -> None:
    """Give optional objects whose own fields are all optional a default of {}, recursively.

    The apiserver only fills a nested default when its parent object exists, so without
    this, `config: {}` would get its defaults and an omitted `config` would not.
    """
    required = set(node.get("required", ()))
    for name, sub in node.get("properties", {}).items():
        _default_empty_objects(sub)
        if (
            not sub.pop(_ABSENT, False)
            and name not in required
            and sub.get("type") == "object"
            and "properties" in sub
            and not sub.get("required")
            and "default" not in sub
        ):
            sub["default"] = {}


def _strip_defaults(node: dict[str, Any]) -> None:
    """Remove defaults, recursively: status is what the operator observed, nothing assumed."""
    node.pop("default", None)
    node.pop(_ABSENT, None)
    for sub in node.get("properties", {}).values():
        _strip_defaults(sub)
    if isinstance(node.get("items"), dict):
        _strip_defaults(node["items"])


def _schema_of(model: type[TrainingJobSpec] | type[TrainingJobStatus]) -> dict[str, Any]:
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.get("$defs", {})
    node = _structural(raw, defs)
    node["description"] = (model.__doc__ or "").strip().splitlines()[0]
    return node


def _spec_schema() -> dict[str, Any]:
    node = _schema_of(TrainingJobSpec)
    _default_empty_objects(node)
    return node


def _status_schema() -> dict[str, Any]:
    node = _schema_of(TrainingJobStatus)
    _strip_defaults(node)
    # Conditions are a map keyed by type, so server-side apply merges them one by one.
    conditions = node["properties"]["conditions"]
    conditions["x-kubernetes-list-type"] = "map"
    conditions["x-kubernetes-list-map-keys"] = ["type"]
    return node


def build_crd() -> dict[str, Any]:
    """The CustomResourceDefinition of TrainingJob, as a dict ready to serialise."""
    spec_schema = _spec_schema()
    root = {
        "type": "object",
        "description": (
            "A GRPO training run of an LLM agent, with a dollar budget. The operator "
            "validates it, runs the trainer as a batch/v1 Job and reports progress, reward "
            "and cost in status."
        ),
        "required": ["spec"],
        "properties": {
            "apiVersion": {
                "type": "string",
                "description": "The versioned schema of this representation of an object.",
            },
            "kind": {"type": "string", "description": "The REST resource this object represents."},
            # The apiserver documents metadata itself and refuses anything else here.
            "metadata": {"type": "object"},
            "spec": spec_schema,
            "status": _status_schema(),
        },
    }
    columns = [
        {
            "name": "Agent",
            "type": "string",
            "jsonPath": ".spec.agentId",
            "description": "The agent being trained.",
        },
        {
            "name": "Phase",
            "type": "string",
            "jsonPath": ".status.phase",
            "description": "Queued, Running, Completed, Failed or Cancelled.",
        },
        {
            "name": "Progress",
            "type": "integer",
            "jsonPath": ".status.progress.percentComplete",
            "description": "Percent of iterations completed.",
        },
        {
            "name": "Reward",
            "type": "number",
            "jsonPath": ".status.metrics.avgReward",
            "description": "Mean reward of the latest iteration.",
        },
        {
            "name": "Held-Out",
            "type": "number",
            "jsonPath": ".status.evaluation.latest.metrics.successRate",
            "description": "Held-out success rate of the latest evaluation.",
        },
        {
            "name": "Cost",
            "type": "string",
            "jsonPath": ".status.cost.costUsd",
            "description": "US dollars spent.",
        },
        {
            "name": "Budget",
            "type": "string",
            "jsonPath": ".spec.config.maxBudgetUsd",
            "description": "The run's budget in US dollars.",
            "priority": 1,
        },
        {
            "name": "Job",
            "type": "string",
            "jsonPath": ".status.jobName",
            "description": "The batch/v1 Job running the trainer.",
            "priority": 1,
        },
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": resource.CRD_NAME},
        "spec": {
            "group": resource.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": resource.KIND,
                "listKind": f"{resource.KIND}List",
                "plural": resource.PLURAL,
                "singular": resource.SINGULAR,
                "shortNames": list(resource.SHORT_NAMES),
                "categories": list(resource.CATEGORIES),
            },
            "versions": [
                {
                    "name": resource.VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": root},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "selectableFields": [{"jsonPath": ".spec.agentId"}],
                }
            ],
        },
    }


def render_crd() -> str:
    """The CRD as the YAML text checked in under crds/."""
    header = (
        "# Generated from operator/agentcore_training/api by `make crds`. Do not edit:\n"
        "# `make check-crds` fails when this file differs from what the models generate.\n"
    )
    return header + yaml.safe_dump(build_crd(), sort_keys=False, width=100)


def main(argv: list[str] | None = None) -> int:
    """Print the CRD, or with `--check FILE` exit 1 (and show a diff) when FILE is stale."""
    parser = argparse.ArgumentParser(prog="python -m agentcore_training.api.crd")
    parser.add_argument("--check", metavar="FILE", type=Path, help="compare with FILE")
    args = parser.parse_args(argv)
    generated = render_crd()
    if args.check is None:
        sys.stdout.write(generated)
        return 0
    current = args.check.read_text() if args.check.exists() else ""
    if current == generated:
        return 0
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        generated.splitlines(keepends=True),
        fromfile=str(args.check),
        tofile="generated from the models",
    )
    sys.stderr.writelines(diff)
    sys.stderr.write(f"{args.check} is stale: run 'make crds' and commit it\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())

"""Helpers to make TrainingJobs and their queries in tests."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.support.cluster import Cluster

STAND_IN = "stand-in.test/trainer"


def addition_queries(count: int) -> str:
    """`count` JSON lines of a+b= queries with their answers."""
    return "".join(
        json.dumps(
            {
                "query": f"{i % 10}+{i // 10 % 10}=",
                "expected_outcome": {"answer": str(i % 10 + i // 10 % 10)},
            }
        )
        + "\n"
        for i in range(count)
    )


def create_queries(cluster: Cluster, namespace: str, name: str, text: str) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"queries.jsonl": text},
    }
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(manifest))


def trainingjob(
    name: str,
    *,
    queries: str,
    mode: str | None = "complete",
    config: dict[str, Any] | None = None,
    runtime: dict[str, Any] | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A TrainingJob manifest; `mode` picks the stand-in trainer (None: the real trainer)."""
    runtime = dict(runtime or {})
    if mode is not None:
        runtime["image"] = f"{STAND_IN}:{mode}"
    return {
        "apiVersion": "training.agentcore.dev/v1alpha1",
        "kind": "TrainingJob",
        "metadata": {"name": name},
        "spec": {
            "agentId": "test-agent",
            "queries": {"configMapRef": {"name": queries}},
            "config": {"nIterations": 5, **(config or {})},
            "runtime": runtime,
            **spec,
        },
    }


def apply(cluster: Cluster, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
    cluster.kubectl("apply", "-n", namespace, "-f", "-", stdin=json.dumps(manifest))
    return get(cluster, namespace, manifest["metadata"]["name"])


def get(cluster: Cluster, namespace: str, name: str, kind: str = "tj") -> dict[str, Any]:
    return dict(cluster.get_json(kind, name, "-n", namespace))


def wait_for(
    cluster: Cluster, namespace: str, name: str, condition: str, timeout: int = 90
) -> dict[str, Any]:
    """`kubectl wait --for=condition=<condition> tj/<name>`, then the object."""
    cluster.kubectl(
        "wait",
        f"--for=condition={condition}",
        f"tj/{name}",
        "-n",
        namespace,
        f"--timeout={timeout}s",
        timeout=timeout + 10,
    )
    return get(cluster, namespace, name)


def wait_until(predicate: Any, timeout: float = 60, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s: {message}")
        time.sleep(0.25)


def wait_for_iteration(
    cluster: Cluster, namespace: str, name: str, at_least: int, timeout: float = 60
) -> dict[str, Any]:
    """Wait until the TrainingJob's status shows `at_least` iterations done."""

    def reached() -> dict[str, Any] | None:
        tj = get(cluster, namespace, name)
        done = tj.get("status", {}).get("progress", {}).get("currentIteration", 0)
        return tj if done >= at_least else None

    found: dict[str, Any] = wait_until(reached, timeout, f"{name} to reach iteration {at_least}")
    return found


def jobs_in(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    """The batch/v1 Jobs of `namespace`."""
    return list(cluster.get_json("jobs", "-n", namespace)["items"])  # type: ignore[arg-type]


def conditions_of(tj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A TrainingJob's status conditions by type."""
    return {c["type"]: c for c in tj["status"].get("conditions", [])}

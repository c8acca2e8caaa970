"""operator-burst: COUNT parents created at once; how fast does each get its child object?

ours:     TrainingJob -> its Job, made by the operator (`agentcore-operator`). The
          TrainingJobs ask for suspended Jobs (spec.suspend), so kube-controller-manager
          makes no Pods for them: one child per parent, as on the other side.
baseline: Job -> its Pod, made by kube-controller-manager's Job controller (native Go).
Method, the same for both sides:
- each side runs in its own fresh namespace, in its own quiet window (bench/quiet.py: no
  Pod at all, no namespace terminating, every work queue of kube-apiserver and
  kube-controller-manager empty, the operator's reconcile counter still);
- the order alternates over ROUNDS rounds (ours first in even rounds);
- each clock starts just before the object's create call (so the admission webhook is
  inside ours) and stops when its child (ownerReference -> parent name) arrives in a watch
  opened before the burst; a negative latency is an error, never clamped. A create call
  that fails (for ours: the admission webhook timing out under load) is counted in
  `create_failures` per round and side, and has no latency.
Two phases of ROUNDS rounds each: first kube-controller-manager as shipped (client rate
limit --kube-api-qps=20, --kube-api-burst=30: the second, labelled baseline), then
restarted with its client rate limit lifted (--kube-api-qps=1000, --kube-api-burst=2000),
as the operator's client has none: the headline. Each phase's ratio is from all its
rounds' samples together; p50/p99 per round and order are in `details`.
Run: .venv/bin/python bench/operator_burst.py
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import begin_run, latency_summary, load_average, write_result
from bench.quiet import ControlPlane, wait_kcm_healthy, wait_quiet
from tests.support.cluster import running_cluster
from tests.support.processes import running_operator
from tests.support.trainingjobs import addition_queries

from agentcore_training.kube.client import ApiError, KubeClient, path_for

COUNT = int(os.environ.get("BENCH_COUNT", "200"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
CHILD_TIMEOUT_S = 300.0
TJ_API = "training.agentcore.dev/v1alpha1"
UNTHROTTLED = ["--kube-api-qps=1000", "--kube-api-burst=2000"]


@dataclass(frozen=True)
class Side:
    name: str
    parent_api: str
    parent_plural: str
    child_api: str
    child_plural: str
    parent_kind: str

    def manifests(self, namespace: str) -> list[dict[str, Any]]:
        if self.name == "ours":
            return [
                {
                    "apiVersion": TJ_API,
                    "kind": "TrainingJob",
                    "metadata": {"name": f"burst-{i:03d}", "namespace": namespace},
                    "spec": {
                        "agentId": "bench",
                        "queries": {"configMapRef": {"name": "queries"}},
                        "suspend": True,
                    },
                }
                for i in range(COUNT)
            ]
        return [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": f"burst-{i:03d}", "namespace": namespace},
                "spec": {
                    "backoffLimit": 0,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "c", "image": "busybox", "command": ["true"]}],
                        }
                    },
                },
            }
            for i in range(COUNT)
        ]


OURS = Side("ours", TJ_API, "trainingjobs", "batch/v1", "jobs", "TrainingJob")
BASELINE = Side("baseline", "batch/v1", "jobs", "v1", "pods", "Job")


def _owner(child: dict[str, Any], kind: str) -> str | None:
    for ref in child["metadata"].get("ownerReferences", []):
        if ref.get("kind") == kind and ref.get("controller"):
            name: str = ref["name"]
            return name
    return None


async def _watch(
    client: KubeClient, path: str, version: str, kind: str, seen: dict[str, float]
) -> None:
    async for event in client.watch(path, resource_version=version, timeout_seconds=600):
        if event.get("type") == "ADDED":
            owner = _owner(event["object"], kind)
            if owner is not None:
                seen.setdefault(owner, time.monotonic())
        elif event.get("type") == "ERROR":
            raise RuntimeError(f"the watch failed: {event}")


async def _burst(client: KubeClient, side: Side, namespace: str) -> dict[str, Any]:
    child_path = path_for(side.child_api, side.child_plural, namespace=namespace)
    listed = await client.get(child_path)
    if listed["items"]:
        raise RuntimeError(f"{namespace} is not empty")
    seen: dict[str, float] = {}
    watcher = asyncio.create_task(
        _watch(client, child_path, listed["metadata"]["resourceVersion"], side.parent_kind, seen)
    )
    await asyncio.sleep(1.0)  # the watch is established before the first create
    manifests = side.manifests(namespace)
    started: dict[str, float] = {}
    returned: dict[str, float] = {}
    parent_path = path_for(side.parent_api, side.parent_plural, namespace=namespace)

    failures: list[str] = []

    async def create(manifest: dict[str, Any]) -> None:
        name = manifest["metadata"]["name"]
        started[name] = time.monotonic()
        try:
            await client.create(parent_path, manifest)
        except ApiError as error:  # counted and reported, never silently dropped
            failures.append(f"{error.status}: {str(error)[:200]}")
            del started[name]
            return
        returned[name] = time.monotonic()

    load = load_average()
    await asyncio.gather(*(create(m) for m in manifests))
    deadline = time.monotonic() + CHILD_TIMEOUT_S
    while len(seen.keys() & started.keys()) < len(started) and time.monotonic() < deadline:
        if watcher.done():
            watcher.result()  # raises what ended it
            raise RuntimeError("the watch ended early")
        await asyncio.sleep(0.05)
    watcher.cancel()
    missing = sorted(started.keys() - seen.keys())
    if missing:
        raise RuntimeError(f"{side.name}: {len(missing)} parents never got a child: {missing[:5]}")
    latencies = [(seen[name] - started[name]) * 1000 for name in started]
    return {
        "latencies_ms": latencies,
        "summary": latency_summary(latencies),
        "create_call": latency_summary([(returned[n] - started[n]) * 1000 for n in started]),
        "load_average_at_start": load,
        "create_failures": len(failures),
        "create_failure_examples": failures[:3],
    }


async def _side(
    client: KubeClient, plane: ControlPlane, operator: Any, side: Side, namespace: str
) -> dict[str, Any]:
    await client.create(path_for("v1", "namespaces"), {"metadata": {"name": namespace}})
    if side is OURS:
        await client.create(
            path_for("v1", "configmaps", namespace=namespace),
            {"metadata": {"name": "queries"}, "data": {"queries.jsonl": addition_queries(125)}},
        )

    async def operator_metrics() -> str:
        return await asyncio.to_thread(operator.metrics)

    quiet = await wait_quiet(plane, operator_metrics)
    result = await _burst(client, side, namespace)
    result["quiet_window"] = quiet
    await client.delete(path_for("v1", "namespaces", name=namespace))
    print(f"{namespace}: {json.dumps(result['summary'])}", file=sys.stderr)
    return result


async def _rounds(
    client: KubeClient, plane: ControlPlane, operator: Any, label: str
) -> list[dict[str, Any]]:
    rounds = []
    for number in range(ROUNDS):
        order = [OURS, BASELINE] if number % 2 == 0 else [BASELINE, OURS]
        sides = {}
        for position, side in enumerate(order):
            namespace = f"burst-{label}-r{number}-{side.name}"
            sides[side.name] = await _side(client, plane, operator, side, namespace)
            sides[side.name]["position"] = position + 1
        rounds.append({"round": number, "order": [s.name for s in order], "sides": sides})
    return rounds


async def measure(plane: ControlPlane, operator: Any) -> dict[str, Any]:
    async with await KubeClient.connect(str(plane.state / "kubeconfig")) as client:
        shipped = await _rounds(client, plane, operator, "shipped")
        kcm_args = plane.restart_kcm(UNTHROTTLED)
        await wait_kcm_healthy(plane)
        unthrottled = await _rounds(client, plane, operator, "unthrottled")
    return {"shipped": shipped, "unthrottled": unthrottled, "kcm_args": kcm_args}


def _combined(rounds: list[dict[str, Any]], side: str) -> list[float]:
    return [x for r in rounds for x in r["sides"][side]["latencies_ms"]]


def _per_round(rounds: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "round": r["round"],
            "order": r["order"],
            **{
                side: {
                    "position": data["position"],
                    "latency": data["summary"],
                    "create_call": data["create_call"],
                    "load_average_at_start": data["load_average_at_start"],
                    "quiet_wait_s": data["quiet_window"]["waited_s"],
                    "create_failures": data["create_failures"],
                    "create_failure_examples": data["create_failure_examples"],
                }
                for side, data in r["sides"].items()
            },
        }
        for r in rounds
    ]


def main() -> None:
    run = begin_run(__file__)
    os.environ.pop("KUBECONFIG", None)  # a control plane of our own, nothing else on it
    with (
        tempfile.TemporaryDirectory(prefix="bench-operator-") as tmp,
        running_cluster(Path(tmp) / "cluster") as cluster,
        running_operator(cluster, Path(tmp) / "operator.log") as operator,
    ):
        plane = ControlPlane.from_state(Path(tmp) / "cluster")
        result = asyncio.run(measure(plane, operator))
        version = cluster.server_version
    ours = latency_summary(_combined(result["unthrottled"], "ours"))
    headline = latency_summary(_combined(result["unthrottled"], "baseline"))
    ours_shipped = latency_summary(_combined(result["shipped"], "ours"))
    shipped = latency_summary(_combined(result["shipped"], "baseline"))
    path = write_result(
        "operator-burst",
        unit="ms (p99 latency, create call -> child in a watch)",
        higher_is_better=False,
        ours=ours["p99_ms"],
        baseline=headline["p99_ms"],
        baseline_name=(
            "kube-controller-manager Job controller, Job -> Pod, client rate limit lifted "
            "(--kube-api-qps=1000)"
        ),
        details={
            "count": COUNT,
            "rounds": ROUNDS,
            "ours": ours,
            "baseline": headline,
            "second_baseline": {
                "name": "kube-controller-manager as shipped (--kube-api-qps=20, burst 30)",
                "ours": ours_shipped,
                "baseline": shipped,
                "ratio": round(shipped["p99_ms"] / ours_shipped["p99_ms"], 3),
            },
            "create_failures": {
                phase: {
                    side: sum(r["sides"][side]["create_failures"] for r in result[phase])
                    for side in ("ours", "baseline")
                }
                for phase in ("shipped", "unthrottled")
            },
            "per_round": {
                "shipped": _per_round(result["shipped"]),
                "unthrottled": _per_round(result["unthrottled"]),
            },
        },
        run=run,
        config={
            "common": {
                "parents": COUNT,
                "rounds_per_baseline": ROUNDS,
                "creates": "all at once (asyncio.gather), one kubernetes_asyncio client",
                "clock": "monotonic, before the create call -> ADDED event of the child",
            },
            "ours": {
                "trainingjob": OURS.manifests("NS")[0],
                "operator": "agentcore-operator, default settings (tests/support/processes.py)",
                "webhook": "validating, failurePolicy Fail, ConfigMap lookup on each create",
            },
            "baseline": {
                "job": BASELINE.manifests("NS")[0],
                "kube_controller_manager_args": result["kcm_args"],
                "second_baseline_flags": "as shipped (no --kube-api-qps/--kube-api-burst)",
            },
        },
        baseline_versions={"kube-controller-manager": version, "kube-apiserver": version},
    )
    print(json.dumps(json.loads(path.read_text())["details"]["ours"]), file=sys.stderr)
    print(path)


if __name__ == "__main__":
    main()

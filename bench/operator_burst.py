"""operator-burst: 200 TrainingJobs created at once; how fast does each get its Job?

ours:     p99 latency from a TrainingJob's creation (its create call returned) to its Job
          appearing in a watch, with the operator (`agentcore-operator`) running.
baseline: p99 latency from a plain Job's creation to its Pod appearing in a watch, made by
          kube-controller-manager's Job controller (native Go), for 200 Jobs, same run.
Both on the same loopback control plane. Run: .venv/bin/python bench/operator_burst.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import begin_run, percentile, write_result
from tests.support.cluster import running_cluster
from tests.support.processes import running_operator
from tests.support.trainingjobs import addition_queries

from agentcore_training import labels
from agentcore_training.kube.client import KubeClient, path_for

COUNT = 200
TJ_PATH = "training.agentcore.dev/v1alpha1"


async def _watch_first_seen(
    client: KubeClient, path: str, key: Any, seen: dict[str, float], done: asyncio.Event
) -> None:
    while not done.is_set():
        async for event in client.watch(path, timeout_seconds=60):
            if event.get("type") == "ADDED":
                name = key(event["object"])
                if name is not None:
                    seen.setdefault(name, time.monotonic())
            if done.is_set():
                return


async def _burst(
    client: KubeClient,
    watch_path: str,
    key: Any,
    create_path: str,
    manifests: list[dict[str, Any]],
    created_key: Any,
) -> list[float]:
    seen: dict[str, float] = {}
    done = asyncio.Event()
    watcher = asyncio.create_task(_watch_first_seen(client, watch_path, key, seen, done))
    await asyncio.sleep(1.0)  # the watch is established before the burst
    created: dict[str, float] = {}

    async def create(manifest: dict[str, Any]) -> None:
        answer = await client.create(create_path, manifest)
        created[created_key(answer)] = time.monotonic()

    await asyncio.gather(*(create(m) for m in manifests))
    deadline = time.monotonic() + 180
    while len([k for k in created if k in seen]) < len(manifests):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)  # polls what the watcher task fills in
    done.set()
    watcher.cancel()
    missing = [k for k in created if k not in seen]
    if missing:
        raise RuntimeError(f"{len(missing)} objects never got their child")
    return [max(0.0, seen[k] - created[k]) * 1000 for k in created]


async def measure(kubeconfig: Path, operator_pid: int) -> dict[str, Any]:
    async with await KubeClient.connect(str(kubeconfig)) as client:
        for namespace in ("bench-ours", "bench-baseline"):
            await client.create(path_for("v1", "namespaces"), {"metadata": {"name": namespace}})
        await client.create(
            path_for("v1", "configmaps", namespace="bench-ours"),
            {"metadata": {"name": "queries"}, "data": {"queries.jsonl": addition_queries(100)}},
        )
        trainingjobs = [
            {
                "apiVersion": TJ_PATH,
                "kind": "TrainingJob",
                "metadata": {"name": f"burst-{i:03d}"},
                "spec": {"agentId": "bench", "queries": {"configMapRef": {"name": "queries"}}},
            }
            for i in range(COUNT)
        ]
        ours = await _burst(
            client,
            path_for("batch/v1", "jobs", namespace="bench-ours"),
            lambda job: job["metadata"].get("labels", {}).get(labels.JOB_ID),
            path_for(TJ_PATH, "trainingjobs", namespace="bench-ours"),
            trainingjobs,
            lambda tj: tj["metadata"]["uid"],
        )
        jobs = [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": f"plain-{i:03d}"},
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
        baseline = await _burst(
            client,
            path_for("v1", "pods", namespace="bench-baseline"),
            lambda pod: pod["metadata"].get("labels", {}).get("controller-uid"),
            path_for("batch/v1", "jobs", namespace="bench-baseline"),
            jobs,
            lambda job: job["metadata"]["uid"],
        )
        listed = await client.get(path_for(TJ_PATH, "trainingjobs", namespace="bench-ours"))
        queued = sum(
            1 for tj in listed["items"] if (tj.get("status") or {}).get("phase") == "Queued"
        )
    rss_kib = 0
    for line in Path(f"/proc/{operator_pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            rss_kib = int(line.split()[1])
    return {"ours": ours, "baseline": baseline, "queued": queued, "peak_rss_mib": rss_kib / 1024}


def _status_patches(metrics_text: str) -> float:
    return sum(
        float(line.split()[-1])
        for line in metrics_text.splitlines()
        if line.startswith("agentcore_operator_status_patches_total{")
    )


def main() -> None:
    run = begin_run(__file__)
    with (
        tempfile.TemporaryDirectory(prefix="bench-operator-") as tmp,
        running_cluster(Path(tmp) / "cluster") as cluster,
        running_operator(cluster, Path(tmp) / "operator.log") as operator,
    ):
        assert operator.process is not None
        result = asyncio.run(measure(cluster.kubeconfig, operator.process.pid))
        patches = _status_patches(operator.metrics())
        version = cluster.server_version
    ours, baseline = result["ours"], result["baseline"]
    details = {
        "count": COUNT,
        "ours_p50_ms": round(statistics.median(ours), 1),
        "ours_p99_ms": round(percentile(ours, 0.99), 1),
        "baseline_p50_ms": round(statistics.median(baseline), 1),
        "baseline_p99_ms": round(percentile(baseline, 0.99), 1),
        "status_patches_per_job": round(patches / COUNT, 2),
        "trainingjobs_queued_at_end": result["queued"],
        "operator_peak_rss_mib": round(result["peak_rss_mib"], 1),
        "kube_apiserver": version,
        "note": "ours includes the admission webhook's ConfigMap lookup on each create",
    }
    path = write_result(
        "operator-burst",
        unit="ms (p99 latency to the child object)",
        higher_is_better=False,
        ours=percentile(ours, 0.99),
        baseline=percentile(baseline, 0.99),
        baseline_name="kube-controller-manager Job controller: Job -> Pod, 200 Jobs at once",
        details=details,
        run=run,
        config={
            "ours": {"trainingjobs": COUNT, "operator": "agentcore-operator, default settings"},
            "baseline": {"jobs": COUNT, "controller": "kube-controller-manager, default flags"},
        },
        baseline_versions={"kube-controller-manager": version, "kube-apiserver": version},
    )
    print(json.dumps(json.loads(path.read_text()), indent=2))


if __name__ == "__main__":
    main()

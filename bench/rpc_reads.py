"""rpc-get-status and rpc-list-jobs: reads through the JSON-RPC shim vs the apiserver itself.

ours:     training.get_status (a random job id each) and training.list_jobs (one namespace of
          1,000 jobs) through the shim (`agentcore-rpc`, a subprocess) over HTTP, with an
          admin bearer token: TokenReview and SubjectAccessReview, cached, on every call.
baseline: the same reads done directly against the kube-apiserver with the same token: GET
          of the TrainingJob by name, LIST of the namespace.
Same client (aiohttp), same concurrency, same number of requests, same run, same machine.
Run: .venv/bin/python bench/rpc_reads.py
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import uvloop
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import begin_run, percentile, write_result
from tests.support.cluster import running_cluster

from agentcore_training.kube.client import KubeClient, path_for

JOBS = 1000
CONCURRENCY = 8
GET_REQUESTS = 4000
LIST_REQUESTS = 200
WARMUP = 100
NAMESPACE = "bench-rpc"
TJ_API = "training.agentcore.dev/v1alpha1"
REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _admin(kubeconfig: Path) -> tuple[str, str, str]:
    """(server URL, CA file, bearer token) of the kubeconfig's first cluster and user."""
    config = yaml.safe_load(kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    return cluster["server"], cluster["certificate-authority"], config["users"][0]["user"]["token"]


async def _create_jobs(client: KubeClient) -> list[tuple[str, str]]:
    """1,000 TrainingJobs, 32 creates in flight; (name, uid) of each."""
    path = path_for(TJ_API, "trainingjobs", namespace=NAMESPACE)
    gate = asyncio.Semaphore(32)

    async def create(i: int) -> tuple[str, str]:
        manifest = {
            "apiVersion": TJ_API,
            "kind": "TrainingJob",
            "metadata": {"name": f"bench-{i:04d}", "labels": {"bench": "rpc"}},
            "spec": {
                "agentId": f"agent-{i % 10}",
                "queries": {"configMapRef": {"name": "bench-queries"}},
            },
        }
        async with gate:
            created = await client.create(path, manifest)
        return created["metadata"]["name"], created["metadata"]["uid"]

    return list(await asyncio.gather(*(create(i) for i in range(JOBS))))


async def _measure(
    request: Callable[[aiohttp.ClientSession, int], Awaitable[None]],
    count: int,
    ssl_context: ssl.SSLContext | None,
) -> tuple[list[float], float]:
    """Latencies (ms) of `count` requests from CONCURRENCY workers, and requests per second."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, ssl=ssl_context or False)
    async with aiohttp.ClientSession(connector=connector) as session:
        for i in range(WARMUP):
            await request(session, i)
        latencies: list[float] = []
        counter = iter(range(count))

        async def worker() -> None:
            for i in counter:
                started = time.perf_counter()
                await request(session, i)
                latencies.append((time.perf_counter() - started) * 1000)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - began
    return latencies, count / elapsed


def _start_shim(kubeconfig: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "AGENTCORE_RPC_KUBECONFIG": str(kubeconfig),
        "AGENTCORE_RPC_HOST": "127.0.0.1",
        "AGENTCORE_RPC_PORT": str(port),
        "AGENTCORE_RPC_NAMESPACE": NAMESPACE,
        "AGENTCORE_RPC_LOG_LEVEL": "WARNING",
    }
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "agentcore_training.rpc.main"], env=env, stdout=out, stderr=out
        )


async def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the shim exited during start-up")
            try:
                async with session.get(f"{base}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the shim was not ready within 60 s")


def _summary(latencies: list[float], throughput: float) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(percentile(latencies, 0.99), 3),
        "throughput_rps": round(throughput, 1),
    }


async def _bench(kubeconfig: Path, workdir: Path) -> dict[str, dict[str, dict[str, float]]]:
    server, ca_file, token = _admin(kubeconfig)
    ssl_context = ssl.create_default_context(cafile=ca_file)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with await KubeClient.connect(str(kubeconfig)) as client:
        await client.create("/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
        jobs = await _create_jobs(client)
    print(f"created {len(jobs)} TrainingJobs", file=sys.stderr)

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    shim = _start_shim(kubeconfig, port, workdir / "shim.log")
    try:
        await _wait_ready(base, shim)
        rng = random.Random(7)  # noqa: S311 - a benchmark's choice of jobs, not a secret
        picks = [rng.choice(jobs) for _ in range(GET_REQUESTS + WARMUP)]

        async def rpc(session: aiohttp.ClientSession, method: str, params: Any) -> None:
            body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
            async with session.post(f"{base}/jsonrpc", data=body, headers=headers) as response:
                answer = await response.json()
                if "result" not in answer:
                    raise RuntimeError(f"{method} failed: {answer}")

        async def get_ours(session: aiohttp.ClientSession, i: int) -> None:
            await rpc(session, "training.get_status", {"job_id": picks[i][1]})

        async def get_direct(session: aiohttp.ClientSession, i: int) -> None:
            url = server + path_for(TJ_API, "trainingjobs", namespace=NAMESPACE, name=picks[i][0])
            async with session.get(url, headers=headers) as response:
                response.raise_for_status()
                await response.json()

        async def list_ours(session: aiohttp.ClientSession, _: int) -> None:
            await rpc(session, "training.list_jobs", {"namespace": NAMESPACE})

        async def list_direct(session: aiohttp.ClientSession, _: int) -> None:
            url = server + path_for(TJ_API, "trainingjobs", namespace=NAMESPACE)
            async with session.get(url, headers=headers) as response:
                response.raise_for_status()
                await response.json()

        results: dict[str, dict[str, dict[str, float]]] = {}
        for name, ours, direct, count in (
            ("get_status", get_ours, get_direct, GET_REQUESTS),
            ("list_jobs", list_ours, list_direct, LIST_REQUESTS),
        ):
            ours_latencies, ours_rps = await _measure(ours, count, None)
            base_latencies, base_rps = await _measure(direct, count, ssl_context)
            results[name] = {
                "ours": _summary(ours_latencies, ours_rps),
                "baseline": _summary(base_latencies, base_rps),
            }
            print(name, json.dumps(results[name]), file=sys.stderr)
        return results
    finally:
        shim.terminate()
        shim.wait(timeout=10)


def main() -> int:
    run = begin_run(__file__)
    os.environ.pop("KUBECONFIG", None)  # always a control plane of our own
    with (
        tempfile.TemporaryDirectory(prefix="bench-rpc-") as tmp,
        running_cluster(Path(tmp) / "controlplane") as cluster,
    ):
        # The load generator shares the 2 cores with the shim: give it the fast loop too
        # (both the shim and the direct apiserver reads are measured with this client).
        results = uvloop.run(_bench(cluster.kubeconfig, Path(tmp)))
        version = cluster.server_version
    for name, file_name, count, baseline_name in (
        ("get_status", "rpc-get-status", GET_REQUESTS, "kube-apiserver GET of the TrainingJob"),
        ("list_jobs", "rpc-list-jobs", LIST_REQUESTS, "kube-apiserver LIST of the namespace"),
    ):
        ours, baseline = results[name]["ours"], results[name]["baseline"]
        path = write_result(
            file_name,
            unit="ms (p99)",
            higher_is_better=False,
            ours=ours["p99_ms"],
            baseline=baseline["p99_ms"],
            baseline_name=f"{baseline_name}, same token, same client and concurrency",
            details={
                "p50s": {"ours_ms": ours["p50_ms"], "baseline_ms": baseline["p50_ms"]},
                "throughputs": {
                    "ours_rps": ours["throughput_rps"],
                    "baseline_rps": baseline["throughput_rps"],
                },
                "n": count,
                "concurrency": CONCURRENCY,
                "jobs": JOBS,
            },
            run=run,
            config={
                "ours": {"client": "aiohttp", "concurrency": CONCURRENCY, "n": count},
                "baseline": {"client": "aiohttp", "concurrency": CONCURRENCY, "n": count},
            },
            baseline_versions={"kube-apiserver": version},
        )
        print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""rpc-get-status and rpc-list-jobs: reads through the JSON-RPC shim vs the apiserver itself.

ours:     training.get_status (a random job id each) and training.list_jobs (one namespace of
          JOBS jobs) through the shim (`agentcore-rpc`, a subprocess) over HTTPS, as in
          production, with an admin bearer token: TokenReview and SubjectAccessReview,
          cached, on every call.
baseline: the same reads done directly against the kube-apiserver over HTTPS with the same
          token, served from the apiserver's own watch cache (resourceVersion=0, its fair
          cached read): GET of the TrainingJob by name; LIST of the namespace as a
          server-side Table (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, what
          `kubectl get tj` asks for), so that the ratio measures the cache, not a payload.
          Also measured and labelled: the cached LIST of full objects, and the quorum reads
          (no resourceVersion: a read from etcd), the second baseline.
Same client (aiohttp), same concurrency, same number of requests, same run, same machine;
each variant is measured in ROUNDS rounds, the order of the variants reversed in odd ones.
Run: .venv/bin/python bench/rpc_reads.py
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import ssl
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

from bench.common import begin_run, latency_summary, write_result
from tests.support.cluster import running_cluster
from tests.support.processes import free_port

from agentcore_training.controller.certs import make_server_certificate
from agentcore_training.kube.client import KubeClient, path_for

JOBS = 1000
CONCURRENCY = 8
GET_REQUESTS = int(os.environ.get("BENCH_GET_REQUESTS", "4000"))
LIST_REQUESTS = int(os.environ.get("BENCH_LIST_REQUESTS", "200"))
ROUNDS = 2
WARMUP = 100
NAMESPACE = "bench-rpc"
TJ_API = "training.agentcore.dev/v1alpha1"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
SHIM_ENV = {
    "AGENTCORE_RPC_HOST": "127.0.0.1",
    "AGENTCORE_RPC_NAMESPACE": NAMESPACE,
    "AGENTCORE_RPC_LOG_LEVEL": "WARNING",
}
Request = Callable[[aiohttp.ClientSession, int], Awaitable[None]]


def _admin(kubeconfig: Path) -> tuple[str, str, str]:
    """(server URL, CA file, bearer token) of the kubeconfig's first cluster and user."""
    config = yaml.safe_load(kubeconfig.read_text())
    cluster = config["clusters"][0]["cluster"]
    return cluster["server"], cluster["certificate-authority"], config["users"][0]["user"]["token"]


async def _create_jobs(client: KubeClient) -> list[tuple[str, str]]:
    """JOBS TrainingJobs, 32 creates in flight; (name, uid) of each."""
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
    request: Request, count: int, ssl_context: ssl.SSLContext
) -> tuple[list[float], float]:
    """Latencies (ms) of `count` requests from CONCURRENCY workers, and requests per second."""
    connector = aiohttp.TCPConnector(limit=CONCURRENCY, ssl=ssl_context)
    # No client-side timeout: a slow answer under load is a latency to record, not an error.
    timeout = aiohttp.ClientTimeout(total=None)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        for i in range(min(WARMUP, count // 10)):
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


def _start_shim(kubeconfig: Path, port: int, workdir: Path) -> tuple[subprocess.Popen[bytes], Any]:
    certificate = make_server_certificate(workdir / "shim-tls", ["127.0.0.1"])
    env = {
        **os.environ,
        **SHIM_ENV,
        "AGENTCORE_RPC_KUBECONFIG": str(kubeconfig),
        "AGENTCORE_RPC_PORT": str(port),
        "AGENTCORE_RPC_TLS_CERT_FILE": str(certificate.cert_file),
        "AGENTCORE_RPC_TLS_KEY_FILE": str(certificate.key_file),
    }
    with (workdir / "shim.log").open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "agentcore_training.rpc.main"], env=env, stdout=out, stderr=out
        )
    return process, certificate


async def _wait_ready(base: str, process: subprocess.Popen[bytes], context: ssl.SSLContext) -> None:
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("the shim exited during start-up")
            try:
                async with session.get(f"{base}/readyz", ssl=context) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the shim was not ready within 60 s")


def _requests(
    server: str, base: str, token: str, jobs: list[tuple[str, str]]
) -> dict[str, dict[str, Request]]:
    """Per benchmark, each variant's request; the first is ours, the second the headline."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    rng = random.Random(7)  # noqa: S311 - a benchmark's choice of jobs, not a secret
    picks = [rng.choice(jobs) for _ in range(GET_REQUESTS + WARMUP)]
    collection = server + path_for(TJ_API, "trainingjobs", namespace=NAMESPACE)

    async def rpc(session: aiohttp.ClientSession, method: str, params: Any) -> None:
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
        async with session.post(f"{base}/jsonrpc", data=body, headers=headers) as response:
            answer = await response.json()
            if "result" not in answer:
                raise RuntimeError(f"{method} failed: {answer}")

    def direct(
        url: Callable[[int], str], query: dict[str, str], accept: str = "application/json"
    ) -> Request:
        async def request(session: aiohttp.ClientSession, i: int) -> None:
            wanted = {**headers, "Accept": accept}
            async with session.get(url(i), params=query, headers=wanted) as response:
                response.raise_for_status()
                answer = await response.json()
                if accept == TABLE and answer.get("kind") != "Table":
                    raise RuntimeError(f"asked for a Table, got {answer.get('kind')}")

        return request

    async def get_ours(session: aiohttp.ClientSession, i: int) -> None:
        await rpc(session, "training.get_status", {"job_id": picks[i][1]})

    async def list_ours(session: aiohttp.ClientSession, _: int) -> None:
        # One page of every job: the same JOBS items the apiserver LIST returns.
        await rpc(session, "training.list_jobs", {"namespace": NAMESPACE, "limit": JOBS})

    def by_name(i: int) -> str:
        return f"{collection}/{picks[i][0]}"

    def whole(_: int) -> str:
        return collection

    cached = {"resourceVersion": "0"}
    return {
        "get_status": {
            "ours": get_ours,
            "cached": direct(by_name, cached),
            "quorum": direct(by_name, {}),
        },
        "list_jobs": {
            "ours": list_ours,
            "cached_table": direct(whole, cached, TABLE),
            "cached_full": direct(whole, cached),
            "quorum_table": direct(whole, {}, TABLE),
            "quorum_full": direct(whole, {}),
        },
    }


async def _bench(kubeconfig: Path, workdir: Path) -> dict[str, dict[str, Any]]:
    server, ca_file, token = _admin(kubeconfig)
    apiserver_tls = ssl.create_default_context(cafile=ca_file)
    async with await KubeClient.connect(str(kubeconfig)) as client:
        await client.create("/api/v1/namespaces", {"metadata": {"name": NAMESPACE}})
        jobs = await _create_jobs(client)
    print(f"created {len(jobs)} TrainingJobs", file=sys.stderr)
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    shim, certificate = _start_shim(kubeconfig, port, workdir)
    shim_tls = ssl.create_default_context(cafile=str(certificate.ca_file))
    try:
        await _wait_ready(base, shim, shim_tls)
        results: dict[str, dict[str, Any]] = {}
        counts = {"get_status": GET_REQUESTS, "list_jobs": LIST_REQUESTS}
        for name, variants in _requests(server, base, token, jobs).items():
            samples: dict[str, list[float]] = {v: [] for v in variants}
            rates: dict[str, list[float]] = {v: [] for v in variants}
            for number in range(ROUNDS):
                order = list(variants) if number % 2 == 0 else list(reversed(variants))
                for variant in order:
                    context = shim_tls if variant == "ours" else apiserver_tls
                    latencies, rate = await _measure(
                        variants[variant], counts[name] // ROUNDS, context
                    )
                    samples[variant] += latencies
                    rates[variant].append(round(rate, 1))
            results[name] = {
                v: {**latency_summary(samples[v]), "throughput_rps_per_round": rates[v]}
                for v in variants
            }
            print(name, json.dumps(results[name]), file=sys.stderr)
        return results
    finally:
        shim.terminate()
        shim.wait(timeout=10)


BASELINES = {
    "get_status": (
        "rpc-get-status",
        "cached",
        "kube-apiserver GET of the TrainingJob, resourceVersion=0 (watch cache)",
        "quorum",
    ),
    "list_jobs": (
        "rpc-list-jobs",
        "cached_table",
        "kube-apiserver LIST of the namespace as a Table, resourceVersion=0 (watch cache)",
        "quorum_full",
    ),
}


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
    common = {
        "client": "aiohttp, one keep-alive connection pool per variant, uvloop",
        "concurrency": CONCURRENCY,
        "warmup_requests_per_measurement": f"min({WARMUP}, n // 10), sequential",
        "rounds": ROUNDS,
        "trainingjobs": JOBS,
        "token": "the control plane's admin bearer token (system:masters)",
        "transport": "HTTPS with certificate verification on both sides (HTTP/1.1)",
    }
    for name, (file_name, headline, baseline_name, second) in BASELINES.items():
        measured = results[name]
        ours, baseline = measured["ours"], measured[headline]
        count = GET_REQUESTS if name == "get_status" else LIST_REQUESTS
        path = write_result(
            file_name,
            unit="ms (p99)",
            higher_is_better=False,
            ours=ours["p99_ms"],
            baseline=baseline["p99_ms"],
            baseline_name=f"{baseline_name}; same token, client, concurrency and TLS",
            details={
                "n": count,
                "variants": measured,
                "headline_baseline": headline,
                "second_baseline": {
                    "variant": second,
                    "what": "quorum read (no resourceVersion: read from etcd)",
                    "ratio": round(measured[second]["p99_ms"] / ours["p99_ms"], 3),
                },
                "ratios_p99": {
                    v: round(measured[v]["p99_ms"] / ours["p99_ms"], 3)
                    for v in measured
                    if v != "ours"
                },
            },
            run=run,
            config={
                "common": common,
                "ours": {
                    "shim": "agentcore-rpc (python -m agentcore_training.rpc.main), defaults",
                    "environment": SHIM_ENV,
                    "tls": "a throwaway EC P-256 certificate (controller/certs.py)",
                    "method": f"training.{name}",
                },
                "baseline": {
                    "apiserver": "tools/controlplane/up.sh flags, RBAC, token auth file",
                    "tls": "the control plane's RSA 2048 serving certificate",
                    "headline": headline,
                    "variants": [v for v in measured if v != "ours"],
                    "table_accept": TABLE,
                },
            },
            baseline_versions={"kube-apiserver": version},
        )
        print(path.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())

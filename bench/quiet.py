"""A benchmark's quiet window on the local control plane, and kube-controller-manager's flags.

`wait_quiet` returns when the control plane is idle: no namespace terminating, no Pod at
all (none pending), every work queue of kube-apiserver and kube-controller-manager empty,
no mutating request in flight, and the operator's reconcile counter still. Every condition
must hold at two polls in a row, QUIET_POLL_S apart.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

QUIET_POLL_S = 1.0
QUIET_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class ControlPlane:
    """The loopback control plane that tools/controlplane/up.sh started in `state`."""

    state: Path
    server: str
    token: str
    ssl: ssl.SSLContext

    @classmethod
    def from_state(cls, state: Path) -> ControlPlane:
        config = yaml.safe_load((state / "kubeconfig").read_text())
        cluster = config["clusters"][0]["cluster"]
        context = ssl.create_default_context(cafile=cluster["certificate-authority"])
        return cls(state, cluster["server"], config["users"][0]["user"]["token"], context)

    def _kcm_pid(self) -> int:
        return int((self.state / "kube-controller-manager.pid").read_text())

    def kcm_args(self) -> list[str]:
        raw = Path(f"/proc/{self._kcm_pid()}/cmdline").read_bytes()
        return [arg.decode() for arg in raw.split(b"\0") if arg]

    def kcm_url(self) -> str:
        port = next(a.split("=", 1)[1] for a in self.kcm_args() if a.startswith("--secure-port="))
        return f"https://127.0.0.1:{port}"

    def restart_kcm(self, extra_flags: list[str]) -> list[str]:
        """Restart kube-controller-manager with its flags plus `extra_flags`; its new args."""
        args = [a for a in self.kcm_args() if a.split("=", 1)[0] not in _names(extra_flags)]
        args += extra_flags
        pid = self._kcm_pid()
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = (self.state / "kube-controller-manager.log").open("ab")
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        (self.state / "kube-controller-manager.pid").write_text(f"{process.pid}\n")
        return args


def _names(flags: list[str]) -> set[str]:
    return {flag.split("=", 1)[0] for flag in flags}


def metric_sum(text: str, name: str, /, **labels: str) -> float:
    """Sum of the samples of metric `name` whose labels include `labels` (Prometheus text)."""
    total = 0.0
    wanted = [f'{key}="{value}"' for key, value in labels.items()]
    for line in text.splitlines():
        if not line.startswith(name) or line[len(name) : len(name) + 1] not in ("{", " "):
            continue
        if all(label in line for label in wanted):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _self_signed() -> ssl.SSLContext:
    """kube-controller-manager's serving certificate is self-signed by itself: not verified."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def _get(
    session: aiohttp.ClientSession, url: str, plane: ControlPlane, context: ssl.SSLContext
) -> str:
    headers = {"Authorization": f"Bearer {plane.token}"}
    async with session.get(url, headers=headers, ssl=context) as response:
        response.raise_for_status()
        return await response.text()


async def wait_kcm_healthy(plane: ControlPlane) -> None:
    context = _self_signed()
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                url = plane.kcm_url() + "/healthz"
                async with session.get(url, ssl=context) as response:
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, OSError, StopIteration):
                pass
            await asyncio.sleep(0.5)
    raise RuntimeError("kube-controller-manager was not healthy within 60 s of its restart")


async def _snapshot(
    session: aiohttp.ClientSession,
    plane: ControlPlane,
    operator_metrics: Callable[[], Awaitable[str]] | None,
) -> dict[str, Any]:
    kcm = await _get(session, plane.kcm_url() + "/metrics", plane, _self_signed())
    api = await _get(session, plane.server + "/metrics", plane, plane.ssl)
    api_base = plane.server + "/api/v1"
    namespaces = json.loads(await _get(session, f"{api_base}/namespaces", plane, plane.ssl))
    pods = json.loads(await _get(session, f"{api_base}/pods?limit=1", plane, plane.ssl))
    snapshot = {
        "terminating_namespaces": sum(
            1 for ns in namespaces["items"] if ns.get("status", {}).get("phase") == "Terminating"
        ),
        "pods": len(pods["items"]),
        "kcm_queue_depth": metric_sum(kcm, "workqueue_depth"),
        "apiserver_queue_depth": metric_sum(api, "workqueue_depth"),
        "apiserver_mutating_inflight": metric_sum(
            api, "apiserver_current_inflight_requests", request_kind="mutating"
        ),
    }
    if operator_metrics is not None:
        snapshot["operator_reconciles"] = metric_sum(
            await operator_metrics(), "agentcore_operator_reconciles_total"
        )
    return snapshot


def _idle(now: dict[str, Any], before: dict[str, Any] | None) -> bool:
    if before is None:
        return False
    zero = ("terminating_namespaces", "pods", "kcm_queue_depth", "apiserver_queue_depth")
    if any(now[key] or before[key] for key in zero):
        return False
    if now["apiserver_mutating_inflight"] or before["apiserver_mutating_inflight"]:
        return False
    return now.get("operator_reconciles") == before.get("operator_reconciles")


async def wait_quiet(
    plane: ControlPlane, operator_metrics: Callable[[], Awaitable[str]] | None = None
) -> dict[str, Any]:
    """Wait for the quiet window; how long it took and the last snapshot. Raises on timeout."""
    began = time.monotonic()
    before: dict[str, Any] | None = None
    async with aiohttp.ClientSession() as session:
        while True:
            now = await _snapshot(session, plane, operator_metrics)
            if _idle(now, before):
                return {"waited_s": round(time.monotonic() - began, 1), "at": now}
            if time.monotonic() - began > QUIET_TIMEOUT_S:
                raise RuntimeError(f"no quiet window within {QUIET_TIMEOUT_S} s: {now}")
            before = now
            await asyncio.sleep(QUIET_POLL_S)

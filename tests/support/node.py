"""A real node for the tests: containerd, kube-scheduler and a kubelet (tools/node/up.sh)
joined to a loopback control plane, so Pods run in real containers from local images.

Where a node cannot start here (not root, no cgroups, no packages), `node_unavailable` says
why, and the tests fall back to the dev runner.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.cluster import REPO, Cluster

NODE_TOOLS = REPO / "tools" / "node"
TRAINER_IMAGE = "ghcr.io/agentcore/grpo-trainer:0.1.0"  # the TrainingJob default
# tools/images/build.sh trainer-cpu, imported as this (tag 0.1.0) and as TRAINER_IMAGE
TRAINER_CPU_REPOSITORY = "localhost/agentcore-trainer-cpu"


@dataclass(frozen=True)
class Node:
    """A Ready node of `cluster`; pods reach this host at `host_ip` (the bridge's address)."""

    cluster: Cluster
    name: str
    host_ip: str
    containerd_address: str
    state_dir: Path
    ready_seconds: float

    def ctr(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """`ctr` in the kubelet's containerd namespace (k8s.io)."""
        return subprocess.run(
            ["ctr", "-a", self.containerd_address, "-n", "k8s.io", *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=timeout,
        )

    def import_image(self, archive: Path, repository: str, *also: str) -> str:
        """Import an OCI archive whose one tag is T as `repository:T`, and tag it `also`.

        Pods then find it with `imagePullPolicy: IfNotPresent` or `Never` (no registry).
        """
        self.ctr("images", "import", "--base-name", repository, str(archive))
        names = self.ctr("images", "ls", "-q").stdout.split()
        imported = next(name for name in names if name.startswith(repository + ":"))
        for name in also:
            self.ctr("images", "tag", "--force", imported, name)
        return imported


def image_archive(name: str) -> Path:
    """tools/images/build.sh NAME: the project's image as an OCI archive (cached by inputs)."""
    out = subprocess.run(
        ["bash", str(REPO / "tools" / "images" / "build.sh"), name],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"tools/images/build.sh {name} failed:\n{out.stderr[-4000:]}")
    return Path(out.stdout.strip().splitlines()[-1])


def node_unavailable() -> str | None:
    """Why a real node cannot start on this machine, or None when it can."""
    if os.environ.get("AGENTCORE_TEST_NODE") == "0":
        return "AGENTCORE_TEST_NODE=0 asks for the dev runner"
    check = subprocess.run(
        ["bash", str(NODE_TOOLS / "can-start.sh")], capture_output=True, text=True, check=False
    )
    return None if check.returncode == 0 else check.stdout.strip() or check.stderr.strip()


def _env_file(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def start_node(cluster: Cluster, state_dir: Path) -> Node:
    """tools/node/up.sh on the control plane started from `state_dir`; raise with its log."""
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(NODE_TOOLS / "up.sh"), str(state_dir)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if result.returncode != 0:
        stop_node(state_dir)
        raise RuntimeError(
            f"the node did not start ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    env = _env_file(state_dir / "node" / "env")
    return Node(
        cluster=cluster,
        name=env["NODE_NAME"],
        host_ip=env["NODE_HOST_IP"],
        containerd_address=env["CONTAINERD_ADDRESS"],
        state_dir=state_dir,
        ready_seconds=time.monotonic() - started,
    )


def stop_node(state_dir: Path) -> None:
    subprocess.run(
        ["bash", str(NODE_TOOLS / "down.sh"), str(state_dir)],
        capture_output=True,
        timeout=300,
        check=False,
    )


@contextmanager
def running_node(cluster: Cluster, state_dir: Path) -> Iterator[Node]:
    """A node on `cluster` (a control plane started from `state_dir`), stopped afterwards."""
    node = start_node(cluster, state_dir)
    try:
        yield node
    finally:
        stop_node(state_dir)

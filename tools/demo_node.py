"""`make demo` on a real node when this machine can run one (tools/node/, docs/real-node.md):
containerd, kube-scheduler and a kubelet on the demo's control plane, and the trainer image's
CPU flavour (tools/images/build.sh trainer-cpu) imported as the TrainingJob default image, so
the trainer runs in a real container. Otherwise the dev runner plays the kubelet.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_IMAGE = "ghcr.io/agentcore/grpo-trainer"  # tag 0.1.0: spec.runtime.image's default


@dataclass(frozen=True)
class RealNode:
    name: str
    host_ip: str  # the bridge's host address: pods reach the operator there


def unavailable() -> str | None:
    """Why no node can start here (tools/node/can-start.sh), or None."""
    check = subprocess.run(
        ["bash", str(REPO / "tools/node/can-start.sh")], capture_output=True, text=True, check=False
    )
    return None if check.returncode == 0 else (check.stdout.strip() or check.stderr.strip())


def start(cluster: Path, log: Path) -> RealNode:
    """Build (or reuse) the trainer-cpu image, start the node, import the image into it."""
    began = time.monotonic()
    with log.open("ab") as out:
        build = subprocess.run(
            ["bash", str(REPO / "tools/images/build.sh"), "trainer-cpu"],
            stdout=subprocess.PIPE,
            stderr=out,
            text=True,
            check=True,
        )
        archive = build.stdout.strip().splitlines()[-1]
        print(f"trainer-cpu image ready in {time.monotonic() - began:.0f} s: {archive}", flush=True)
        subprocess.run(["bash", str(REPO / "tools/node/up.sh"), str(cluster)], check=True)
        env = dict(
            line.split("=", 1)
            for line in (cluster / "node/env").read_text().splitlines()
            if "=" in line
        )
        began = time.monotonic()
        subprocess.run(
            [
                "ctr",
                "-a",
                env["CONTAINERD_ADDRESS"],
                "-n",
                "k8s.io",
                "images",
                "import",
                "--base-name",
                DEFAULT_IMAGE,
                archive,
            ],
            stdout=out,
            stderr=out,
            check=True,
        )
    print(f"imported as {DEFAULT_IMAGE}:0.1.0 in {time.monotonic() - began:.0f} s", flush=True)
    return RealNode(env["NODE_NAME"], env["NODE_HOST_IP"])


def stop(cluster: Path) -> None:
    """tools/node/down.sh: pods deleted, daemons stopped, the host as it was."""
    subprocess.run(
        ["bash", str(REPO / "tools/node/down.sh"), str(cluster)], capture_output=True, check=False
    )

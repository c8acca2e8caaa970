"""Kueue (the pinned release, built with the control plane: tools/controlplane/build.sh) as a
process against a test cluster: its CRDs applied, its controller running with the batch/Job
integration, removed again afterwards.

Kueue's webhooks are not registered (the operator creates a queued Job suspended itself,
which is what Kueue's Job webhook would make it), so its webhook server only has to start:
it gets a throwaway certificate. Its manager reads the metrics certificate from a fixed
path, /etc/kueue/metrics/certs; the process runs in a mount namespace of its own where
/etc is an overlay whose upper layer is in the test's folder, so the host's /etc is never
written (that needs root, as the real node does).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agentcore_training.controller.certs import make_server_certificate
from tests.support.cluster import Cluster, built_bin_dir
from tests.support.processes import free_port

VERSIONS = Path(__file__).resolve().parents[2] / "tools" / "controlplane" / "versions.env"
NAMESPACE = "kueue-system"
API_VERSION = "kueue.x-k8s.io/v1beta2"

_START = """set -e
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1/etc-upper,workdir=$1/etc-work" /etc
mkdir -p /etc/kueue/metrics/certs
cp "$1/certs/tls.crt" "$1/certs/tls.key" /etc/kueue/metrics/certs/
shift
exec "$@"
"""


def kueue_version() -> str:
    for line in VERSIONS.read_text().splitlines():
        if line.startswith("KUEUE_VERSION="):
            return line.split("=", 1)[1].split()[0]
    raise AssertionError(f"no KUEUE_VERSION in {VERSIONS}")


def kueue_unavailable() -> str | None:
    """Why Kueue cannot run here, or None."""
    if os.geteuid() != 0:
        return "Kueue's fixed metrics-certificate path needs a mount namespace (root)"
    if shutil.which("unshare") is None:
        return "no unshare(1)"
    return None


@contextmanager
def running_kueue(cluster: Cluster, folder: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Kueue's CRDs and controller on `cluster` until the block ends; then neither."""
    version = kueue_version()
    binary = built_bin_dir() / f"kueue-{version}"
    crds = built_bin_dir() / f"kueue-{version}-crds"
    folder.mkdir(parents=True)
    for sub in ("etc-upper", "etc-work"):
        (folder / sub).mkdir()
    make_server_certificate(folder / "certs", ["127.0.0.1"])
    health = free_port()
    (folder / "config.yaml").write_text(
        f"""apiVersion: config.kueue.x-k8s.io/v1beta2
kind: Configuration
namespace: {NAMESPACE}
health: {{healthProbeBindAddress: "127.0.0.1:{health}"}}
metrics: {{bindAddress: "0"}}
webhook: {{port: {free_port()}, host: 127.0.0.1, certDir: {folder / "certs"}}}
leaderElection: {{leaderElect: false}}
internalCertManagement: {{enable: false}}
integrations: {{frameworks: ["batch/job"]}}
"""
    )
    cluster.kubectl("apply", "--server-side", "-f", str(crds), timeout=120)
    established = ("wait", "--for=condition=Established", "-f", str(crds), "--timeout=30s")
    # kubectl wait fails at once, not waiting, while a new CRD has no status conditions.
    wait_until = time.monotonic() + 60
    while cluster.kubectl(*established, check=False).returncode != 0:
        assert time.monotonic() < wait_until, "Kueue's CRDs not Established in 60 s"
        time.sleep(0.5)
    cluster.kubectl("create", "namespace", NAMESPACE)
    (folder / "start.sh").write_text(_START)
    command = [
        "unshare", "-m", "--propagation", "private",
        "bash", str(folder / "start.sh"), str(folder),
        str(binary), f"--config={folder / 'config.yaml'}", f"--kubeconfig={cluster.kubeconfig}",
        # Its visibility API server wants certificates of its own; nothing here asks it.
        "--feature-gates=VisibilityOnDemand=false",
    ]  # fmt: skip
    with (folder / "kueue.log").open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(process, health, folder / "kueue.log")
        yield process
    finally:
        # Kueue's objects carry its finalizers: they go while it runs, or never.
        for kind in ("workloads", "localqueues", "clusterqueues", "resourceflavors"):
            cluster.kubectl(
                "delete", f"{kind}.kueue.x-k8s.io", "--all", "--all-namespaces",
                "--timeout=60s", check=False, timeout=90,
            )  # fmt: skip
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        cluster.kubectl("delete", "namespace", NAMESPACE, "--wait=false", check=False)
        cluster.kubectl(
            "delete",
            "-f",
            str(crds),
            "--ignore-not-found",
            "--wait=false",
            check=False,
            timeout=120,
        )


def _wait_ready(process: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"kueue exited {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"kueue not ready in 60 s:\n{log.read_text()[-3000:]}")

"""A real Kubernetes control plane for the tests: started by the project's scripts on
loopback (etcd, kube-apiserver, kube-controller-manager), or the cluster named by KUBECONFIG.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CONTROLPLANE = REPO / "tools" / "controlplane"
CRD_DIR = REPO / "crds"


@dataclass(frozen=True)
class Cluster:
    """A reachable Kubernetes API, driven with a real kubectl."""

    kubeconfig: Path
    kubectl_path: str
    server: str
    server_version: str
    started_here: bool
    # kubectl's discovery cache, one per test session, so no stale discovery leaks in.
    cache_dir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="kubectl-cache-"))

    def kubectl(
        self, *args: str, stdin: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster; raise with its stderr when `check` and it fails."""
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig), "KUBECACHEDIR": self.cache_dir}
        result = subprocess.run(
            [self.kubectl_path, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}"
            )
        return result

    def get_json(self, *args: str) -> dict[str, object]:
        out = self.kubectl("get", *args, "-o", "json").stdout
        parsed: dict[str, object] = json.loads(out)
        return parsed

    @contextmanager
    def namespace(self, prefix: str = "test") -> Iterator[str]:
        """A fresh namespace, deleted afterwards (without waiting for it to go)."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.kubectl("create", "namespace", name)
        try:
            yield name
        finally:
            self.kubectl("delete", "namespace", name, "--wait=false", check=False)


_SERVER_PATH = "{.clusters[0].cluster.server}"


def _server_info(kubeconfig: Path, kubectl_path: str) -> tuple[str, str]:
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    version = subprocess.run(
        [kubectl_path, "version", "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=30,
    )
    server = subprocess.run(
        [kubectl_path, "config", "view", "--minify", "-o", f"jsonpath={_SERVER_PATH}"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=30,
    )
    return server.stdout.strip(), json.loads(version.stdout)["serverVersion"]["gitVersion"]


def install_crds(cluster: Cluster) -> None:
    """Apply the CRDs and wait until kubectl can use them (discovery and OpenAPI published)."""
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRD_DIR))
    deadline = time.monotonic() + 60
    # kubectl wait fails at once, not waiting, while the new CRD has no status conditions.
    wait = ("wait", "--for=condition=Established", "crd/trainingjobs.training.agentcore.dev")
    while cluster.kubectl(*wait, "--timeout=30s", check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the TrainingJob CRD was not Established within 60 s")
        time.sleep(0.5)
    # The apiserver publishes a new CRD's OpenAPI a few seconds after it is Established.
    while cluster.kubectl("explain", "tj.spec", check=False).returncode != 0:
        if time.monotonic() > deadline:
            raise RuntimeError("the TrainingJob CRD was not published in OpenAPI within 60 s")
        time.sleep(0.5)


def built_bin_dir() -> Path:
    """The cache folder of the pinned control-plane binaries (building them if needed)."""
    out = subprocess.run(
        ["bash", str(CONTROLPLANE / "build.sh")], capture_output=True, text=True, check=True
    )
    return Path(out.stdout.strip().splitlines()[-1])


@contextmanager
def running_cluster(state_dir: Path) -> Iterator[Cluster]:
    """Use KUBECONFIG's cluster when set; otherwise start one on loopback and stop it after."""
    external = os.environ.get("KUBECONFIG")
    if external:
        kubectl_path = shutil.which("kubectl") or str(built_bin_dir() / "kubectl")
        server, version = _server_info(Path(external), kubectl_path)
        cluster = Cluster(Path(external), kubectl_path, server, version, started_here=False)
        install_crds(cluster)
        yield cluster
        return
    env = {**os.environ, "CRD_DIR": str(CRD_DIR), "WITH_KCM": "1"}
    try:
        subprocess.run(
            ["bash", str(CONTROLPLANE / "up.sh"), str(state_dir)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=1800,
        )
    except subprocess.CalledProcessError as error:
        subprocess.run(["bash", str(CONTROLPLANE / "down.sh"), str(state_dir)], check=False)
        raise RuntimeError(f"the control plane did not start:\n{error.stderr}") from error
    try:
        kubeconfig = state_dir / "kubeconfig"
        kubectl_path = str(built_bin_dir() / "kubectl")
        server, version = _server_info(kubeconfig, kubectl_path)
        cluster = Cluster(kubeconfig, kubectl_path, server, version, started_here=True)
        install_crds(cluster)
        yield cluster
    finally:
        subprocess.run(["bash", str(CONTROLPLANE / "down.sh"), str(state_dir)], check=False)

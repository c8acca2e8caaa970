"""The operator and the dev runner as real processes (their console scripts) for the tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from agentcore_training.controller.certs import ServerCertificate, make_server_certificate
from agentcore_training.devrunner.sandbox import claims_dir
from agentcore_training.webhook.configuration import build_webhook_configuration
from tests.support.cluster import Cluster
from tests.support.identities import OPERATOR, kubeconfig_for

BIN = Path(sys.executable).parent
TRAINER_ENTRY = Path(__file__).resolve().parent / "trainer_entry.py"
WEBHOOK_CONFIGURATION = "trainingjobs.training.agentcore.dev"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class OperatorProcess:
    """`agentcore-operator` on loopback ports, with its logs in a file."""

    cluster: Cluster
    log_path: Path
    cancel_grace_seconds: float = 4.0
    port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    kubeconfig: Path | None = None
    """Its own ServiceAccount's token (manifests/base/operator-rbac.yaml), not admin."""

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def tls_dir(self) -> Path:
        # Kept across restarts: running trainers trust the CA they were given.
        return self.log_path.parent / "tls"

    def env(self) -> dict[str, str]:
        assert self.kubeconfig is not None, "start() makes the kubeconfig"
        return {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "AGENTCORE_OPERATOR_LISTEN_HOST": "127.0.0.1",
            "AGENTCORE_OPERATOR_LISTEN_PORT": str(self.port),
            "AGENTCORE_OPERATOR_METRICS_PORT": str(self.metrics_port),
            "AGENTCORE_OPERATOR_ADVERTISE_URL": self.url,
            "AGENTCORE_OPERATOR_TLS_DIR": str(self.tls_dir),
            # As deployed: the webhook configuration is not the operator's to write (its
            # role has no access to it); register_webhook writes it, as the manifests do.
            "AGENTCORE_OPERATOR_WEBHOOK_MODE": "none",
            "AGENTCORE_OPERATOR_CANCEL_GRACE_SECONDS": str(self.cancel_grace_seconds),
            "AGENTCORE_OPERATOR_TRAINER_COMMAND": json.dumps([sys.executable, str(TRAINER_ENTRY)]),
        }

    def register_webhook(self) -> None:
        """The certificate the operator will reuse from its TLS dir, and the webhook
        configuration for it, written as admin (webhook.yaml's part in a deployment)."""
        kept = ServerCertificate(
            self.tls_dir / "tls.crt", self.tls_dir / "tls.key", self.tls_dir / "ca.crt"
        )
        if not all(p.exists() for p in (kept.cert_file, kept.key_file, kept.ca_file)):
            kept = make_server_certificate(self.tls_dir, ["127.0.0.1", "localhost"])
        config = build_webhook_configuration(WEBHOOK_CONFIGURATION, kept.ca_pem, url=self.url)
        self.cluster.kubectl("apply", "-f", "-", stdin=json.dumps(config))

    def start(self) -> None:
        self.kubeconfig = kubeconfig_for(
            self.cluster,
            OPERATOR,
            can=("watch", "trainingjobs.training.agentcore.dev", "--all-namespaces"),
        )
        self.register_webhook()
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(BIN / "agentcore-operator"), "--liveness", ""],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the operator exited; see {self.log_path}")
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=1
                ):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the operator did not start in 60 s; see {self.log_path}")

    def stop(self, *, kill: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def metrics(self) -> str:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5
        ) as answer:
            text: str = answer.read().decode()
            return text


@dataclass
class NodeOperator(OperatorProcess):
    """The operator where a real node's pods reach it: advertised at the bridge's host address.

    It listens on all addresses (the bridge's, and loopback for the fixture's /metrics probe);
    its trainer command is the image's own (no TRAINER_COMMAND override: no dev runner here).
    """

    host_ip: str = "127.0.0.1"

    @property
    def url(self) -> str:
        return f"https://{self.host_ip}:{self.port}"

    def register_webhook(self) -> None:
        # The certificate it reuses names the bridge address too: pods and the apiserver
        # call it there.
        if not (self.tls_dir / "ca.crt").exists():
            make_server_certificate(self.tls_dir, [self.host_ip, "127.0.0.1", "localhost"])
        super().register_webhook()

    def env(self) -> dict[str, str]:
        env = super().env()
        env["AGENTCORE_OPERATOR_LISTEN_HOST"] = "0.0.0.0"  # noqa: S104 - see the docstring
        del env["AGENTCORE_OPERATOR_TRAINER_COMMAND"]
        return env


@contextmanager
def running_operator(
    cluster: Cluster, log_path: Path, *, node_host_ip: str | None = None
) -> Iterator[OperatorProcess]:
    """The operator; with `node_host_ip`, for a real node's pods (NodeOperator)."""
    operator = (
        OperatorProcess(cluster, log_path)
        if node_host_ip is None
        else NodeOperator(cluster, log_path, host_ip=node_host_ip)
    )
    operator.start()
    try:
        yield operator
    finally:
        operator.stop()
        # With the operator gone, failurePolicy Fail would refuse every TrainingJob.
        cluster.kubectl(
            "delete", "validatingwebhookconfiguration", WEBHOOK_CONFIGURATION, check=False
        )


@contextmanager
def running_dev_runner(cluster: Cluster, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    workdir.mkdir(parents=True, exist_ok=True)
    log = (workdir / "dev-runner.log").open("ab")
    process = subprocess.Popen(
        [
            str(BIN / "agentcore-dev-runner"),
            "--kubeconfig",
            str(cluster.kubeconfig),
            "--workdir",
            str(workdir),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def dev_runner_claims(dev_runner: subprocess.Popen[bytes], namespace: str) -> Path:
    """Where the dev runner keeps the namespace's PVCs, as host folders named after them."""
    args = [str(a) for a in dev_runner.args]
    return claims_dir(Path(args[args.index("--workdir") + 1]), namespace)

"""The real node (tools/node/): a Pod in a real container from a local image, under the
`restricted` security context, reaching the host's bridge address; and the host exactly as it
was after teardown, also after a crash of the node's daemons."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import Cluster, running_cluster
from tests.support.host_state import node_id, other_nodes_running, snapshot
from tests.support.node import NODE_TOOLS, Node, node_unavailable, start_node, stop_node

pytestmark = pytest.mark.integration
BUSYBOX = "localhost/agentcore-busybox:latest"


@pytest.fixture(scope="module")
def own_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Path]]:
    """A control plane of this module's own, so its node's whole life can be checked."""
    reason = node_unavailable()
    if reason:
        pytest.skip(f"no real node here: {reason}")
    if os.environ.get("KUBECONFIG"):
        pytest.skip("KUBECONFIG names an external cluster: the node tests start their own")
    state = tmp_path_factory.mktemp("node-cluster")
    with running_cluster(state) as cluster:
        yield cluster, state


def _busybox_archive() -> Path:
    out = subprocess.run(
        ["bash", str(NODE_TOOLS / "tiny-image.sh"), "busybox"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def _restricted_pod(name: str, script: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532},
            "containers": [
                {
                    "name": "main",
                    "image": BUSYBOX,
                    "imagePullPolicy": "Never",
                    "command": ["/bin/sh", "-c", script],
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True,
                        "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                }
            ],
        },
    }


def _wait_phase(cluster: Cluster, name: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pod: Any = cluster.get_json("pod", name)
        if pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            return dict(pod)
        time.sleep(0.1)
    raise AssertionError(f"pod {name} did not finish in {timeout} s")


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"hello {self.client_address[0]}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_pod_runs_restricted_in_a_real_container_and_reaches_the_host(
    own_cluster: tuple[Cluster, Path],
) -> None:
    cluster, state = own_cluster
    before = snapshot(state)
    node = start_node(cluster, state)
    try:
        _run_pods(cluster, node)
        _resolve_a_peer_by_its_stable_hostname(cluster)
    finally:
        stop_node(state)
    after = snapshot(state)
    assert before.differences(after) == []
    _assert_nothing_of_the_node_left(state)


def _run_pods(cluster: Cluster, node: Node) -> None:
    print(f"node {node.name} Ready {node.ready_seconds:.1f} s after up.sh started")
    node.ctr(
        "images", "import", "--base-name", "localhost/agentcore-busybox", str(_busybox_archive())
    )
    server = HTTPServer((node.host_ip, 0), _Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    script = (
        "id -u; id -g; "
        "touch /written 2>/dev/null && echo root-writable || echo root-read-only; "
        "grep -E '^(NoNewPrivs|Seccomp|CapEff):' /proc/self/status; "
        f"wget -qO- http://{node.host_ip}:{server.server_port}/; echo; "
        "echo finished > /dev/termination-log"
    )
    try:
        started = time.monotonic()
        cluster.kubectl("apply", "-f", "-", stdin=json.dumps(_restricted_pod("probe", script)))
        pod = _wait_phase(cluster, "probe")
        print(f"pod apply -> Succeeded in {time.monotonic() - started:.2f} s")
    finally:
        server.shutdown()
    assert pod["status"]["phase"] == "Succeeded", pod["status"]
    assert pod["spec"]["nodeName"] == node.name
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["message"] == "finished\n"
    assert pod["status"]["podIP"] != node.host_ip
    logs = cluster.kubectl("logs", "probe").stdout.split("\n")
    assert logs[:3] == ["65532", "65532", "root-read-only"], logs
    status = dict(line.split(":\t") for line in logs[3:6])
    assert status == {"NoNewPrivs": "1", "Seccomp": "2", "CapEff": "0000000000000000"}, logs
    assert logs[6] == f"hello {pod['status']['podIP']}"  # the host saw the pod's own address


def _resolve_a_peer_by_its_stable_hostname(cluster: Cluster) -> None:
    """The node's CoreDNS: a pod finds another by `hostname.subdomain` under a headless Service,
    as torchrun's rendezvous across the pods of an Indexed Job does."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "peers"},
        "spec": {
            "clusterIP": "None",
            "selector": {"peer": "a"},
            "publishNotReadyAddresses": True,
            "ports": [{"name": "rendezvous", "port": 29500}],
        },
    }
    peer = _restricted_pod("peer-a", "sleep 120")
    peer["metadata"]["labels"] = {"peer": "a"}
    peer["spec"] |= {"hostname": "a", "subdomain": "peers"}
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(service))
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(peer))
    _wait_running(cluster, "peer-a")
    running: Any = cluster.get_json("pod", "peer-a")
    name = f"a.peers.{running['metadata']['namespace']}.svc.cluster.local"
    script = f"for i in $(seq 1 100); do nslookup {name} && exit 0; sleep 0.2; done; exit 1"
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(_restricted_pod("resolver", script)))
    resolved = _wait_phase(cluster, "resolver")
    logs = cluster.kubectl("logs", "resolver").stdout
    assert resolved["status"]["phase"] == "Succeeded", logs
    assert f"Address: {running['status']['podIP']}" in logs, logs
    cluster.kubectl("delete", "pod", "peer-a", "--grace-period=0", "--wait=false")


def test_teardown_after_a_crash_leaves_the_host_as_it_was(
    own_cluster: tuple[Cluster, Path],
) -> None:
    cluster, state = own_cluster
    before = snapshot(state)
    node = start_node(cluster, state)
    node.ctr(
        "images", "import", "--base-name", "localhost/agentcore-busybox", str(_busybox_archive())
    )
    cluster.kubectl("apply", "-f", "-", stdin=json.dumps(_restricted_pod("sleeper", "sleep 600")))
    _wait_running(cluster, "sleeper")
    for daemon in ("kubelet", "containerd"):  # a crash: no pod deletion, containers left running
        os.kill(int((state / "node" / f"{daemon}.pid").read_text()), signal.SIGKILL)
    stop_node(state)
    stop_node(state)  # again: nothing left to do, nothing fails
    assert before.differences(snapshot(state)) == []
    _assert_nothing_of_the_node_left(state)


def _wait_running(cluster: Cluster, name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _phase(cluster, name) != "Running":
        if time.monotonic() > deadline:
            raise AssertionError(f"pod {name} not Running in {timeout} s")
        time.sleep(0.1)


def _phase(cluster: Cluster, name: str) -> str | None:
    pod: Any = cluster.get_json("pod", name)
    phase: str | None = pod.get("status", {}).get("phase")
    return phase


def _assert_nothing_of_the_node_left(state: Path) -> None:
    node = state / "node"
    assert not list(node.glob("*.pid"))
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(node) not in mounts
    own = node_id(state)
    assert (
        f"acbr{own}"
        not in subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    )
    assert not list(Path("/sys/fs/cgroup").glob(f"*/agentcore-{own}"))
    if not other_nodes_running(state):
        assert not Path("/run/agentcore-nodes").exists()

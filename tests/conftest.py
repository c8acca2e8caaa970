"""Test-suite wiring: the session's Kubernetes control plane, where trainer pods run (a real
node or the dev runner, tests/support/trainer_runtime.py), and a note of both."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cluster import Cluster, running_cluster
from tests.support.host_state import snapshot
from tests.support.node import (
    TRAINER_CPU_REPOSITORY,
    TRAINER_IMAGE,
    Node,
    image_archive,
    node_unavailable,
    running_node,
)
from tests.support.processes import OperatorProcess, running_dev_runner, running_operator
from tests.support.trainer_runtime import TrainerRuntime

os.environ.setdefault("OMP_NUM_THREADS", "1")

_used_clusters: list[Cluster] = []
_node_notes: list[str] = []
_runtime_of_module: dict[str, str] = {}


@pytest.fixture(scope="session")
def control_plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A real kube-apiserver (+ etcd, kube-controller-manager) with the CRD installed; its
    trainer pods run on the dev runner."""
    with running_cluster(tmp_path_factory.mktemp("controlplane")) as running:
        _used_clusters.append(running)
        yield running


def _node_reason() -> str | None:
    if os.environ.get("KUBECONFIG"):
        return "KUBECONFIG names an external cluster: the node tests start their own"
    return node_unavailable()


@pytest.fixture(scope="session")
def real_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node | None]:
    """A real node (tools/node/) on a control plane of its own, with the trainer-cpu image
    imported as the TrainingJob default image; None where no node can start here.

    After its teardown the host must be as it was (kernel settings, iptables, mounts, links,
    cgroups, host paths, processes: tests/support/host_state.py); a difference fails the run.
    """
    reason = _node_reason()
    if reason:
        _node_notes.append(f"no real node ({reason}): modules marked real_node used the dev runner")
        yield None
        return
    started = time.monotonic()
    archive = image_archive("trainer-cpu")  # cached by its inputs; a cold build takes minutes
    built = time.monotonic() - started
    state = tmp_path_factory.mktemp("node-controlplane")
    with running_cluster(state) as cluster:
        _used_clusters.append(cluster)
        before = snapshot(state)
        with running_node(cluster, state) as node:
            started = time.monotonic()
            node.import_image(archive, TRAINER_CPU_REPOSITORY, TRAINER_IMAGE)
            _node_notes.append(
                f"real node {node.name}: Ready in {node.ready_seconds:.1f} s; trainer-cpu image "
                f"{archive.name} ({archive.stat().st_size / 1e9:.2f} GB) ready in {built:.0f} s, "
                f"imported in {time.monotonic() - started:.0f} s"
            )
            yield node
        left = before.differences(snapshot(state))
        _node_notes.append(f"host after the node's teardown: {left or 'as it was'}")
        assert left == [], f"the node changed the host: {left}"


def _on_node(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("real_node") is not None


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> Cluster:
    """The module's cluster: the real node's control plane for modules marked `real_node`
    (where a node can start), else the session's."""
    if _on_node(request):
        node: Node | None = request.getfixturevalue("real_node")
        if node is not None:
            return node.cluster
    control: Cluster = request.getfixturevalue("control_plane")
    return control


@pytest.fixture(scope="module")
def trainer_runtime(request: pytest.FixtureRequest, cluster: Cluster) -> TrainerRuntime:
    """Where this module's trainer pods run: the real node, or the session's dev runner."""
    node: Node | None = request.getfixturevalue("real_node") if _on_node(request) else None
    if node is not None:
        runtime = TrainerRuntime(cluster, node=node)
    else:
        process: subprocess.Popen[bytes] = request.getfixturevalue("dev_runner")
        args = [str(a) for a in process.args]  # type: ignore[union-attr]
        root = Path(args[args.index("--workdir") + 1])
        runtime = TrainerRuntime(cluster, dev_runner_root=root)
    _runtime_of_module[request.node.nodeid] = runtime.kind
    return runtime


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace for one test."""
    with cluster.namespace() as name:
        yield name


@pytest.fixture(scope="module")
def operator(
    trainer_runtime: TrainerRuntime, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """The operator (`agentcore-operator`) for the module's trainer runtime.

    Per module: its admission webhook is registered only while a module that asked for it
    runs, so tests of the bare CRD never meet it, whatever the order.
    """
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    node = trainer_runtime.node
    host_ip = node.host_ip if node is not None else None
    with running_operator(trainer_runtime.cluster, log, node_host_ip=host_ip) as running:
        yield running


@pytest.fixture(scope="session")
def dev_runner(
    control_plane: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """`agentcore-dev-runner`: runs the session control plane's trainer pods as processes."""
    with running_dev_runner(control_plane, tmp_path_factory.mktemp("dev-runner")) as process:
        yield process


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "builds_images: the module's fixture builds the project's images (cold: minutes) "
        "and starts its own node",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


def pytest_collection_finish(session: pytest.Session) -> None:
    """The first test to run on the real node sets it up, building the trainer-cpu image
    when its cached archive is missing (minutes, cold), and so does the first test of a
    module marked `builds_images` (its own node, the operator and trainer images): each
    of those gets 40 minutes."""
    for marker in ("real_node", "builds_images"):
        for item in session.items:  # what runs, in order, after -k and -m
            if item.get_closest_marker(marker) is not None:
                if item.get_closest_marker("timeout") is None:
                    item.add_marker(pytest.mark.timeout(2400))
                break


def pytest_report_header() -> str:
    reason = _node_reason()
    where = "a real node (tools/node/)" if reason is None else f"the dev runner ({reason})"
    return f"trainer pods of modules marked real_node: {where}; of the others: the dev runner"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for used in _used_clusters:
        origin = "started by tools/controlplane/up.sh" if used.started_here else "from KUBECONFIG"
        terminalreporter.write_line(
            f"integration tests ran against kube-apiserver {used.server_version} "
            f"at {used.server} ({origin})"
        )
    for note in _node_notes:
        terminalreporter.write_line(note)
    for kind in sorted(set(_runtime_of_module.values())):
        modules = sorted(m.rsplit("/", 1)[-1] for m, k in _runtime_of_module.items() if k == kind)
        terminalreporter.write_line(f"trainer pods on the {kind}: {', '.join(modules)}")

"""Test-suite wiring: the session's Kubernetes control plane, and a note of its version."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.cluster import Cluster, running_cluster
from tests.support.processes import OperatorProcess, running_dev_runner, running_operator

os.environ.setdefault("OMP_NUM_THREADS", "1")

_used_clusters: list[Cluster] = []


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A real kube-apiserver (+ etcd, kube-controller-manager) with the CRD installed."""
    with running_cluster(tmp_path_factory.mktemp("controlplane")) as running:
        _used_clusters.append(running)
        yield running


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace for one test."""
    with cluster.namespace() as name:
        yield name


@pytest.fixture(scope="module")
def operator(
    cluster: Cluster, dev_runner: object, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """The operator (`agentcore-operator`), with the dev runner executing its trainer pods.

    Per module: its admission webhook is registered only while a module that asked for it
    runs, so tests of the bare CRD never meet it, whatever the order.
    """
    log = tmp_path_factory.mktemp("operator") / "operator.log"
    with running_operator(cluster, log) as running:
        yield running


@pytest.fixture(scope="session")
def dev_runner(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """`agentcore-dev-runner`: runs trainer pods as local processes (no kubelet here)."""
    with running_dev_runner(cluster, tmp_path_factory.mktemp("dev-runner")) as process:
        yield process


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for used in _used_clusters:
        origin = "started by tools/controlplane/up.sh" if used.started_here else "from KUBECONFIG"
        terminalreporter.write_line(
            f"integration tests ran against kube-apiserver {used.server_version} "
            f"at {used.server} ({origin})"
        )

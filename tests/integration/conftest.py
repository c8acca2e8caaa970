"""Fixtures of the JSON-RPC shim's integration tests."""

from __future__ import annotations

import pytest

from tests.integration.rpc_support import RBAC_DIR
from tests.support.cluster import Cluster


@pytest.fixture(scope="session")
def rbac(cluster: Cluster) -> Cluster:
    """manifests/rbac/ applied: the aggregated TrainingJob roles and the shim's own role."""
    cluster.kubectl("apply", "-f", str(RBAC_DIR))
    return cluster

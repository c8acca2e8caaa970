"""Fixtures of the JSON-RPC shim's integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.integration.rpc_support import RBAC_DIR, running_shim, service_account_token
from tests.support.cluster import Cluster


@pytest.fixture(scope="session")
def rbac(control_plane: Cluster) -> Cluster:
    """manifests/rbac/ applied to the session's control plane: the aggregated TrainingJob
    roles and the shim's own role (the shim's modules run on the dev runner)."""
    control_plane.kubectl("apply", "-f", str(RBAC_DIR))
    return control_plane


@pytest.fixture
async def shim(rbac: Cluster, namespace: str) -> AsyncIterator[tuple[str, str]]:
    """(base URL, an `edit` token of the test namespace); the shim's default namespace is it."""
    token = service_account_token(rbac, namespace, "edit", wait_for="cancel")
    async with running_shim(rbac, namespace=namespace) as base:
        yield base, token

"""training.list_jobs filters and pages on a real kube-apiserver, with no operator running:
the test writes the phases itself, and an operator (the module-scoped fixture that
test_rpc_on_cluster.py's cancel test starts) would write them back."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from tests.integration.rpc_support import error, queries, result
from tests.support.cluster import Cluster

pytestmark = pytest.mark.asyncio(loop_scope="session")


def set_phase(cluster: Cluster, namespace: str, name: str, phase: str) -> None:
    cluster.kubectl(
        "patch",
        "trainingjob",
        name,
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": {"phase": phase}}),
    )


async def test_list_jobs_filters_pages_and_a_stable_order(
    cluster: Cluster, namespace: str, shim: tuple[str, str]
) -> None:
    base, token = shim
    started = [
        await result(base, token, "training.start_grpo", ["pager", queries()]) for _ in range(5)
    ]
    set_phase(cluster, namespace, started[1]["name"], "Completed")
    set_phase(cluster, namespace, started[3]["name"], "Running")
    deadline = time.monotonic() + 30
    while (await result(base, token, "training.list_jobs", {"status": "running"}))["count"] != 1:
        assert time.monotonic() < deadline, "the watch cache did not see the status changes"
        await asyncio.sleep(0.1)

    everything = await result(base, token, "training.list_jobs", {"agent_id": "pager"})
    order = sorted((job["created_at"], job["job_id"]) for job in everything["jobs"])
    assert [(job["created_at"], job["job_id"]) for job in everything["jobs"]] == order
    assert (everything["count"], everything["total_count"]) == (5, 5)

    pages = [
        await result(base, token, "training.list_jobs", ["pager", None, None, 2, offset])
        for offset in (0, 2, 4, 6)
    ]
    assert [page["count"] for page in pages] == [2, 2, 1, 0]
    assert {page["total_count"] for page in pages} == {5}
    assert [job for page in pages for job in page["jobs"]] == everything["jobs"]

    completed = await result(base, token, "training.list_jobs", {"status": "completed"})
    assert [job["job_id"] for job in completed["jobs"]] == [started[1]["job_id"]]
    some = await result(
        base, token, "training.list_jobs", {"status": ["queued", "running"], "limit": 3}
    )
    assert (some["count"], some["total_count"]) == (3, 4)
    assert {job["status"] for job in some["jobs"]} <= {"queued", "running"}
    none = await result(base, token, "training.list_jobs", {"status": "failed"})
    assert (none["jobs"], none["count"], none["total_count"]) == ([], 0, 0)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": 0}, "Invalid limit"),
        ({"limit": 1001}, "Invalid limit"),
        ({"limit": "many"}, "Invalid limit"),
        ({"offset": -1}, "Invalid offset"),
        ({"status": "done"}, "Invalid status"),
        ({"status": ["running", "paused"]}, "Invalid status"),
        ({"status": []}, "Invalid status"),
    ],
)
async def test_list_jobs_refuses_bad_filters(
    shim: tuple[str, str], params: dict[str, Any], message: str
) -> None:
    base, token = shim
    found = await error(base, token, "training.list_jobs", params)
    assert found["code"] == -32602
    assert found["message"].startswith(message), found["message"]

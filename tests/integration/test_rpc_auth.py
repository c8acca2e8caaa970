"""Authentication and authorization of the JSON-RPC shim with real tokens: ServiceAccount
tokens from TokenRequest, RBAC through the aggregated roles of manifests/rbac/, and locally
verified JWTs (HS256 secret, RS256 JWKS file)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.integration.rpc_support import (
    AUDIENCE,
    error,
    post,
    queries,
    request,
    result,
    running_shim,
    service_account_token,
    wait_until_allowed,
)
from tests.support.cluster import Cluster

pytestmark = pytest.mark.asyncio(loop_scope="session")

ISSUER = "https://issuer.agentcore.test"
SECRET = "a-test-secret-of-at-least-32-bytes-long!"
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks_file(directory: Path) -> Path:
    jwk = json.loads(RSAAlgorithm.to_jwk(RSA_KEY.public_key()))
    jwk |= {"kid": "test-key", "use": "sig", "alg": "RS256"}
    path = directory / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk]}))
    return path


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "alice",
        "groups": ["ml"],
        "iat": now,
        "exp": now + 600,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def hs256(**changes: Any) -> str:
    return jwt.encode(claims(**changes), SECRET, algorithm="HS256")


def rs256(key: rsa.RSAPrivateKey = RSA_KEY, kid: str = "test-key", **changes: Any) -> str:
    return jwt.encode(claims(**changes), key, algorithm="RS256", headers={"kid": kid})


def unsigned(**changes: Any) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims(**changes))}."


@pytest.fixture
async def shim(rbac: Cluster, namespace: str, tmp_path: Path) -> AsyncIterator[str]:
    async with running_shim(
        rbac,
        namespace=namespace,
        jwt_issuer=ISSUER,
        jwt_audiences=[AUDIENCE],
        jwt_hs256_secret=SECRET,
        jwt_jwks_file=jwks_file(tmp_path),
    ) as base:
        yield base


async def test_edit_role_can_start_and_cancel(rbac: Cluster, namespace: str, shim: str) -> None:
    token = service_account_token(rbac, namespace, "edit", wait_for="cancel")
    started = await result(shim, token, "training.start_grpo", ["edit-bot", queries()])
    cancelled = await result(shim, token, "training.cancel", [started["job_id"]])
    assert cancelled["status"] == "cancelled"
    tj = rbac.get_json("trainingjob", started["name"], "-n", namespace)
    assert tj["spec"]["cancel"] is True  # type: ignore[index]


async def test_view_role_reads_but_may_not_write_per_call_in_one_batch(
    rbac: Cluster, namespace: str, shim: str
) -> None:
    editor = service_account_token(rbac, namespace, "agentcore-training-edit", wait_for="cancel")
    viewer = service_account_token(rbac, namespace, "agentcore-training-view", wait_for="list")
    started = await result(shim, editor, "training.start_grpo", ["view-bot", queries()])
    job_id = started["job_id"]
    status, answers = await post(
        shim,
        viewer,
        [
            request("training.start_grpo", ["view-bot", queries()]),
            request("training.get_status", [job_id]),
            request("training.cancel", [job_id]),
            request("training.list_jobs", {"agent_id": "view-bot"}),
        ],
    )
    assert status == 200
    start, get_status, cancel, listed = answers
    assert start["error"]["code"] == -32003
    assert "create" in start["error"]["message"]
    assert get_status["result"]["job_id"] == job_id
    assert cancel["error"]["code"] == -32003
    assert "cancel" in cancel["error"]["message"]
    assert [job["job_id"] for job in listed["result"]["jobs"]] == [job_id]
    tj = rbac.get_json("trainingjob", started["name"], "-n", namespace)
    assert tj["spec"].get("cancel") is not True  # type: ignore[attr-defined]


async def test_a_token_of_another_namespace_sees_nothing_of_this_one(
    rbac: Cluster, namespace: str, shim: str
) -> None:
    editor = service_account_token(rbac, namespace, "edit", wait_for="create")
    started = await result(shim, editor, "training.start_grpo", ["secret-bot", queries()])
    with rbac.namespace("other") as other:
        outsider = service_account_token(rbac, other, "edit", wait_for="create")
        own = await result(
            shim,
            outsider,
            "training.start_grpo",
            {"agent_id": "secret-bot", "training_queries": queries(), "namespace": other},
        )
        for method in ("training.get_status", "training.cancel"):
            found = await error(shim, outsider, method, [started["job_id"]])
            assert found == {"code": -32001, "message": f"Job {started['job_id']} not found"}
        listed = await result(shim, outsider, "training.list_jobs", {"agent_id": "secret-bot"})
        assert [job["job_id"] for job in listed["jobs"]] == [own["job_id"]]
        refused = await error(shim, outsider, "training.list_jobs", {"namespace": namespace})
        assert refused["code"] == -32003
        refused = await error(
            shim, outsider, "training.start_grpo", ["secret-bot", queries(), None, namespace]
        )
        assert refused["code"] == -32003
    tj = rbac.get_json("trainingjob", started["name"], "-n", namespace)
    assert tj["spec"].get("cancel") is not True  # type: ignore[attr-defined]


async def test_local_jwts_map_to_users_that_rbac_knows(
    rbac: Cluster, namespace: str, shim: str
) -> None:
    rbac.kubectl(
        "create",
        "rolebinding",
        "jwt-alice",
        "-n",
        namespace,
        "--clusterrole=agentcore-training-view",
        "--user=jwt:alice",
    )
    wait_until_allowed(rbac, "jwt:alice", "list", namespace)
    for token in (hs256(), rs256()):
        listed = await result(shim, token, "training.list_jobs", {"namespace": namespace})
        assert listed["count"] == 0
    # The group claim maps too: jwt:ml may view, bob has no binding of his own.
    rbac.kubectl(
        "create",
        "rolebinding",
        "jwt-ml",
        "-n",
        namespace,
        "--clusterrole=agentcore-training-view",
        "--group=jwt:ml",
    )
    wait_until_allowed(rbac, "jwt:carol", "list", namespace, groups=("jwt:ml",))
    carol = hs256(sub="carol", groups=["ml"])
    assert (await result(shim, carol, "training.list_jobs", {"namespace": namespace}))["count"] == 0
    bob = hs256(sub="bob", groups=["other"])
    assert (await error(shim, bob, "training.list_jobs", {"namespace": namespace}))[
        "code"
    ] == -32003


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: hs256(exp=int(time.time()) - 60), id="expired"),
        pytest.param(lambda: rs256(exp=int(time.time()) - 60), id="expired-rs256"),
        pytest.param(lambda: hs256(aud="someone-else"), id="wrong-audience"),
        pytest.param(lambda: rs256(aud="someone-else"), id="wrong-audience-rs256"),
        pytest.param(
            lambda: jwt.encode(claims(), "another-secret-of-32-bytes-or-more!", algorithm="HS256"),
            id="wrong-signature",
        ),
        pytest.param(lambda: rs256(key=OTHER_RSA_KEY), id="wrong-signature-rs256"),
        pytest.param(lambda: rs256(kid="unknown-kid"), id="unknown-kid"),
        pytest.param(lambda: unsigned(), id="alg-none"),
        pytest.param(lambda: hs256(nbf=int(time.time()) + 600), id="not-yet-valid"),
        pytest.param(lambda: hs256(exp=None), id="no-expiry"),
        pytest.param(lambda: hs256(sub=None), id="no-username"),
        pytest.param(lambda: hs256(iss="https://elsewhere.test"), id="other-issuer"),
        pytest.param(lambda: "garbage", id="garbage"),
        pytest.param(lambda: "a.b.c", id="garbage-jwt"),
        pytest.param(lambda: None, id="no-token"),
    ],
)
async def test_bad_credentials_get_401(shim: str, token: Any) -> None:
    status, answer = await post(shim, token(), request("training.list_jobs"))
    assert status == 401
    assert answer["error"]["code"] == -32000


async def test_a_token_for_another_audience_gets_401(
    rbac: Cluster, namespace: str, shim: str
) -> None:
    token = service_account_token(rbac, namespace, "view", wait_for="list", audience="elsewhere")
    status, _ = await post(shim, token, request("training.list_jobs"))
    assert status == 401

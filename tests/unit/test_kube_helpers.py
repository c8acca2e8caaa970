"""The pure Kubernetes helpers: resourceVersion order, RFC 3339, backoff, list items."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from agentcore_training.api.timestamps import parse_rfc3339, rfc3339
from agentcore_training.controller.state import ClusterState
from agentcore_training.kube.versions import compare_versions, is_newer, newer_than_list
from agentcore_training.kube.watch import Backoff, items_of


def _obj(version: str) -> dict[str, object]:
    return {"metadata": {"uid": "u", "name": "n", "resourceVersion": version}}


@pytest.mark.parametrize(
    ("a", "b", "order"),
    [
        ("10", "9", 1),  # numerically, not as strings ("10" < "9")
        ("9", "10", -1),
        ("42", "42", 0),
        ("abc", "abc", 0),  # equal opaque versions are the same object
        ("abc", "12", None),
        ("12", "abc", None),
        ("", "12", None),
        ("١٢", "3", None),  # Arabic-Indic digits are not an etcd revision
    ],
)
def test_versions_compare_as_integers_or_not_at_all(a: str, b: str, order: int | None) -> None:
    assert compare_versions(a, b) == order


def test_an_unknown_order_lets_the_candidate_win() -> None:
    assert is_newer(_obj("10"), _obj("9"))
    assert not is_newer(_obj("9"), _obj("10"))
    assert is_newer(_obj("7"), _obj("7"))
    assert is_newer(_obj("opaque"), _obj("10"))
    assert is_newer(_obj("10"), _obj("opaque"))
    assert is_newer(_obj("1"), None)


def test_newer_than_list_only_when_known() -> None:
    assert newer_than_list(_obj("11"), "10")
    assert not newer_than_list(_obj("10"), "10")
    assert not newer_than_list(_obj("opaque"), "10")
    assert not newer_than_list(_obj("11"), "")


def test_the_operator_state_takes_opaque_versions() -> None:
    # It used to read an opaque version as -1, so it kept the numeric one held for ever.
    state = ClusterState()
    state.put_trainingjob(_obj("10"))
    state.put_trainingjob({**_obj("opaque"), "spec": {"seen": True}})
    assert state.trainingjobs["u"].get("spec") == {"seen": True}
    state.put_trainingjob(_obj("20"))
    state.put_trainingjob({**_obj("9"), "spec": {"old": True}})
    assert state.trainingjobs["u"]["metadata"]["resourceVersion"] == "20"


def test_rfc3339_is_utc_with_second_precision() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    assert rfc3339(moment) == "2026-01-02T03:04:05Z"
    plus_two = timezone(timedelta(hours=2))
    assert rfc3339(datetime(2026, 1, 2, 5, 4, 5, tzinfo=plus_two)) == "2026-01-02T03:04:05Z"
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"  # naive: UTC
    assert parse_rfc3339(rfc3339(moment)) == moment.replace(microsecond=0)
    assert parse_rfc3339("2026-01-02T05:04:05.5+02:00") == moment.replace(microsecond=500000)
    now = parse_rfc3339(rfc3339())
    assert abs((datetime.now(UTC) - now).total_seconds()) < 5


def test_backoff_doubles_to_its_maximum_with_jitter_and_resets() -> None:
    draws = iter([0.0, 1.0, 0.5, 0.0, 0.0, 0.0])
    backoff = Backoff(first=1.0, maximum=4.0, jitter=0.5, rng=lambda: next(draws))
    assert [backoff.next() for _ in range(5)] == [1.0, 3.0, 5.0, 4.0, 4.0]
    backoff.reset()
    assert backoff.next() == 1.0


def test_list_items_get_the_kind_lists_leave_out() -> None:
    answer = {
        "apiVersion": "v1",
        "kind": "PodList",
        "items": [{"metadata": {"name": "a"}}, {"kind": "Pod", "metadata": {"name": "b"}}],
    }
    assert items_of(answer) == [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "b"}},
    ]
    assert items_of({"items": None}) == []


def test_the_models_api_version_literal_is_api_version() -> None:
    # A Literal must be spelled out for mypy; this keeps it equal to the one constant.
    from typing import get_args

    from agentcore_training.api.resource import API_VERSION, TrainingJob

    assert get_args(TrainingJob.model_fields["api_version"].annotation) == (API_VERSION,)
    assert TrainingJob.model_fields["api_version"].default == API_VERSION


def test_warning_headers_are_read_as_kubectl_prints_them() -> None:
    from agentcore_training.kube.client import warnings_of

    assert warnings_of(
        [
            '299 - "spec.output.merge is true but the policy has no LoRA"',
            '299 - "a \\"quoted\\" word, and a back\\\\slash"',
            "not in the RFC form",
        ]
    ) == [
        "spec.output.merge is true but the policy has no LoRA",
        'a "quoted" word, and a back\\slash',
        "not in the RFC form",
    ]

"""bench/quiet.py: what counts as a quiet control plane, read from Prometheus text."""

from __future__ import annotations

from bench.quiet import _idle, metric_sum

METRICS = """\
# HELP workqueue_depth Current depth of workqueue
workqueue_depth{name="job"} 3
workqueue_depth{name="garbage_collector_attempt_to_delete"} 0
workqueue_depth{name="namespace"} 1
workqueue_depth_other 9
apiserver_current_inflight_requests{request_kind="mutating"} 2
apiserver_current_inflight_requests{request_kind="readOnly"} 1
"""

IDLE = {
    "terminating_namespaces": 0,
    "pods": 0,
    "kcm_queue_depth": 0.0,
    "apiserver_queue_depth": 0.0,
    "apiserver_mutating_inflight": 0.0,
    "operator_reconciles": 7.0,
}


def test_metric_sum_adds_the_samples_of_one_metric_only() -> None:
    assert metric_sum(METRICS, "workqueue_depth") == 4
    assert metric_sum(METRICS, "workqueue_depth", name="job") == 3
    assert metric_sum(METRICS, "apiserver_current_inflight_requests", request_kind="mutating") == 2
    assert metric_sum(METRICS, "absent") == 0


def test_quiet_needs_two_idle_snapshots_in_a_row() -> None:
    assert not _idle(IDLE, None)
    assert _idle(IDLE, dict(IDLE))


def test_any_work_or_a_moving_operator_is_not_quiet() -> None:
    for key, busy in (
        ("pods", 1),
        ("terminating_namespaces", 1),
        ("kcm_queue_depth", 2.0),
        ("apiserver_queue_depth", 1.0),
        ("apiserver_mutating_inflight", 1.0),
        ("operator_reconciles", 8.0),
    ):
        assert not _idle({**IDLE, key: busy}, dict(IDLE)), key
        if key != "operator_reconciles":
            assert not _idle(dict(IDLE), {**IDLE, key: busy}), key

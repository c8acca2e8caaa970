"""The command-line client's pure parts and its pictures: config pairs, queries files,
progress bar, sparkline, block chart, table, and the PNG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agentcore_training.rpc import render
from agentcore_training.rpc.cli import CliError, parse_config, parser, read_queries
from agentcore_training.rpc.schemas import SPEC_SECTIONS


def test_config_pairs_are_json_when_they_parse() -> None:
    assert parse_config(["n_iterations=20", "max_budget_usd=2.50", "learning_rate=1e-4"]) == {
        "n_iterations": 20,
        "max_budget_usd": 2.5,
        "learning_rate": 0.0001,
    }
    assert parse_config(['max_budget_usd="2.50"', "name=plain"]) == {
        "max_budget_usd": "2.50",
        "name": "plain",
    }
    with pytest.raises(CliError):
        parse_config(["oops"])


def test_queries_from_json_lines_or_a_list(tmp_path: Path) -> None:
    items = [{"query": f"q{i}", "expected_outcome": {"answer": i}} for i in range(3)]
    lines = tmp_path / "q.jsonl"
    lines.write_text("\n".join(json.dumps(i) for i in items) + "\n\n")
    listed = tmp_path / "q.json"
    listed.write_text(json.dumps(items))
    assert read_queries(lines) == items
    assert read_queries(listed) == items
    with pytest.raises(CliError):
        read_queries(tmp_path / "missing.jsonl")


def test_the_four_commands_parse() -> None:
    args = parser().parse_args(
        ["start", "--agent-id", "bot", "--queries", "q.jsonl", "--config", "a=1"]
    )
    assert (args.command, args.agent_id, args.config) == ("start", "bot", ["a=1"])
    args = parser().parse_args(["-n", "team-a", "status", "abc", "--watch", "--png", "r.png"])
    assert (args.command, args.watch, args.png, args.namespace) == (
        "status",
        True,
        Path("r.png"),
        "team-a",
    )
    assert parser().parse_args(["list", "--agent-id", "bot"]).agent_id == "bot"
    assert parser().parse_args(["cancel", "abc"]).job_id == "abc"


def test_bar_and_sparkline() -> None:
    assert render.bar(0, 10) == " " * 10
    assert render.bar(1, 10) == "█" * 10
    assert render.bar(0.5, 10) == "█" * 5 + " " * 5
    assert len(render.bar(0.33, 10)) == 10
    assert render.sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert render.sparkline([]) == ""
    assert render.sparkline([1, 1, 1]) == "▅▅▅"
    assert len(render.sparkline(list(range(500)), width=40)) == 40


def test_block_chart_and_status_line() -> None:
    rows = render.block_chart([0.0, 0.5, 1.0], height=4)
    assert len(rows) == 5
    assert rows[0].startswith("   1.000 ┤")
    assert rows[-1].startswith("         └")
    assert rows[0].endswith("█")
    status = {
        "status": "running",
        "progress": {"current_iteration": 5, "total_iterations": 20, "percent_complete": 25},
        "metrics": {"avg_reward": 0.5},
        "cost": {"cost_usd": 0.4, "budget_usd": 2.5},
        "history": {"iterations": [1, 2, 3], "avg_reward": [0.1, 0.2, 0.5]},
        "job_id": "u",
        "agent_id": "bot",
    }
    line = render.status_line(status)
    assert "iteration 5/20" in line
    assert "25%" in line
    assert "reward 0.500" in line
    assert "$0.40 / $2.50" in line
    described = "\n".join(render.describe(status))
    assert "▁" in described


def test_jobs_table() -> None:
    table = render.jobs_table(
        [
            {
                "job_id": "u1",
                "agent_id": "bot",
                "status": "queued",
                "current_iteration": 0,
                "total_iterations": 10,
                "namespace": "ns",
                "name": "bot-x",
            }
        ]
    )
    header, row = table.splitlines()
    assert header.split() == ["JOB", "ID", "AGENT", "STATUS", "PROGRESS", "NAMESPACE", "NAME"]
    assert row.split() == ["u1", "bot", "queued", "0/10", "ns", "bot-x"]


def test_reward_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from agentcore_training.rpc.plot import reward_png

    path = reward_png(tmp_path / "reward.png", [1, 2, 3], [0.1, 0.4, 0.3], "bot")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_spec_section_of_start_grpo_has_a_flag() -> None:
    args = parser().parse_args(
        ["start", "--agent-id", "b", "--queries", "q", "--evaluation", "held_out_fraction=0.25"]
    )
    assert {section: getattr(args, section) for section in SPEC_SECTIONS} == {
        "config": [],
        "policy": [],
        "reward": [],
        "pricing": [],
        "environment": [],
        "evaluation": ["held_out_fraction=0.25"],
    }
    evaluate = parser().parse_args(["evaluate", "abc", "--checkpoint", "ckpt-000010"])
    assert (evaluate.command, evaluate.job_id, evaluate.checkpoint) == (
        "evaluate",
        "abc",
        "ckpt-000010",
    )


def _record(iteration: int, rate: float, p_value: float | None) -> dict[str, Any]:
    comparison = None
    if p_value is not None:
        comparison = {
            "success_rate_improvement": rate - 0.2,
            "avg_reward_improvement": rate - 0.2,
            "p_value": p_value,
            "statistically_significant": p_value < 0.05,
        }
    return {
        "iteration": iteration,
        "checkpoint_id": f"ckpt-{iteration:06d}",
        "metrics": {"success_rate": rate, "mean_reward": rate},
        "comparison": comparison,
        "queries_evaluated": 25,
    }


def test_start_prints_the_job_and_the_apiservers_warnings() -> None:
    result = {
        "job_id": "j",
        "namespace": "team-a",
        "name": "bot-abcde",
        "total_iterations": 10,
        "budget_usd": 2.5,
        "warnings": ["spec.output.merge is true but the policy has no LoRA"],
    }
    assert render.started_lines(result) == [
        "started job j (team-a/bot-abcde): 10 iterations, budget $2.50",
        "Warning: spec.output.merge is true but the policy has no LoRA",
    ]
    assert len(render.started_lines({**result, "warnings": []})) == 1


def test_status_prints_the_baseline_comparison() -> None:
    evaluation = {
        "baseline": _record(0, 0.2, None),
        "best": _record(10, 0.8, 0.00195),
        "latest": _record(20, 0.6, 0.07),
        "history": {"iterations": [0, 10, 20], "success_rate": [0.2, 0.8, 0.6]},
    }
    lines = render.describe({"status": "running", "evaluation": evaluation})
    assert "held-out success  ▁█▆" in lines
    assert (
        "held-out best (ckpt-000010, iteration 10): success 20.0 % -> 80.0 % on 25 queries; "
        "success +60.0 points, reward +0.600 vs the baseline; p = 0.00195, significant at 0.05"
    ) in lines
    assert any(
        line.startswith("held-out latest (ckpt-000020") and line.endswith("not significant at 0.05")
        for line in lines
    )
    off = render.describe({"evaluation": {"message": "evaluation is off"}})
    assert "held-out evaluation: evaluation is off" in off


def test_evaluate_prints_the_result() -> None:
    lines = render.evaluate_lines(
        {
            "job_id": "u1",
            "namespace": "ns",
            "name": "bot-x",
            "checkpoint_id": "ckpt-000010",
            "iteration": 10,
            "best": True,
            "queries_evaluated": 25,
            "evaluation_duration_ms": 120,
            "metrics": {"success_rate": 0.8, "mean_reward": 0.8, "mean_steps": 1.0},
            "baseline_metrics": {"success_rate": 0.2, "mean_reward": 0.2},
            "baseline_comparison": _record(10, 0.8, 0.00195)["comparison"],
        }
    )
    assert lines[1:] == [
        "evaluation of ckpt-000010 (the best) at iteration 10: 25 held-out queries in 120 ms",
        "success rate  20.0 % (baseline) -> 80.0 %",
        "mean reward   0.2 (baseline) -> 0.8",
        "success +60.0 points, reward +0.600 vs the baseline; p = 0.00195, significant at 0.05",
        "metrics mean_steps=1",
    ]


def test_the_png_draws_the_held_out_success_rate_beside_the_reward(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from agentcore_training.rpc.plot import reward_figure, reward_png

    figure = reward_figure([1, 2, 3], [0.1, 0.4, 0.3], "bot", ([0, 3], [0.2, 0.7]))
    try:
        reward_axes, success_axes = figure.axes
        [reward_line] = reward_axes.get_lines()
        [success_line] = success_axes.get_lines()
        assert list(reward_line.get_ydata()) == [0.1, 0.4, 0.3]
        assert (list(success_line.get_xdata()), list(success_line.get_ydata())) == (
            [0, 3],
            [0.2, 0.7],
        )
        assert success_axes.get_ylim() == (0, 1)
        assert success_axes.get_ylabel() == "held-out success rate"
    finally:
        plt.close(figure)
    only_reward = reward_figure([1, 2], [0.1, 0.2], "bot")
    assert len(only_reward.axes) == 1
    plt.close(only_reward)
    path = reward_png(tmp_path / "r.png", [1, 2], [0.1, 0.2], "bot", ([0, 2], [0.1, 0.5]))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_json_output_keeps_the_digits_of_money() -> None:
    import io
    from decimal import Decimal

    from agentcore_training.rpc.cli import _print_json

    answer = json.loads('{"budget_usd": 10.00, "cost_usd": 0.00012345}', parse_float=Decimal)
    out = io.StringIO()
    _print_json(answer, out)
    assert out.getvalue() == '{\n  "budget_usd": 10.00,\n  "cost_usd": 0.00012345\n}\n'

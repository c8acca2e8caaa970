"""The command-line client's pure parts and its pictures: config pairs, queries files,
progress bar, sparkline, block chart, table, and the PNG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentcore_training.rpc import render
from agentcore_training.rpc.cli import CliError, parse_config, parser, read_queries


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

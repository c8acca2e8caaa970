"""Terminal pictures of a job (pure): progress bar, reward sparkline and block chart, tables."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

SPARKS = "▁▂▃▄▅▆▇█"
EIGHTHS = " ▏▎▍▌▋▊▉█"
BLOCKS = " ▁▂▃▄▅▆▇█"


def _resample(values: Sequence[float], width: int) -> list[float]:
    """At most `width` values: the mean of each of `width` equal slices."""
    if len(values) <= width:
        return list(values)
    out = []
    for i in range(width):
        lo, hi = i * len(values) // width, (i + 1) * len(values) // width
        chunk = values[lo : max(hi, lo + 1)]
        out.append(sum(chunk) / len(chunk))
    return out


def sparkline(values: Sequence[float], width: int = 60) -> str:
    """One line of ▁..█, one character per point (resampled to at most `width`)."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    points = _resample(finite, width)
    low, high = min(points), max(points)
    span = high - low
    if span == 0:
        return SPARKS[len(SPARKS) // 2] * len(points)
    return "".join(SPARKS[min(7, int((v - low) / span * 8))] for v in points)


def block_chart(values: Sequence[float], height: int = 8, width: int = 60) -> list[str]:
    """Rows of a bar chart (top row first) with the axis values at the left."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return []
    points = _resample(finite, width)
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    levels = [(v - low) / span * height * 8 for v in points]  # in eighths of a row
    rows = []
    for row in range(height, 0, -1):
        base = (row - 1) * 8
        cells = "".join(BLOCKS[max(0, min(8, round(level - base)))] for level in levels)
        label = (
            f"{high:8.3f} ┤" if row == height else (f"{low:8.3f} ┤" if row == 1 else "         │")
        )
        rows.append(label + cells)
    rows.append("         └" + "─" * len(points))
    return rows


def bar(fraction: float, width: int = 30) -> str:
    """A progress bar of `width` cells with eighth-cell resolution."""
    fraction = min(1.0, max(0.0, fraction))
    eighths = round(fraction * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (EIGHTHS[part] if part else "")
    return text + " " * (width - len(text))


def status_line(status: Mapping[str, Any], width: int = 30) -> str:
    """iteration, percent, reward and cost vs budget of a get_status result, on one line."""
    progress = status.get("progress") or {}
    cost = status.get("cost") or {}
    metrics = status.get("metrics") or {}
    current = int(progress.get("current_iteration", 0))
    total = int(progress.get("total_iterations", 0))
    percent = int(progress.get("percent_complete", 0))
    reward = metrics.get("avg_reward")
    reward_text = f"reward {reward:.3f}" if isinstance(reward, int | float) else "reward -"
    return (
        f"{status.get('status', '?'):<9} iteration {current}/{total} │{bar(percent / 100, width)}│ "
        f"{percent:3d}%  {reward_text}  cost ${usd(cost.get('cost_usd', 0))} / "
        f"${usd(cost.get('budget_usd', '?'))}"
    )


def usd(amount: Any) -> str:
    """An amount of a result (a JSON number) as dollars and at least whole cents: 5.0 -> 5.00."""
    text = repr(amount) if isinstance(amount, float) else str(amount)
    whole, dot, cents = text.partition(".")
    if not whole.isdigit() or (dot and not cents.isdigit()):
        return text
    return f"{whole}.{cents.ljust(2, '0')}"


def started_lines(result: Mapping[str, Any]) -> list[str]:
    """start_grpo's result; the apiserver's warnings as kubectl prints them."""
    first = (
        f"started job {result['job_id']} ({result['namespace']}/{result['name']}): "
        f"{result['total_iterations']} iterations, budget ${usd(result['budget_usd'])}"
    )
    return [first, *(f"Warning: {warning}" for warning in result.get("warnings", []))]


def describe(status: Mapping[str, Any]) -> list[str]:
    """A get_status result for people: status line, reward curve, the rest."""
    lines = [
        f"job {status.get('job_id')}  ({status.get('namespace')}/{status.get('name')})",
        f"agent {status.get('agent_id')}",
        status_line(status),
    ]
    history = status.get("history") or {}
    rewards = [float(r) for r in history.get("avg_reward") or []]
    if rewards:
        lines.append(f"reward  {sparkline(rewards)}  ({rewards[0]:.3f} → {rewards[-1]:.3f})")
        lines.extend(block_chart(rewards))
    metrics = status.get("metrics") or {}
    if metrics:
        lines.append("metrics " + "  ".join(f"{k}={_num(v)}" for k, v in sorted(metrics.items())))
    lines.extend(evaluation_lines(status.get("evaluation") or {}))
    if status.get("best_checkpoint_id"):
        lines.append(f"best checkpoint {status['best_checkpoint_id']}")
    if status.get("output"):
        lines.append(output_line(status["output"]))
    if status.get("message"):
        lines.append(str(status["message"]))
    return lines


def output_line(output: Mapping[str, Any]) -> str:
    """get_status's output section: where the trained model is, or why it is not kept."""
    if not output.get("kept"):
        return f"output: {output.get('message') or 'not kept'}"
    folders = [
        f"{role} {model.get('folder')} ({model.get('checkpoint_id')})"
        for role in ("final", "best")
        if (model := output.get(role) or {})
    ]
    return (
        f"output: PVC {output.get('claim_name')}, {', '.join(folders)}, "
        f"{output.get('format')} weights; manifest {output.get('manifest')}"
    )


def percent(rate: Any) -> str:
    return f"{100 * float(rate):.1f} %" if isinstance(rate, int | float) else "-"


def comparison_text(comparison: Mapping[str, Any] | None) -> str:
    """A baseline comparison on one line: the gains, the p-value and its verdict."""
    if not comparison:
        return "the baseline itself"
    p_value = comparison.get("p_value")
    if p_value is None:
        test = "no test kept (an evaluation on the curve only)"
    else:
        significant = comparison.get("statistically_significant")
        verdict = "significant" if significant else "not significant"
        test = f"p = {p_value:.3g}, {verdict} at 0.05"
    gain = 100 * float(comparison.get("success_rate_improvement", 0))
    reward = float(comparison.get("avg_reward_improvement", 0))
    return f"success {gain:+.1f} points, reward {reward:+.3f} vs the baseline; {test}"


def evaluation_lines(evaluation: Mapping[str, Any]) -> list[str]:
    """get_status's evaluation section: the held-out curve and the best against the baseline."""
    baseline = evaluation.get("baseline")
    if not baseline:
        message = evaluation.get("message")
        return [f"held-out evaluation: {message}"] if message else []
    lines = []
    curve = (evaluation.get("history") or {}).get("success_rate") or []
    if len(curve) > 1:
        lines.append(f"held-out success  {sparkline([float(r) for r in curve])}")
    for label in ("best", "latest"):
        record = evaluation.get(label)
        if not record or (label == "latest" and record == evaluation.get("best")):
            continue
        before, after = baseline["metrics"]["success_rate"], record["metrics"]["success_rate"]
        lines.append(
            f"held-out {label} ({record.get('checkpoint_id')}, iteration "
            f"{record.get('iteration')}): success {percent(before)} -> {percent(after)} on "
            f"{record.get('queries_evaluated')} queries; "
            + comparison_text(record.get("comparison"))
        )
    if evaluation.get("message"):
        lines.append(f"held-out evaluation: {evaluation['message']}")
    return lines


def evaluate_lines(result: Mapping[str, Any]) -> list[str]:
    """A training.evaluate result for people."""
    metrics = result.get("metrics") or {}
    baseline = result.get("baseline_metrics") or {}
    best = " (the best)" if result.get("best") else ""
    duration = result.get("evaluation_duration_ms")
    took = f" in {duration} ms" if duration is not None else ""
    lines = [
        f"job {result.get('job_id')}  ({result.get('namespace')}/{result.get('name')})",
        f"evaluation of {result.get('checkpoint_id')}{best} at iteration "
        f"{result.get('iteration')}: {result.get('queries_evaluated')} held-out queries{took}",
        f"success rate  {percent(baseline.get('success_rate'))} (baseline) -> "
        f"{percent(metrics.get('success_rate'))}",
        f"mean reward   {_num(baseline.get('mean_reward'))} (baseline) -> "
        f"{_num(metrics.get('mean_reward'))}",
        comparison_text(result.get("baseline_comparison")),
    ]
    shown = sorted(
        (k, v)
        for k, v in metrics.items()
        if k not in ("success_rate", "mean_reward") and v is not None
    )
    if shown:
        lines.append("metrics " + "  ".join(f"{k}={_num(v)}" for k, v in shown))
    return lines


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def jobs_table(jobs: Sequence[Mapping[str, Any]]) -> str:
    """list_jobs results as an aligned table."""
    header = ("JOB ID", "AGENT", "STATUS", "PROGRESS", "NAMESPACE", "NAME")
    rows = [
        (
            str(job.get("job_id", "")),
            str(job.get("agent_id", "")),
            str(job.get("status", "")),
            f"{job.get('current_iteration', 0)}/{job.get('total_iterations', 0)}",
            str(job.get("namespace", "")),
            str(job.get("name", "")),
        )
        for job in jobs
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    )

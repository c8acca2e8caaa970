"""`agentcore-rpc-client`: the methods from a terminal.

  agentcore-rpc-client start --agent-id support-bot --queries queries.jsonl --config n_iterations=20
      [--output models[:support-bot/v1] [--merge]]
  agentcore-rpc-client status JOB_ID [--watch] [--png reward.png]
  agentcore-rpc-client list [--agent-id support-bot]
  agentcore-rpc-client cancel JOB_ID
  agentcore-rpc-client evaluate JOB_ID [--checkpoint ckpt-000010]

The URL and token come from --url/--token (or --token-file), else AGENTCORE_RPC_URL and
AGENTCORE_RPC_TOKEN. --json prints the raw result.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import aiohttp

from agentcore_training.rpc import protocol, render
from agentcore_training.rpc.schemas import FINISHED_STATUSES, SPEC_SECTIONS

DEFAULT_URL = "http://127.0.0.1:8080/jsonrpc"


class CliError(Exception):
    """Something to tell the user before exiting with status 1."""


def parse_config(pairs: Sequence[str], flag: str = "--config") -> dict[str, Any]:
    """k=v pairs as a config object; values are JSON when they parse, else strings."""
    config: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise CliError(f"{flag} takes key=value, got {pair!r}")
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        config[key.strip()] = value
    return config


def parse_output(value: str | None, merge: bool) -> dict[str, Any] | None:
    """--output PVC[:PATH] (and --merge) as start_grpo's output param; no PATH: the shim
    names the folder after the job."""
    if value is None:
        if merge:
            raise CliError("--merge needs --output PVC[:PATH]")
        return None
    claim, _, path = value.partition(":")
    if not claim:
        raise CliError(f"--output takes PVC or PVC:PATH, got {value!r}")
    output: dict[str, Any] = {"claim_name": claim}
    if path:
        output["path"] = path
    if merge:
        output["merge"] = True
    return output


def read_queries(path: Path) -> list[Any]:
    """Queries from JSON lines, or from one JSON list."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(f"cannot read {path}: {error.strerror}") from None
    try:
        if text.lstrip().startswith("["):
            loaded: list[Any] = json.loads(text)
            return loaded
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as error:
        raise CliError(f"{path} is not JSON lines or a JSON list: {error}") from None


class Client:
    """JSON-RPC calls over HTTP with a bearer token."""

    def __init__(self, session: aiohttp.ClientSession, url: str, token: str | None) -> None:
        self._session = session
        self._url = url
        self._token = token
        self._ids = itertools.count(1)

    async def call(
        self, method: str, params: dict[str, Any], *, exact: bool = False
    ) -> dict[str, Any]:
        """The result; with `exact`, numbers with a fraction are Decimals with the digits sent
        (money is a JSON number written from the ledger's Decimal), else floats."""
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = {"jsonrpc": "2.0", "method": method, "params": params, "id": next(self._ids)}
        try:
            async with self._session.post(self._url, json=body, headers=headers) as response:
                text = await response.text()
                status = response.status
        except aiohttp.ClientError as error:
            raise CliError(f"cannot reach {self._url}: {error}") from None
        try:
            answer = json.loads(text, parse_float=Decimal if exact else float) if text else {}
        except json.JSONDecodeError:
            raise CliError(f"HTTP {status}: {text[:200]}") from None
        if "error" in answer:
            problem = answer["error"]
            raise CliError(f"error {problem.get('code')}: {problem.get('message')}")
        if status != 200 or "result" not in answer:
            raise CliError(f"HTTP {status}: {text[:200]}")
        result: dict[str, Any] = answer["result"]
        return result


def _print_json(value: Any, out: TextIO) -> None:
    """Indented JSON; Decimals (from an exact call) keep their digits: 0.50 stays 0.50."""
    out.write(protocol.dumps(value, indent=2).decode() + "\n")


async def _watch(
    client: Client, params: dict[str, Any], interval: float, out: TextIO
) -> dict[str, Any]:
    """Redraw the status line until the job finishes; the last status."""
    live = out.isatty()
    last = ""
    while True:
        status = await client.call("training.get_status", params)
        line = render.status_line(status)
        if live:
            out.write("\r\033[K" + line)
            out.flush()
        elif line != last:
            out.write(line + "\n")
        last = line
        if status.get("status") in FINISHED_STATUSES:
            if live:
                out.write("\n")
            return status
        await asyncio.sleep(interval)


def start_params(args: argparse.Namespace) -> dict[str, Any]:
    """training.start_grpo's params from the `start` command's arguments."""
    params: dict[str, Any] = {
        "agent_id": args.agent_id,
        "training_queries": read_queries(args.queries),
    }
    if args.namespace:
        params["namespace"] = args.namespace
    for section in SPEC_SECTIONS:
        pairs = getattr(args, section)
        if pairs:
            params[section] = parse_config(pairs, f"--{section}")
    output = parse_output(args.output, args.merge)
    if output is not None:
        params["output"] = output
    return params


async def run(args: argparse.Namespace, out: TextIO) -> int:
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        client = Client(session, args.url, _token(args))
        namespace = {"namespace": args.namespace} if args.namespace else {}
        if args.command == "start":
            params: dict[str, Any] = start_params(args)
            result = await client.call("training.start_grpo", params, exact=args.json)
            if args.json:
                _print_json(result, out)
            else:
                out.writelines(line + "\n" for line in render.started_lines(result))
        elif args.command == "status":
            params = {"job_id": args.job_id, **namespace}
            if args.watch:
                result = await _watch(client, params, args.interval, out)
            if not args.watch or args.json:
                result = await client.call("training.get_status", params, exact=args.json)
            if args.json:
                _print_json(result, out)
            else:
                out.write("\n".join(render.describe(result)) + "\n")
            if args.png is not None:
                _png(result, args.png)
                out.write(f"reward curve written to {args.png}\n")
        elif args.command == "list":
            params = {**namespace}
            if args.agent_id:
                params["agent_id"] = args.agent_id
            result = await client.call("training.list_jobs", params, exact=args.json)
            if args.json:
                _print_json(result, out)
            else:
                out.write(render.jobs_table(result["jobs"]) + "\n")
        elif args.command == "evaluate":
            params = {"job_id": args.job_id, **namespace}
            if args.checkpoint:
                params["checkpoint_id"] = args.checkpoint
            result = await client.call("training.evaluate", params, exact=args.json)
            if args.json:
                _print_json(result, out)
            else:
                out.write("\n".join(render.evaluate_lines(result)) + "\n")
        else:
            params = {"job_id": args.job_id, **namespace}
            result = await client.call("training.cancel", params, exact=args.json)
            if args.json:
                _print_json(result, out)
            else:
                out.write(
                    f"cancel of job {result['job_id']} recorded at {result['cancelled_at']}\n"
                )
    return 0


def _png(status: dict[str, Any], path: Path) -> None:
    from agentcore_training.rpc.plot import reward_png

    history = status.get("history") or {}
    iterations = history.get("iterations") or []
    rewards = [float(r) for r in history.get("avg_reward") or []]
    if not rewards:
        raise CliError("no reward curve yet: the job has not reported an iteration")
    curve = (status.get("evaluation") or {}).get("history") or {}
    held_out = (curve.get("iterations") or [], [float(r) for r in curve.get("success_rate") or []])
    title = f"{status.get('agent_id')} — job {status.get('name')}"
    reward_png(path, iterations, rewards, title, held_out if held_out[0] else None)


def _token(args: argparse.Namespace) -> str | None:
    if args.token_file is not None:
        return Path(args.token_file).read_text(encoding="utf-8").strip()
    token: str | None = args.token or os.environ.get("AGENTCORE_RPC_TOKEN")
    return token


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="agentcore-rpc-client", description="Call the agentcore-training JSON-RPC shim."
    )
    top.add_argument("--url", default=os.environ.get("AGENTCORE_RPC_URL", DEFAULT_URL))
    top.add_argument("--token", help="bearer token (default: $AGENTCORE_RPC_TOKEN)")
    top.add_argument("--token-file", help="file holding the bearer token")
    top.add_argument("--namespace", "-n", help="namespace of the job(s)")
    top.add_argument("--json", action="store_true", help="print the raw JSON result")
    commands = top.add_subparsers(dest="command", required=True)
    start = commands.add_parser("start", help="training.start_grpo")
    start.add_argument("--agent-id", required=True)
    start.add_argument("--queries", required=True, type=Path, help="JSON lines or a JSON list")
    start.add_argument(
        "--config", action="append", default=[], metavar="KEY=VALUE", help="a GRPO config field"
    )
    for section, example in (
        ("policy", "warm_start_steps=200"),
        ("reward", "type=numeric"),
        ("pricing", "usd_per_1k_completion_tokens=0.002"),
        ("environment", "type=calculator"),
        ("evaluation", "held_out_fraction=0.25"),
    ):
        start.add_argument(
            f"--{section}",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help=f"a spec.{section} field in snake_case, e.g. {example}",
        )
    start.add_argument(
        "--output",
        metavar="PVC[:PATH]",
        help="keep the trained model in this PersistentVolumeClaim, in folder PATH "
        "(default: the job's name)",
    )
    start.add_argument(
        "--merge", action="store_true", help="with a LoRA policy: also write merged weights"
    )
    status = commands.add_parser("status", help="training.get_status")
    status.add_argument("job_id")
    status.add_argument("--watch", "-w", action="store_true", help="follow until it finishes")
    status.add_argument("--interval", type=float, default=2.0, help="seconds between polls")
    status.add_argument("--png", type=Path, help="also draw the reward curve to this PNG")
    listing = commands.add_parser("list", help="training.list_jobs")
    listing.add_argument("--agent-id")
    cancel = commands.add_parser("cancel", help="training.cancel")
    cancel.add_argument("job_id")
    evaluate = commands.add_parser("evaluate", help="training.evaluate")
    evaluate.add_argument("job_id")
    evaluate.add_argument("--checkpoint", help="a checkpoint id (default: the latest evaluation)")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return asyncio.run(run(args, sys.stdout))
    except CliError as error:
        print(f"agentcore-rpc-client: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

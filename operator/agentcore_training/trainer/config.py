"""The trainer's inputs: CLI flags with environment-variable fallbacks, and the spec."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agentcore_training.api.contract import (
    ENV_CHECKPOINT_DIR,
    ENV_INNER_EPOCHS,
    ENV_JOB_ID,
    ENV_MICRO_BATCH_SIZE,
    ENV_POD_NAME,
    ENV_PROGRESS_CA_FILE,
    ENV_PROGRESS_CA_PEM,
    ENV_PROGRESS_INTERVAL,
    ENV_PROGRESS_URL,
    ENV_QUERIES_FILE,
    ENV_SPEC,
    ENV_SPEC_FILE,
    ENV_TERMINATION_LOG,
    ENV_TOKEN_FILE,
    EXIT_CODES,
)
from agentcore_training.api.contract import TERMINATION_LOG as DEFAULT_TERMINATION_LOG
from agentcore_training.api.spec import TrainingJobSpec
from agentcore_training.trainer.errors import BadInputError


@dataclass(frozen=True)
class TrainerOptions:
    """Everything the trainer was told, resolved from flags, then env, then defaults."""

    spec: TrainingJobSpec
    queries_file: Path
    checkpoint_dir: Path
    progress_url: str | None = None
    token_file: Path | None = None
    ca_file: Path | None = None
    ca_pem: str | None = None
    job_id: str | None = None
    pod_name: str | None = None
    termination_log: Path | None = None
    inner_epochs: int = 2
    micro_batch_size: int | None = None
    push_interval_s: float = 2.0


def _parser() -> argparse.ArgumentParser:
    codes = "; ".join(f"{code}: {text}" for code, text in EXIT_CODES.items())
    parser = argparse.ArgumentParser(
        prog="agentcore-trainer",
        description="GRPO trainer of a TrainingJob. Every flag falls back to its env var.",
        epilog=f"exit codes: {codes}",
    )
    parser.add_argument(
        "--spec",
        help=f"TrainingJob spec file, JSON or YAML ({ENV_SPEC_FILE}); "
        f"or the spec itself in {ENV_SPEC}",
    )
    parser.add_argument(
        "--queries", help=f"queries, JSON lines or a JSON list ({ENV_QUERIES_FILE})"
    )
    parser.add_argument("--checkpoint-dir", help=f"checkpoint directory ({ENV_CHECKPOINT_DIR})")
    parser.add_argument("--progress-url", help=f"operator progress endpoint ({ENV_PROGRESS_URL})")
    parser.add_argument(
        "--token-file", help=f"bearer token file, re-read per push ({ENV_TOKEN_FILE})"
    )
    parser.add_argument(
        "--ca-file", help=f"CA bundle of the progress endpoint ({ENV_PROGRESS_CA_FILE})"
    )
    parser.add_argument("--job-id", help=f"the TrainingJob's uid ({ENV_JOB_ID})")
    parser.add_argument(
        "--termination-log",
        help=f"final summary file ({ENV_TERMINATION_LOG}; default {DEFAULT_TERMINATION_LOG})",
    )
    parser.add_argument(
        "--inner-epochs",
        type=int,
        help=f"optimisation passes over each sampled batch ({ENV_INNER_EPOCHS}; default 2)",
    )
    parser.add_argument(
        "--micro-batch-size",
        type=int,
        help=f"sequences per forward/backward, to bound memory ({ENV_MICRO_BATCH_SIZE})",
    )
    return parser


def _pick(flag: str | None, env: Mapping[str, str], name: str) -> str | None:
    if flag:
        return flag
    value = env.get(name, "").strip()
    return value or None


def _positive_int(value: str | int | None, what: str, default: int | None) -> int | None:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise BadInputError(f"{what} must be a positive integer, got {value!r}") from None
    if number < 1:
        raise BadInputError(f"{what} must be a positive integer, got {value!r}")
    return number


def parse_spec_text(text: str, source: str) -> TrainingJobSpec:
    """Validate a spec given as JSON or YAML (camelCase as in the custom resource).

    A whole TrainingJob object (with a `spec` key) is accepted too, for laptop use.
    """
    try:
        data: Any = yaml.safe_load(text)  # YAML is a superset of JSON
    except yaml.YAMLError as error:
        raise BadInputError(f"spec from {source} is neither JSON nor YAML: {error}") from None
    if isinstance(data, dict) and "spec" in data and "agentId" not in data:
        data = data["spec"]
    if not isinstance(data, dict):
        raise BadInputError(f"spec from {source} must be an object, got {type(data).__name__}")
    try:
        return TrainingJobSpec.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in item['loc']) or '<root>'}: {item['msg']}"
            for item in error.errors()
        )
        raise BadInputError(f"invalid spec from {source}: {problems}") from None


def load_spec(path: str | None, inline: str | None) -> TrainingJobSpec:
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise BadInputError(f"cannot read spec file {path}: {error.strerror}") from None
        return parse_spec_text(text, path)
    if inline is not None:
        return parse_spec_text(inline, f"${ENV_SPEC}")
    raise BadInputError(f"no spec: pass --spec FILE, or set {ENV_SPEC_FILE} or {ENV_SPEC}")


def termination_log_path(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """Where the final summary goes, known even when the rest of the input is bad."""
    env = os.environ if env is None else env
    args, _ = _parser().parse_known_args(argv)
    return Path(_pick(args.termination_log, env, ENV_TERMINATION_LOG) or DEFAULT_TERMINATION_LOG)


def parse_options(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> TrainerOptions:
    """Resolve the options; raises BadInputError with a one-line message on bad input."""
    env = os.environ if env is None else env
    args = _parser().parse_args(argv)
    spec = load_spec(_pick(args.spec, env, ENV_SPEC_FILE), env.get(ENV_SPEC) or None)
    queries = _pick(args.queries, env, ENV_QUERIES_FILE)
    if queries is None:
        raise BadInputError(f"no queries: pass --queries FILE or set {ENV_QUERIES_FILE}")
    checkpoint_dir = _pick(args.checkpoint_dir, env, ENV_CHECKPOINT_DIR)
    if checkpoint_dir is None:
        raise BadInputError(
            f"no checkpoint directory: pass --checkpoint-dir or set {ENV_CHECKPOINT_DIR}"
        )
    token_file = _pick(args.token_file, env, ENV_TOKEN_FILE)
    ca_file = _pick(args.ca_file, env, ENV_PROGRESS_CA_FILE)
    termination_log = (
        _pick(args.termination_log, env, ENV_TERMINATION_LOG) or DEFAULT_TERMINATION_LOG
    )
    try:
        push_interval = float(env.get(ENV_PROGRESS_INTERVAL, "") or 2.0)
    except ValueError:
        raise BadInputError(f"{ENV_PROGRESS_INTERVAL} must be a number of seconds") from None
    return TrainerOptions(
        spec=spec,
        queries_file=Path(queries),
        checkpoint_dir=Path(checkpoint_dir),
        progress_url=_pick(args.progress_url, env, ENV_PROGRESS_URL),
        token_file=Path(token_file) if token_file else None,
        ca_file=Path(ca_file) if ca_file else None,
        ca_pem=env.get(ENV_PROGRESS_CA_PEM) or None,
        job_id=_pick(args.job_id, env, ENV_JOB_ID),
        pod_name=env.get(ENV_POD_NAME) or None,
        termination_log=Path(termination_log),
        inner_epochs=_positive_int(
            args.inner_epochs or env.get(ENV_INNER_EPOCHS), "inner epochs", 2
        )
        or 2,
        micro_batch_size=_positive_int(
            args.micro_batch_size or env.get(ENV_MICRO_BATCH_SIZE), "micro-batch size", None
        ),
        push_interval_s=max(0.05, push_interval),
    )

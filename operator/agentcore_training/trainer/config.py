"""The trainer's inputs: TrainerSettings (environment, then CLI flags) and the spec."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from agentcore_training.api.contract import ENV_SPEC, ENV_SPEC_FILE, EXIT_CODES, TERMINATION_LOG
from agentcore_training.api.spec import TrainingJobSpec
from agentcore_training.trainer.errors import BadInputError
from agentcore_training.trainer.settings import FLAGS, TrainerSettings


@dataclass(frozen=True)
class TrainerOptions:
    """Everything the trainer was told: the settings, resolved, and the spec they name."""

    spec: TrainingJobSpec
    queries_file: Path
    checkpoint_dir: Path
    eval_queries_file: Path | None = None
    output_dir: Path | None = None
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
    fields = TrainerSettings.model_fields
    for name, flag in FLAGS.items():
        info = fields[name]
        default = f"; default {info.default}" if info.default is not None else ""
        extra = f"; or the spec itself in {ENV_SPEC}" if name == "spec_file" else ""
        parser.add_argument(
            flag,
            dest=name,
            type=int if info.annotation in (int, int | None) else str,
            help=f"{info.description} ({info.validation_alias}{default}){extra}",
        )
    return parser


def _settings(**flags: Any) -> TrainerSettings:
    """The settings from the environment, with the flags given winning."""
    try:
        return TrainerSettings(**{k: v for k, v in flags.items() if v not in (None, "")})
    except ValidationError as error:
        item = error.errors()[0]
        where = str(item["loc"][0]) if item["loc"] else ""  # a field's variable, or its name
        name = next((n for n in TrainerSettings.model_fields if where in (n, _env(n))), "")
        if name:
            where = _env(name) + (f" ({FLAGS[name]})" if name in FLAGS else "")
        raise BadInputError(f"{where}: {item['msg']}, got {item.get('input')!r}") from None


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


def load_spec(path: Path | None, inline: str | None) -> TrainingJobSpec:
    if path is not None:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise BadInputError(f"cannot read spec file {path}: {error.strerror}") from None
        return parse_spec_text(text, str(path))
    if inline is not None:
        return parse_spec_text(inline, f"${ENV_SPEC}")
    raise BadInputError(f"no spec: pass --spec FILE, or set {ENV_SPEC_FILE} or {ENV_SPEC}")


def termination_log_path(argv: Sequence[str] | None = None) -> Path:
    """Where the final summary goes, known even when the rest of the input is bad."""
    args, _ = _parser().parse_known_args(argv)
    # Every other field is given its default, so that only this one is read and checked.
    others = {
        n: f.default for n, f in TrainerSettings.model_fields.items() if n != "termination_log"
    }
    flag = {"termination_log": args.termination_log} if args.termination_log else {}
    try:
        return TrainerSettings(**others, **flag).termination_log
    except ValidationError:
        return Path(TERMINATION_LOG)


def parse_options(argv: Sequence[str] | None = None) -> TrainerOptions:
    """Resolve the options; raises BadInputError with a one-line message on bad input."""
    settings = _settings(**vars(_parser().parse_args(argv)))
    spec = load_spec(settings.spec_file, settings.spec)
    if settings.queries_file is None:
        raise BadInputError(f"no queries: pass --queries FILE or set {_env('queries_file')}")
    if settings.checkpoint_dir is None:
        where = f"pass --checkpoint-dir or set {_env('checkpoint_dir')}"
        raise BadInputError(f"no checkpoint directory: {where}")
    if spec.output is not None and settings.output_dir is None:
        where = f"pass --output-dir or set {_env('output_dir')}"
        raise BadInputError(f"spec.output is set but there is no output directory: {where}")
    # The settings but the spec's two sources, which became `spec`.
    return TrainerOptions(spec=spec, **settings.model_dump(exclude={"spec_file", "spec"}))


def _env(name: str) -> str:
    return str(TrainerSettings.model_fields[name].validation_alias)

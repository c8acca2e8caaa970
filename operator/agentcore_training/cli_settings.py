"""The configuration of every settings class with a command line (pure): its fields are the
variables <PREFIX><NAME> and the flags --<name>, dashes for underscores; a flag wins."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict


def command_line_settings(env_prefix: str, program: str) -> SettingsConfigDict:
    """`model_config` of a frozen pydantic-settings class read by the program `program`
    (parse the command line with `Class(_cli_parse_args=argv)`)."""
    return SettingsConfigDict(
        env_prefix=env_prefix,
        frozen=True,
        cli_prog_name=program,
        cli_kebab_case=True,
        cli_implicit_flags=True,
    )

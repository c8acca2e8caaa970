"""`agentcore-rpc`: run the JSON-RPC shim. Configured by AGENTCORE_RPC_* variables only."""

from __future__ import annotations

import argparse
import logging
import ssl
import sys

import uvloop
from aiohttp import web
from pydantic import ValidationError

from agentcore_training.rpc.app import create_app
from agentcore_training.rpc.settings import ENV_PREFIX, ShimSettings


def _help() -> str:
    lines = ["environment variables (defaults in brackets):"]
    for name, info in ShimSettings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        lines.append(f"  {ENV_PREFIX}{name.upper():<28} {info.description} [{default}]")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="agentcore-rpc",
        description="The JSON-RPC 2.0 shim of agentcore-training (POST /jsonrpc).",
        epilog=_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)
    try:
        settings = ShimSettings()
    except ValidationError as error:
        print(f"agentcore-rpc: bad settings:\n{error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    context: ssl.SSLContext | None = None
    if settings.tls_cert_file is not None and settings.tls_key_file is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(settings.tls_cert_file, settings.tls_key_file)
    uvloop.install()  # about a third less CPU per request than the default loop
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        ssl_context=context,
        access_log=None,
        print=None,
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

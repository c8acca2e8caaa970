"""`agentcore-operator`: run the operator (kopf) with the settings from the environment."""

from __future__ import annotations

import argparse
import logging
import sys

import kopf
import uvloop
from pydantic import ValidationError

from agentcore_training.controller import handlers  # registers the handlers with kopf
from agentcore_training.controller.settings import OperatorSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="agentcore-operator",
        description="The TrainingJob operator. Settings come from AGENTCORE_OPERATOR_* "
        "variables (see docs/operator.md).",
    )
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument(
        "--liveness",
        default="http://0.0.0.0:8081/healthz",
        help="kopf's liveness endpoint ('' turns it off)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:
        settings = OperatorSettings()
    except ValidationError as error:
        sys.stderr.write(f"agentcore-operator: bad settings:\n{error}\n")
        return 2
    assert handlers.OPERATOR  # the import above is for its side effect
    namespaces = [settings.namespace] if settings.namespace else []
    uvloop.run(  # kopf runs on any asyncio loop; libuv's costs less CPU per event
        kopf.operator(
            standalone=True,
            clusterwide=settings.namespace is None,
            namespaces=namespaces,
            liveness_endpoint=args.liveness or None,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`agentcore-operator`: run the operator (kopf) with its settings (controller/settings.py)."""

from __future__ import annotations

import logging
import sys

import kopf
import uvloop
from pydantic import ValidationError

from agentcore_training.controller import handlers  # registers the handlers with kopf
from agentcore_training.controller.settings import OperatorSettings


def main(argv: list[str] | None = None) -> int:
    try:
        settings = OperatorSettings(_cli_parse_args=sys.argv[1:] if argv is None else argv)
    except ValidationError as error:
        sys.stderr.write(f"agentcore-operator: bad settings:\n{error}\n")
        return 2
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    namespaces = [settings.namespace] if settings.namespace else []
    uvloop.run(  # kopf runs on any asyncio loop; libuv's costs less CPU per event
        kopf.operator(
            standalone=True,
            clusterwide=settings.namespace is None,
            namespaces=namespaces,
            liveness_endpoint=settings.liveness or None,
            memo=handlers.memo_of(settings),
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`agentcore-dev-runner`: run the operator's trainer Pods as local processes where no
kubelet exists. Settings: devrunner/settings.py; see docs/dev-runner.md."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from agentcore_training.devrunner.podrun import RunContext
from agentcore_training.devrunner.podspec import base_env
from agentcore_training.devrunner.runner import DevRunner
from agentcore_training.devrunner.settings import DevRunnerSettings
from agentcore_training.kube.client import KubeClient
from agentcore_training.kube.nodes import ready_node_names

EXIT_REFUSED = 2


async def serve(settings: DevRunnerSettings, logger: logging.Logger) -> int:
    async with await KubeClient.connect(settings.kubeconfig) as client:
        nodes = await ready_node_names(client)
        if nodes and not settings.force:
            print(
                f"agentcore-dev-runner: the cluster has Ready Nodes ({', '.join(nodes[:5])}), "
                "so a real kubelet runs its Pods; the dev runner would run them twice. "
                "Refusing to start (--force or AGENTCORE_DEVRUNNER_FORCE=true overrides).",
                file=sys.stderr,
            )
            return EXIT_REFUSED
        workdir = settings.workdir or Path(tempfile.mkdtemp(prefix="agentcore-dev-runner-"))
        workdir.mkdir(parents=True, exist_ok=True)
        context = RunContext(
            workdir=workdir.resolve(),
            base_env=base_env(os.environ, str(Path(sys.executable).parent)),
            logger=logger,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        runner = DevRunner(
            client, context, namespace=settings.namespace, selector=settings.selector
        )
        logger.info(
            "dev runner: pods %r in %s on %s; sandboxes under %s",
            settings.selector,
            f"namespace {settings.namespace}" if settings.namespace else "all namespaces",
            client.host,
            workdir,
        )
        await runner.run(stop)
        logger.info("dev runner stopped")
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    settings = DevRunnerSettings(_cli_parse_args=sys.argv[1:] if argv is None else list(argv))
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return asyncio.run(serve(settings, logging.getLogger("agentcore.devrunner")))


if __name__ == "__main__":
    sys.exit(main())

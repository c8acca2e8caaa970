"""`agentcore-dev-runner`: run the operator's trainer Pods as local processes where no
kubelet exists. See docs/dev-runner.md."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from agentcore_training import labels
from agentcore_training.devrunner.podrun import Settings
from agentcore_training.devrunner.podspec import base_env
from agentcore_training.devrunner.runner import DevRunner
from agentcore_training.kube.client import KubeClient
from agentcore_training.kube.nodes import ready_node_names

EXIT_REFUSED = 2


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="agentcore-dev-runner",
        description="Run Pending trainer Pods as local processes, as a kubelet would, on a "
        "cluster without nodes (development only).",
    )
    parser.add_argument(
        "--kubeconfig",
        default=os.environ.get("KUBECONFIG"),
        help="kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)",
    )
    parser.add_argument("--namespace", default=None, help="watch one namespace (default: all)")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the pod sandboxes go (default: a temp dir)",
    )
    parser.add_argument(
        "--selector",
        default=labels.TRAINER_POD_SELECTOR,
        help=f"label selector of the pods to run (default: {labels.TRAINER_POD_SELECTOR})",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    parser.add_argument(
        "--force", action="store_true", help="run even when the cluster has Ready Nodes"
    )
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace, logger: logging.Logger) -> int:
    async with await KubeClient.connect(args.kubeconfig) as client:
        nodes = await ready_node_names(client)
        if nodes and not args.force:
            print(
                f"agentcore-dev-runner: the cluster has Ready Nodes ({', '.join(nodes[:5])}), "
                "so a real kubelet runs its Pods; the dev runner would run them twice. "
                "Refusing to start (use --force to override).",
                file=sys.stderr,
            )
            return EXIT_REFUSED
        workdir: Path = args.workdir or Path(tempfile.mkdtemp(prefix="agentcore-dev-runner-"))
        workdir.mkdir(parents=True, exist_ok=True)
        settings = Settings(
            workdir=workdir.resolve(),
            base_env=base_env(os.environ, str(Path(sys.executable).parent)),
            logger=logger,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        runner = DevRunner(client, settings, namespace=args.namespace, selector=args.selector)
        logger.info(
            "dev runner: pods %r in %s on %s; sandboxes under %s",
            args.selector,
            f"namespace {args.namespace}" if args.namespace else "all namespaces",
            client.host,
            workdir,
        )
        await runner.run(stop)
        logger.info("dev runner stopped")
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return asyncio.run(serve(args, logging.getLogger("agentcore.devrunner")))


if __name__ == "__main__":
    sys.exit(main())

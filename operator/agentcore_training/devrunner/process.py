"""One local process per pod: started in its own process group, logs kept in the sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import BinaryIO

from agentcore_training.devrunner.podmodel import LocalProcessPlan

STDOUT_LOG = "stdout.log"
STDERR_LOG = "stderr.log"
CONTAINER_LOG = "container.log"  # both streams, in arrival order (a kubelet's container log)
_CHUNK = 65536


class LocalProcess:
    """The pod's container as a process group; `terminate` is SIGTERM, then SIGKILL."""

    def __init__(
        self, process: asyncio.subprocess.Process, pumps: list[asyncio.Task[None]]
    ) -> None:
        self._process = process
        self._pumps = pumps

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    @classmethod
    async def start(cls, plan: LocalProcessPlan, logger: logging.Logger) -> LocalProcess:
        """Start argv with the plan's env and cwd (argv[0] resolved on the env's PATH, an
        absolute argv[0] used as is); OSError when it cannot start."""
        process = await asyncio.create_subprocess_exec(
            *plan.argv,
            env=dict(plan.env),
            cwd=plan.cwd,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
        )
        combined = (plan.logs_dir / CONTAINER_LOG).open("ab")
        prefix = f"[{plan.namespace}/{plan.pod_name}]"
        assert process.stdout is not None
        assert process.stderr is not None
        pumps = [
            asyncio.create_task(
                _pump(process.stdout, plan.logs_dir / STDOUT_LOG, combined, prefix, logger)
            ),
            asyncio.create_task(
                _pump(process.stderr, plan.logs_dir / STDERR_LOG, combined, prefix, logger)
            ),
        ]
        pumps_done = asyncio.gather(*pumps)
        pumps_done.add_done_callback(lambda _: combined.close())
        return cls(process, pumps)

    async def wait(self) -> int:
        """Wait for the process, then kill what is left of its group (as a container's end
        does) and let the log pumps drain; its return code (negative: killed by signal)."""
        code = await self._process.wait()
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self._pumps, return_exceptions=True), 10)
        return code

    async def terminate(self, grace_s: float) -> int:
        """SIGTERM the process (as a runtime signals a container's PID 1), SIGKILL its whole
        group after `grace_s` seconds; the return code."""
        if self._process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(self._process.wait()), grace_s)
            except TimeoutError:
                self._signal_group(signal.SIGKILL)
        return await self.wait()

    def _signal_group(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signum)


async def _pump(
    stream: asyncio.StreamReader,
    path: Path,
    combined: BinaryIO,
    prefix: str,
    logger: logging.Logger,
) -> None:
    """Copy one stream to its log file and the combined log; echo lines to the runner's log."""
    with path.open("ab") as own:
        pending = b""
        while chunk := await stream.read(_CHUNK):
            own.write(chunk)
            own.flush()
            combined.write(chunk)
            combined.flush()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                logger.info("%s %s", prefix, line.decode(errors="replace"))
            if len(pending) > _CHUNK:
                logger.info("%s %s", prefix, pending.decode(errors="replace"))
                pending = b""
        if pending:
            logger.info("%s %s", prefix, pending.decode(errors="replace"))

"""The apiserver from pod networking, for a node of tools/node/: the loopback control plane's
apiserver listens on 127.0.0.1 only, and there is no kube-proxy to route the kubernetes
Service's ClusterIP (nor any change to the host's iptables). `apiserver_relay` forwards TCP
from the node's bridge address, port 443, to it; TLS passes through untouched, so pods verify
the apiserver's own certificate (which names kubernetes.default.svc, as a real cluster's does).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

from tests.support.cluster import Cluster


class TcpRelay:
    """Forwards every TCP connection to `listen` on to `target`, in a thread of its own."""

    def __init__(self, listen: tuple[str, int], target: tuple[str, int]) -> None:
        self.listen = listen
        self.target = target
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tcp-relay", daemon=True)
        self._server: asyncio.Server | None = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, *self.listen)
        )
        self._ready.set()
        self._loop.run_forever()
        self._server.close()
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()

    def __enter__(self) -> TcpRelay:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"the relay on {self.listen} did not start")
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)


@contextlib.contextmanager
def apiserver_relay(cluster: Cluster, host_ip: str) -> Iterator[TcpRelay]:
    """`host_ip`:443 (the kubernetes Service's port) relayed to `cluster`'s apiserver."""
    host, port = cluster.server.removeprefix("https://").rsplit(":", 1)
    with TcpRelay((host_ip, 443), (host, int(port))) as relay:
        yield relay

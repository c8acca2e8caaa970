"""The operator's long-lived parts, started once by kopf's startup handler.

The kube client, the watch-fed cluster state, the reconciler, and the HTTPS server of the
admission webhook and the progress endpoint (plus /metrics on plain HTTP).
"""

from __future__ import annotations

import logging
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agentcore_training import labels
from agentcore_training.controller import job_metrics, metrics
from agentcore_training.controller.certs import ServerCertificate, make_server_certificate
from agentcore_training.controller.jobs import JobSettings
from agentcore_training.controller.reconciler import Reconciler
from agentcore_training.controller.server import PROGRESS_PATH, ProgressService, build_app
from agentcore_training.controller.settings import OperatorSettings, WebhookMode
from agentcore_training.controller.state import ClusterState
from agentcore_training.kube.client import KubeClient, path_for
from agentcore_training.webhook.configuration import build_webhook_configuration

log = logging.getLogger(__name__)
FIELD_MANAGER = "agentcore-training-operator"


def _certificate(settings: OperatorSettings) -> ServerCertificate:
    if settings.tls_cert_file and settings.tls_key_file and settings.tls_ca_file:
        return ServerCertificate(
            Path(settings.tls_cert_file), Path(settings.tls_key_file), Path(settings.tls_ca_file)
        )
    host = urlparse(settings.advertise_url).hostname or "127.0.0.1"
    if settings.tls_dir is None:
        directory = Path(tempfile.mkdtemp(prefix="agentcore-operator-tls-"))
    else:
        directory = Path(settings.tls_dir)
        kept = ServerCertificate(directory / "tls.crt", directory / "tls.key", directory / "ca.crt")
        if all(p.exists() for p in (kept.cert_file, kept.key_file, kept.ca_file)):
            return kept
    return make_server_certificate(directory, sorted({host, "127.0.0.1", "localhost"}))


async def _metrics(_: web.Request) -> web.Response:
    return web.Response(
        body=generate_latest(metrics.REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST}
    )


@dataclass
class Operator:
    settings: OperatorSettings
    client: KubeClient
    state: ClusterState
    reconciler: Reconciler
    progress: ProgressService
    runners: list[web.AppRunner]
    collector: job_metrics.JobCollector

    @classmethod
    async def start(cls, settings: OperatorSettings) -> Operator:
        client = await KubeClient.connect()
        state = ClusterState()
        certificate = _certificate(settings)
        job_settings = JobSettings(
            progress_url=settings.advertise_url.rstrip("/") + PROGRESS_PATH,
            progress_ca_pem=certificate.ca_pem,
            service_account=settings.trainer_service_account,
            command=tuple(settings.trainer_command),
            termination_grace_seconds=max(1, int(settings.cancel_grace_seconds)),
        )
        reconciler = Reconciler(
            client,
            state,
            job_settings,
            cancel_grace_seconds=settings.cancel_grace_seconds,
            resync_seconds=settings.resync_seconds,
        )
        progress = ProgressService(
            client, state, settings.status_interval_seconds, on_written=reconciler.enqueue
        )
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(certificate.cert_file, certificate.key_file)
        runner = web.AppRunner(build_app(client, progress, min_queries=settings.min_queries))
        await runner.setup()
        await web.TCPSite(
            runner, settings.listen_host, settings.listen_port, ssl_context=tls
        ).start()
        runners = [runner]
        if settings.metrics_port:
            metrics_app = web.Application()
            metrics_app.router.add_get("/metrics", _metrics)
            metrics_runner = web.AppRunner(metrics_app)
            await metrics_runner.setup()
            await web.TCPSite(metrics_runner, settings.listen_host, settings.metrics_port).start()
            runners.append(metrics_runner)
        collector = job_metrics.register(state)
        operator = cls(settings, client, state, reconciler, progress, runners, collector)
        await operator._register_webhook(certificate.ca_pem)
        reconciler.start()
        log.info("operator serving on %s:%s", settings.listen_host, settings.listen_port)
        return operator

    async def _register_webhook(self, ca_pem: str) -> None:
        settings = self.settings
        if settings.webhook_mode == WebhookMode.NONE:
            return
        if settings.webhook_mode == WebhookMode.URL:
            configuration = build_webhook_configuration(
                settings.webhook_configuration_name, ca_pem, url=settings.advertise_url
            )
        else:
            configuration = build_webhook_configuration(
                settings.webhook_configuration_name,
                ca_pem,
                service=(
                    settings.webhook_service_namespace,
                    settings.webhook_service_name,
                    settings.listen_port,
                ),
            )
        path = path_for(
            "admissionregistration.k8s.io/v1",
            "validatingwebhookconfigurations",
            name=settings.webhook_configuration_name,
        )
        await self.client.patch(
            path, configuration, patch_type="apply", fieldManager=FIELD_MANAGER, force=True
        )

    async def stop(self) -> None:
        await self.reconciler.stop()
        metrics.REGISTRY.unregister(self.collector)
        for runner in self.runners:
            await runner.cleanup()
        await self.client.close()

    # Watch events, from the kopf handlers.

    def on_trainingjob(self, event_type: str | None, obj: dict[str, Any]) -> None:
        if event_type == "DELETED":
            uid = str(obj["metadata"]["uid"])
            self.state.forget_trainingjob(uid)
            self.reconciler.forget(uid)
            self.progress.forget(uid)
        else:
            self.reconciler.enqueue(self.state.put_trainingjob(obj))
        self._count_phases()

    def on_job(self, event_type: str | None, obj: dict[str, Any]) -> None:
        uid = self.state.put_job(obj, deleted=event_type == "DELETED")
        if uid is not None:
            self.reconciler.enqueue(uid)

    def on_pod(self, event_type: str | None, obj: dict[str, Any]) -> None:
        uid = self.state.put_pod(obj, deleted=event_type == "DELETED")
        if uid is not None:
            self.reconciler.enqueue(uid)

    def _count_phases(self) -> None:
        counts = self.state.phase_counts()
        for phase in ("Pending", "Queued", "Running", "Completed", "Failed", "Cancelled"):
            metrics.TRAININGJOBS.labels(phase).set(counts.get(phase, 0))


__all__ = ["Operator", "labels"]

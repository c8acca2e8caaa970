"""Where the trainer pods of an integration test run: in real containers on a real node
(tools/node/, the trainer-cpu image), or as local processes of the dev runner (the fallback
where no node can start, and for the tests that need no container).

Test modules marked `real_node` get the node's control plane as their `cluster` and an
operator that pods reach at the node's bridge address; the few things a test does to a
trainer from outside (find its container, SIGKILL it, read its log, give it a volume) go
through `TrainerRuntime`, so one test runs the same on either.
"""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentcore_training import labels
from tests.support.cluster import Cluster
from tests.support.node import Node

NODE = "real node"
DEV_RUNNER = "dev runner"


@dataclass(frozen=True)
class TrainerRuntime:
    """The trainer pods of `cluster` run on `node`, or (node None) on the dev runner whose
    sandboxes are under `dev_runner_root` (its pods' folders: <workdir>/pods/<ns>/<pod>-*)."""

    cluster: Cluster
    node: Node | None = None
    dev_runner_root: Path | None = None

    @property
    def kind(self) -> str:
        return NODE if self.node is not None else DEV_RUNNER

    def running_trainer(self, namespace: str, uid: str) -> tuple[str, str] | None:
        """(pod name, containerID) of the job's trainer container that runs now, or None."""
        listed: Any = self.cluster.get_json("pods", "-n", namespace, "-l", f"{labels.JOB_ID}={uid}")
        for pod in listed["items"]:
            for status in pod.get("status", {}).get("containerStatuses", []):
                if "running" in status.get("state", {}) and status.get("containerID"):
                    return pod["metadata"]["name"], str(status["containerID"])
        return None

    def kill(self, container_id: str) -> None:
        """SIGKILL a trainer container's processes, as an OOM kill or a node crash would."""
        if self.node is None:  # devrunner://<pid>: the process group the dev runner made
            os.killpg(int(container_id.rsplit("/", 1)[1]), signal.SIGKILL)
            return
        # containerd://<id>: the host PID of the container's first process, PID 1 of its own
        # PID namespace; with it the kernel kills every process of the container.
        task = container_id.removeprefix("containerd://")
        for line in self.node.ctr("tasks", "ls").stdout.splitlines()[1:]:
            fields = line.split()
            if fields and fields[0] == task:
                os.kill(int(fields[1]), signal.SIGKILL)
                return
        raise AssertionError(f"no containerd task {task} on node {self.node.name}")

    def trainer_log(self, namespace: str, pod: str) -> list[dict[str, Any]]:
        """The trainer's JSON log lines: the kubelet's container log, or the dev runner's."""
        if self.node is not None:
            text = self.cluster.kubectl("logs", "-n", namespace, pod).stdout
        else:
            assert self.dev_runner_root is not None
            found = sorted(self.dev_runner_root.glob(f"pods/{namespace}/{pod}-*/**/container.log"))
            assert found, f"no container log of {pod} under {self.dev_runner_root}"
            text = found[0].read_text()
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def provide_claim(self, namespace: str, name: str) -> None:
        """A PersistentVolumeClaim `name` that trainer pods can mount read-write.

        On the node: bound to a hostPath PersistentVolume in the node's state folder (no
        provisioner here), writable by the trainer's uid. The dev runner needs none: it keeps
        each claim as a folder of its own.
        """
        if self.node is None:
            return
        folder = self.node.state_dir / "claims" / f"{namespace}-{name}"
        folder.mkdir(parents=True)
        # hostPath volumes get no fsGroup, and the kubelet makes a mount's subPath folder (the
        # checkpoints' one) as root with the volume folder's mode: open to the trainer's uid.
        folder.chmod(0o777)
        volume = f"{namespace}-{name}"
        manifests = [
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": volume},
                "spec": {
                    "capacity": {"storage": "1Gi"},
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": "",
                    "persistentVolumeReclaimPolicy": "Retain",
                    "hostPath": {"path": str(folder), "type": "Directory"},
                    "claimRef": {"namespace": namespace, "name": name},
                },
            },
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": "",
                    "volumeName": volume,
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            },
        ]
        for manifest in manifests:
            self.cluster.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))

"""The dev runner's plan of a Pod, as data (pure): what a Pod needs from the API, what was
fetched, and the local-process plan built from them (podspec.py builds it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOOPBACK_IP = "127.0.0.1"
DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log"
DEFAULT_GRACE_PERIOD_S = 30
DEFAULT_TOKEN_EXPIRATION_S = 3600
DEFAULT_FILE_MODE = 0o644
READ_ONLY_MASK = 0o555  # mounted volumes of these kinds are read-only: no write bits
CONFIG_ERROR = "CreateContainerConfigError"  # the kubelet's reason; retried while it lasts
UNSUPPORTED = "DevRunnerUnsupported"  # something the dev runner cannot do; not retried

# Sandbox layout, relative to the pod's sandbox directory.
VOLUMES_DIR = "volumes"
WORK_DIR = "work"
LOGS_DIR = "logs"
TERMINATION_LOG = "termination-log"


class PlanError(Exception):
    """The Pod cannot run (yet): `reason` is CreateContainerConfigError or DevRunnerUnsupported."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message

    @property
    def retryable(self) -> bool:
        """A missing object may appear later (as a kubelet, keep trying); unsupported never."""
        return self.reason == CONFIG_ERROR


@dataclass(frozen=True, order=True)
class TokenKey:
    """One projected ServiceAccount token: its audience ("" = the apiserver's) and lifetime."""

    audience: str
    expiration_seconds: int


@dataclass(frozen=True)
class Needs:
    """The API objects a Pod refers to; `optional` ones may be missing."""

    service_account: str
    config_maps: Mapping[str, bool] = field(default_factory=dict)  # name -> optional
    secrets: Mapping[str, bool] = field(default_factory=dict)
    tokens: frozenset[TokenKey] = frozenset()


@dataclass(frozen=True)
class Fetched:
    """What the caller read for `Needs`: objects by name (absent = not found), tokens by key."""

    config_maps: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    secrets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    tokens: Mapping[TokenKey, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedFile:
    """A file to write (atomically) into the sandbox; `token` marks a refreshable token."""

    path: Path
    content: bytes
    mode: int
    token: TokenKey | None = None


@dataclass(frozen=True)
class PathMapping:
    """A container path (a mountPath, or the termination message path) and its sandbox path."""

    container_path: str
    local_path: Path


@dataclass(frozen=True)
class LocalProcessPlan:
    """Everything needed to run the Pod's container as a local process."""

    namespace: str
    pod_name: str
    pod_uid: str
    container_name: str
    image: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    cwd: Path
    sandbox: Path
    directories: tuple[Path, ...]
    files: tuple[PlannedFile, ...]
    path_map: tuple[PathMapping, ...]  # longest container path first
    termination_log: Path
    termination_message_policy: str
    grace_period_s: int
    active_deadline_s: int | None

    @property
    def logs_dir(self) -> Path:
        return self.sandbox / LOGS_DIR


def namespace_of(pod: Mapping[str, Any]) -> str:
    return str(pod.get("metadata", {}).get("namespace") or "default")


def service_account_of(pod: Mapping[str, Any]) -> str:
    """spec.serviceAccountName (or the deprecated spec.serviceAccount), "" when unset."""
    spec = pod.get("spec", {})
    return str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "")

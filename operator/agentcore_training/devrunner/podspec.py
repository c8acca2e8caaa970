"""Translate a Pod (a dict as the apiserver returns it) into a local-process plan: pure.

Two steps, with the I/O between them done by the caller:

1. `needs_of(pod)` says which API objects the Pod refers to (ConfigMaps, Secrets, the
   ServiceAccount tokens of projected volumes).
2. `plan_pod(pod, sandbox, fetched, base_env)` builds the `LocalProcessPlan`: argv, env,
   working directory, the files and directories to create in the sandbox, and the map from
   the container's mountPaths to sandbox paths.

Path translation: every volumeMount's mountPath (and the container's terminationMessagePath)
maps to a path in the sandbox; every env value, command and arg equal to such a path or
starting with it followed by "/" (or `--flag=` followed by such a path) is rewritten to the
sandbox path. The longest mountPath wins. Nothing else (not text inside a string) changes.
One exception: a path strictly below a mountPath that exists on the host is the host's (the
dev runner ignores images, so commands name host files, and a checkout may well live under
/tmp, which trainer pods mount as an emptyDir); the mountPath itself is always translated.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from agentcore_training.devrunner.podenv import container_env, expand_vars
from agentcore_training.devrunner.podmodel import (
    DEFAULT_GRACE_PERIOD_S,
    DEFAULT_TERMINATION_MESSAGE_PATH,
    LOGS_DIR,
    TERMINATION_LOG,
    UNSUPPORTED,
    VOLUMES_DIR,
    WORK_DIR,
    Fetched,
    LocalProcessPlan,
    Needs,
    PathMapping,
    PlanError,
    PlannedFile,
    TokenKey,
    namespace_of,
    service_account_of,
)
from agentcore_training.devrunner.podvolumes import token_key, volume_files

# Passed from the runner's environment to every process (a pod's own env wins).
PASSED_ENV = (
    "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR",
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "XDG_CACHE_HOME", "HF_HOME", "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE", "TORCH_HOME", "SSL_CERT_FILE",
)  # fmt: skip


def base_env(environ: Mapping[str, str], python_bin_dir: str) -> dict[str, str]:
    """The environment every process starts from: PATH with this Python environment's bin
    directory first (so `agentcore-trainer` is this project's), a few passed variables, and
    unbuffered Python output so logs stream. No KUBECONFIG, no KUBERNETES_SERVICE_*."""
    env = {name: environ[name] for name in PASSED_ENV if name in environ}
    path = environ.get("PATH", os.defpath)
    env["PATH"] = f"{python_bin_dir}{os.pathsep}{path}" if path else python_bin_dir
    env["PYTHONUNBUFFERED"] = "1"
    return env


def the_container(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    """The Pod's only container; PlanError when there are several or init containers."""
    spec = pod.get("spec", {})
    containers: list[Mapping[str, Any]] = spec.get("containers") or []
    if len(containers) != 1:
        raise PlanError(
            UNSUPPORTED, f"the dev runner runs exactly 1 container, not {len(containers)}"
        )
    if spec.get("initContainers"):
        raise PlanError(UNSUPPORTED, "the dev runner does not run init containers")
    return containers[0]


def needs_of(pod: Mapping[str, Any]) -> Needs:
    """The ConfigMaps, Secrets and tokens the Pod's env and volumes refer to."""
    container = the_container(pod)
    config_maps: dict[str, bool] = {}
    secrets: dict[str, bool] = {}
    tokens: set[TokenKey] = set()

    def note(into: dict[str, bool], name: str, optional: bool) -> None:
        into[name] = into.get(name, True) and optional

    for source in container.get("envFrom") or []:
        if ref := source.get("configMapRef"):
            note(config_maps, ref["name"], bool(ref.get("optional")))
        if ref := source.get("secretRef"):
            note(secrets, ref["name"], bool(ref.get("optional")))
    for var in container.get("env") or []:
        value_from = var.get("valueFrom") or {}
        if ref := value_from.get("configMapKeyRef"):
            note(config_maps, ref["name"], bool(ref.get("optional")))
        if ref := value_from.get("secretKeyRef"):
            note(secrets, ref["name"], bool(ref.get("optional")))
    for volume in _mounted_volumes(pod, container):
        if cm := volume.get("configMap"):
            note(config_maps, cm["name"], bool(cm.get("optional")))
        if secret := volume.get("secret"):
            note(secrets, secret["secretName"], bool(secret.get("optional")))
        for source in (volume.get("projected") or {}).get("sources") or []:
            if cm := source.get("configMap"):
                note(config_maps, cm["name"], bool(cm.get("optional")))
            if secret := source.get("secret"):
                note(secrets, secret["name"], bool(secret.get("optional")))
            if sat := source.get("serviceAccountToken"):
                tokens.add(token_key(sat))
    return Needs(service_account_of(pod), config_maps, secrets, frozenset(tokens))


def plan_pod(
    pod: Mapping[str, Any],
    sandbox: Path,
    fetched: Fetched,
    base_env: Mapping[str, str],
    *,
    claims_dir: Path,
    host_has: Callable[[str], bool] = lambda _path: False,
) -> LocalProcessPlan:
    """The local-process plan of the Pod; PlanError when it cannot run (yet).

    `sandbox` is the Pod's own directory; `claims_dir` holds one directory per
    persistentVolumeClaim name of the Pod's namespace, shared by the Pods that mount it.
    """
    metadata = pod.get("metadata", {})
    spec = pod.get("spec", {})
    container = the_container(pod)
    if not container.get("command"):
        raise PlanError(
            UNSUPPORTED,
            "the container has no command: the dev runner ignores images, so it cannot use "
            "the image's entrypoint",
        )
    volumes_by_name = {v["name"]: v for v in spec.get("volumes") or []}
    directories: list[Path] = [sandbox / WORK_DIR, sandbox / LOGS_DIR]
    files: list[PlannedFile] = []
    path_map: list[PathMapping] = []

    for volume in _mounted_volumes(pod, container):
        root = sandbox / VOLUMES_DIR / volume["name"]
        directories.append(root)
        files.extend(volume_files(pod, volume, root, fetched))
    for mount in container.get("volumeMounts") or []:
        mount_path = _normalized_mount_path(mount["mountPath"])
        volume = volumes_by_name[mount["name"]]
        if pvc := volume.get("persistentVolumeClaim"):
            local = claims_dir / pvc["claimName"]
            directories.append(local)
        else:
            local = sandbox / VOLUMES_DIR / mount["name"]
        if sub_path := mount.get("subPath"):
            if sub_path.startswith("/") or ".." in sub_path.split("/"):
                raise PlanError(UNSUPPORTED, f"subPath {sub_path!r} must be relative")
            local = local / sub_path
        path_map.append(PathMapping(mount_path, local))

    termination_path = str(
        container.get("terminationMessagePath") or DEFAULT_TERMINATION_MESSAGE_PATH
    )
    termination_log = sandbox / TERMINATION_LOG
    path_map.append(PathMapping(termination_path, termination_log))
    path_map.sort(key=lambda m: len(m.container_path), reverse=True)
    mapping = tuple(path_map)

    pod_env = container_env(pod, container, fetched)
    env = {**base_env, "HOSTNAME": str(metadata.get("name", ""))}
    env.update({name: translate_path(value, mapping, host_has) for name, value in pod_env.items()})
    argv = tuple(
        translate_path(expand_vars(part, pod_env), mapping, host_has)
        for part in [*container.get("command", []), *container.get("args", [])]
    )
    working_dir = container.get("workingDir")
    cwd = sandbox / WORK_DIR
    if working_dir:
        translated = translate_path(working_dir, mapping, host_has)
        if translated == working_dir:
            raise PlanError(
                UNSUPPORTED, f"workingDir {working_dir!r} is not under a volumeMount's mountPath"
            )
        cwd = Path(translated)

    grace = spec.get("terminationGracePeriodSeconds")
    deadline = spec.get("activeDeadlineSeconds")
    return LocalProcessPlan(
        namespace=namespace_of(pod),
        pod_name=str(metadata.get("name", "")),
        pod_uid=str(metadata.get("uid", "")),
        container_name=str(container.get("name", "")),
        image=str(container.get("image", "")),
        argv=argv,
        env=env,
        cwd=cwd,
        sandbox=sandbox,
        directories=tuple(directories),
        files=tuple(files),
        path_map=mapping,
        termination_log=termination_log,
        termination_message_policy=str(container.get("terminationMessagePolicy") or "File"),
        grace_period_s=DEFAULT_GRACE_PERIOD_S if grace is None else int(grace),
        active_deadline_s=None if deadline is None else int(deadline),
    )


def translate_path(
    value: str,
    path_map: Sequence[PathMapping],
    host_has: Callable[[str], bool] = lambda _path: False,
) -> str:
    """`value` with a leading container path (or one after `--flag=`) moved into the sandbox.

    A path strictly below a mountPath for which `host_has` is true stays as it is.
    """
    if value.startswith("-") and "=" in value:
        flag, _, rest = value.partition("=")
        return f"{flag}={_translate_whole(rest, path_map, host_has)}"
    return _translate_whole(value, path_map, host_has)


def _translate_whole(
    value: str, path_map: Sequence[PathMapping], host_has: Callable[[str], bool]
) -> str:
    for mapping in path_map:  # longest first
        prefix = mapping.container_path
        if value == prefix:
            return str(mapping.local_path)
        if value.startswith(prefix + "/"):
            if host_has(value):
                return value
            return str(mapping.local_path) + value[len(prefix) :]
    return value


def _normalized_mount_path(mount_path: str) -> str:
    normalized = posixpath.normpath(mount_path)
    if not normalized.startswith("/") or normalized == "/":
        raise PlanError(UNSUPPORTED, f"mountPath {mount_path!r} must be absolute and not /")
    return normalized


def _mounted_volumes(
    pod: Mapping[str, Any], container: Mapping[str, Any]
) -> list[Mapping[str, Any]]:
    """The Pod's volumes that the container mounts, each once, in the Pod's order."""
    mounted = {m["name"] for m in container.get("volumeMounts") or []}
    volumes = [v for v in pod.get("spec", {}).get("volumes") or [] if v["name"] in mounted]
    missing = mounted - {v["name"] for v in volumes}
    if missing:
        raise PlanError(UNSUPPORTED, f"volumeMounts name unknown volumes: {sorted(missing)}")
    return volumes

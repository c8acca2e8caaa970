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

import base64
import binascii
import os
import posixpath
import re
from collections.abc import Callable, Mapping, Sequence
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


def service_account_of(pod: Mapping[str, Any]) -> str:
    """spec.serviceAccountName (or the deprecated spec.serviceAccount), "" when unset."""
    spec = pod.get("spec", {})
    return str(spec.get("serviceAccountName") or spec.get("serviceAccount") or "")


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
                tokens.add(_token_key(sat))
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
        files.extend(_volume_files(pod, volume, root, fetched))
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

    pod_env = _container_env(pod, container, fetched)
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
        namespace=_namespace(pod),
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


def expand_vars(value: str, env: Mapping[str, str]) -> str:
    """Kubernetes' $(VAR) expansion: defined names are replaced, `$$` escapes, rest is kept."""
    out: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        if char != "$" or i + 1 >= len(value):
            out.append(char)
            i += 1
            continue
        following = value[i + 1]
        if following == "$":
            out.append("$")
            i += 2
        elif following == "(":
            close = value.find(")", i + 2)
            if close == -1:
                out.append(value[i:])
                break
            name = value[i + 2 : close]
            out.append(env[name] if name in env else value[i : close + 1])
            i = close + 1
        else:
            out.append(char)
            i += 1
    return "".join(out)


def field_value(pod: Mapping[str, Any], field_path: str) -> str:
    """A downward-API fieldRef of the Pod, with status IPs as loopback; PlanError if unknown."""
    metadata = pod.get("metadata", {})
    spec = pod.get("spec", {})
    simple = {
        "metadata.name": metadata.get("name", ""),
        "metadata.namespace": _namespace(pod),
        "metadata.uid": metadata.get("uid", ""),
        "spec.serviceAccountName": service_account_of(pod),
        "spec.nodeName": spec.get("nodeName", ""),
        "status.podIP": LOOPBACK_IP,
        "status.podIPs": LOOPBACK_IP,
        "status.hostIP": LOOPBACK_IP,
        "status.hostIPs": LOOPBACK_IP,
    }
    if field_path in simple:
        return str(simple[field_path])
    for kind in ("labels", "annotations"):
        match = re.fullmatch(rf"metadata\.{kind}\['(.+)'\]", field_path)
        if match:
            return str((metadata.get(kind) or {}).get(match.group(1), ""))
    if field_path in ("metadata.labels", "metadata.annotations"):
        items = sorted((metadata.get(field_path.split(".")[1]) or {}).items())
        return "\n".join(f'{k}="{v}"' for k, v in items)
    raise PlanError(UNSUPPORTED, f"fieldRef {field_path!r} is not supported by the dev runner")


def _namespace(pod: Mapping[str, Any]) -> str:
    return str(pod.get("metadata", {}).get("namespace") or "default")


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


def _token_key(source: Mapping[str, Any]) -> TokenKey:
    return TokenKey(
        str(source.get("audience") or ""),
        int(source.get("expirationSeconds") or DEFAULT_TOKEN_EXPIRATION_S),
    )


def _object_data(obj: Mapping[str, Any], *, secret: bool) -> dict[str, bytes]:
    """The keys of a ConfigMap (data + binaryData) or Secret (base64 data + stringData)."""
    out: dict[str, bytes] = {}
    try:
        if secret:
            for key, value in (obj.get("data") or {}).items():
                out[key] = base64.b64decode(value)
        else:
            for key, value in (obj.get("data") or {}).items():
                out[key] = str(value).encode()
            for key, value in (obj.get("binaryData") or {}).items():
                out[key] = base64.b64decode(value)
    except (binascii.Error, ValueError) as error:
        raise PlanError(UNSUPPORTED, f"undecodable data: {error}") from None
    for key, value in (obj.get("stringData") or {}).items():
        out[key] = str(value).encode()
    return out


def _lookup(fetched: Fetched, kind: str, name: str, optional: bool) -> dict[str, bytes] | None:
    """The keys of a fetched ConfigMap/Secret; None if optional and missing; else PlanError."""
    objects = fetched.secrets if kind == "Secret" else fetched.config_maps
    obj = objects.get(name)
    if obj is None:
        if optional:
            return None
        raise PlanError(CONFIG_ERROR, f'{kind.lower()} "{name}" not found')
    return _object_data(obj, secret=kind == "Secret")


def _container_env(
    pod: Mapping[str, Any], container: Mapping[str, Any], fetched: Fetched
) -> dict[str, str]:
    """The container's env in the kubelet's order: envFrom, then env (with $(VAR) expansion)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = str(source.get("prefix") or "")
        for kind, ref in (
            ("ConfigMap", source.get("configMapRef")),
            ("Secret", source.get("secretRef")),
        ):
            if not ref:
                continue
            data = _lookup(fetched, kind, ref["name"], bool(ref.get("optional")))
            for key, value in (data or {}).items():
                env[prefix + key] = value.decode(errors="replace")
    for var in container.get("env") or []:
        name = var["name"]
        if "valueFrom" not in var:
            env[name] = expand_vars(str(var.get("value") or ""), env)
            continue
        value_from = var["valueFrom"]
        if field_ref := value_from.get("fieldRef"):
            env[name] = field_value(pod, field_ref["fieldPath"])
            continue
        for kind, key in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            if ref := value_from.get(key):
                optional = bool(ref.get("optional"))
                data = _lookup(fetched, kind, ref["name"], optional)
                if data is not None and ref["key"] in data:
                    env[name] = data[ref["key"]].decode(errors="replace")
                elif not optional:
                    raise PlanError(
                        CONFIG_ERROR,
                        f"couldn't find key {ref['key']} in {kind} {_namespace(pod)}/{ref['name']}",
                    )
                break
        else:
            raise PlanError(UNSUPPORTED, f"env {name}: valueFrom {sorted(value_from)} unsupported")
    return env


def _key_files(
    data: Mapping[str, bytes] | None,
    items: Sequence[Mapping[str, Any]] | None,
    root: Path,
    default_mode: int,
    what: str,
    optional: bool,
) -> list[PlannedFile]:
    """The files of a ConfigMap/Secret projection: every key, or the `items` subset."""
    if data is None:
        return []
    if not items:
        return [
            PlannedFile(root / key, value, default_mode & READ_ONLY_MASK)
            for key, value in sorted(data.items())
        ]
    files = []
    for item in items:
        if item["key"] not in data:
            if optional:
                continue
            raise PlanError(CONFIG_ERROR, f"{what}: no key {item['key']!r}")
        mode = int(item.get("mode", default_mode))
        files.append(
            PlannedFile(_under(root, item["path"]), data[item["key"]], mode & READ_ONLY_MASK)
        )
    return files


def _under(root: Path, relative: str) -> Path:
    parts = relative.split("/")
    if relative.startswith("/") or ".." in parts:
        raise PlanError(UNSUPPORTED, f"path {relative!r} must be relative, without '..'")
    return root.joinpath(*parts)


def _downward_files(
    pod: Mapping[str, Any], items: Sequence[Mapping[str, Any]], root: Path, default_mode: int
) -> list[PlannedFile]:
    files = []
    for item in items:
        if "fieldRef" not in item:
            raise PlanError(UNSUPPORTED, "downwardAPI volume items support fieldRef only")
        value = field_value(pod, item["fieldRef"]["fieldPath"]).encode()
        mode = int(item.get("mode", default_mode))
        files.append(PlannedFile(_under(root, item["path"]), value, mode & READ_ONLY_MASK))
    return files


def _volume_files(
    pod: Mapping[str, Any], volume: Mapping[str, Any], root: Path, fetched: Fetched
) -> list[PlannedFile]:
    """The files of one mounted volume under `root` (none for emptyDir and PVCs)."""
    name = volume["name"]
    if "emptyDir" in volume or "persistentVolumeClaim" in volume:
        return []
    if cm := volume.get("configMap"):
        optional = bool(cm.get("optional"))
        data = _lookup(fetched, "ConfigMap", cm["name"], optional)
        mode = int(cm.get("defaultMode", DEFAULT_FILE_MODE))
        return _key_files(data, cm.get("items"), root, mode, f"configMap {cm['name']}", optional)
    if secret := volume.get("secret"):
        optional = bool(secret.get("optional"))
        data = _lookup(fetched, "Secret", secret["secretName"], optional)
        mode = int(secret.get("defaultMode", DEFAULT_FILE_MODE))
        what = f"secret {secret['secretName']}"
        return _key_files(data, secret.get("items"), root, mode, what, optional)
    if downward := volume.get("downwardAPI"):
        mode = int(downward.get("defaultMode", DEFAULT_FILE_MODE))
        return _downward_files(pod, downward.get("items") or [], root, mode)
    if projected := volume.get("projected"):
        return _projected_files(pod, projected, root, fetched)
    kinds = sorted(k for k in volume if k != "name")
    raise PlanError(UNSUPPORTED, f"volume {name!r}: {kinds} is not supported by the dev runner")


def _projected_files(
    pod: Mapping[str, Any], projected: Mapping[str, Any], root: Path, fetched: Fetched
) -> list[PlannedFile]:
    default_mode = int(projected.get("defaultMode", DEFAULT_FILE_MODE))
    files: list[PlannedFile] = []
    for source in projected.get("sources") or []:
        if sat := source.get("serviceAccountToken"):
            key = _token_key(sat)
            token = fetched.tokens.get(key)
            if token is None:
                raise PlanError(CONFIG_ERROR, f"no token for audience {key.audience!r}")
            path = _under(root, sat["path"])
            files.append(PlannedFile(path, token.encode(), default_mode & READ_ONLY_MASK, key))
        elif cm := source.get("configMap"):
            optional = bool(cm.get("optional"))
            data = _lookup(fetched, "ConfigMap", cm["name"], optional)
            what = f"configMap {cm['name']}"
            files.extend(_key_files(data, cm.get("items"), root, default_mode, what, optional))
        elif secret := source.get("secret"):
            optional = bool(secret.get("optional"))
            data = _lookup(fetched, "Secret", secret["name"], optional)
            what = f"secret {secret['name']}"
            files.extend(_key_files(data, secret.get("items"), root, default_mode, what, optional))
        elif downward := source.get("downwardAPI"):
            files.extend(_downward_files(pod, downward.get("items") or [], root, default_mode))
        else:
            raise PlanError(UNSUPPORTED, f"projected source {sorted(source)} is not supported")
    return files

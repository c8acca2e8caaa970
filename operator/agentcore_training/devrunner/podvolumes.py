"""The files of a Pod's volumes in its sandbox (pure): ConfigMap, Secret, downwardAPI and
projected volumes (with ServiceAccount tokens); emptyDir and PVCs have none."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agentcore_training.devrunner.podenv import field_value, lookup
from agentcore_training.devrunner.podmodel import (
    CONFIG_ERROR,
    DEFAULT_FILE_MODE,
    DEFAULT_TOKEN_EXPIRATION_S,
    READ_ONLY_MASK,
    UNSUPPORTED,
    Fetched,
    PlanError,
    PlannedFile,
    TokenKey,
)


def token_key(source: Mapping[str, Any]) -> TokenKey:
    return TokenKey(
        str(source.get("audience") or ""),
        int(source.get("expirationSeconds") or DEFAULT_TOKEN_EXPIRATION_S),
    )


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


def volume_files(
    pod: Mapping[str, Any], volume: Mapping[str, Any], root: Path, fetched: Fetched
) -> list[PlannedFile]:
    """The files of one mounted volume under `root` (none for emptyDir and PVCs)."""
    name = volume["name"]
    if "emptyDir" in volume or "persistentVolumeClaim" in volume:
        return []
    if cm := volume.get("configMap"):
        optional = bool(cm.get("optional"))
        data = lookup(fetched, "ConfigMap", cm["name"], optional)
        mode = int(cm.get("defaultMode", DEFAULT_FILE_MODE))
        return _key_files(data, cm.get("items"), root, mode, f"configMap {cm['name']}", optional)
    if secret := volume.get("secret"):
        optional = bool(secret.get("optional"))
        data = lookup(fetched, "Secret", secret["secretName"], optional)
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
            key = token_key(sat)
            token = fetched.tokens.get(key)
            if token is None:
                raise PlanError(CONFIG_ERROR, f"no token for audience {key.audience!r}")
            path = _under(root, sat["path"])
            files.append(PlannedFile(path, token.encode(), default_mode & READ_ONLY_MASK, key))
        elif cm := source.get("configMap"):
            optional = bool(cm.get("optional"))
            data = lookup(fetched, "ConfigMap", cm["name"], optional)
            what = f"configMap {cm['name']}"
            files.extend(_key_files(data, cm.get("items"), root, default_mode, what, optional))
        elif secret := source.get("secret"):
            optional = bool(secret.get("optional"))
            data = lookup(fetched, "Secret", secret["name"], optional)
            what = f"secret {secret['name']}"
            files.extend(_key_files(data, secret.get("items"), root, default_mode, what, optional))
        elif downward := source.get("downwardAPI"):
            files.extend(_downward_files(pod, downward.get("items") or [], root, default_mode))
        else:
            raise PlanError(UNSUPPORTED, f"projected source {sorted(source)} is not supported")
    return files

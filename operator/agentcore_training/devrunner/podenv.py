"""A Pod's container environment, as a kubelet computes it (pure): envFrom, env with
$(VAR) expansion, ConfigMap/Secret keys and downward-API fieldRefs."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from agentcore_training.devrunner.podmodel import (
    CONFIG_ERROR,
    LOOPBACK_IP,
    UNSUPPORTED,
    Fetched,
    PlanError,
    namespace_of,
    service_account_of,
)


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
        "metadata.namespace": namespace_of(pod),
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


def object_data(obj: Mapping[str, Any], *, secret: bool) -> dict[str, bytes]:
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


def lookup(fetched: Fetched, kind: str, name: str, optional: bool) -> dict[str, bytes] | None:
    """The keys of a fetched ConfigMap/Secret; None if optional and missing; else PlanError."""
    objects = fetched.secrets if kind == "Secret" else fetched.config_maps
    obj = objects.get(name)
    if obj is None:
        if optional:
            return None
        raise PlanError(CONFIG_ERROR, f'{kind.lower()} "{name}" not found')
    return object_data(obj, secret=kind == "Secret")


def container_env(
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
            data = lookup(fetched, kind, ref["name"], bool(ref.get("optional")))
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
                data = lookup(fetched, kind, ref["name"], optional)
                if data is not None and ref["key"] in data:
                    env[name] = data[ref["key"]].decode(errors="replace")
                elif not optional:
                    where = f"{namespace_of(pod)}/{ref['name']}"
                    raise PlanError(
                        CONFIG_ERROR, f"couldn't find key {ref['key']} in {kind} {where}"
                    )
                break
        else:
            raise PlanError(UNSUPPORTED, f"env {name}: valueFrom {sorted(value_from)} unsupported")
    return env

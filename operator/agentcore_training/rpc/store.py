"""The watch cache's store of TrainingJobs (pure): indexed by uid, namespace and agent id.

Objects only move forward: an object older (by resourceVersion) than the one held is
ignored, so the shim's own writes, put in as soon as the apiserver answers them, are not
undone by a watch event that was already on its way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agentcore_training.rpc.methods import agent_of, uid_of


def _rv(obj: Mapping[str, Any]) -> int | None:
    value = str(obj.get("metadata", {}).get("resourceVersion", ""))
    return int(value) if value.isdigit() else None


def is_newer(candidate: Mapping[str, Any], held: Mapping[str, Any]) -> bool:
    """Whether `candidate` is at least as new as `held` (unknown versions count as newer)."""
    new, old = _rv(candidate), _rv(held)
    return new is None or old is None or new >= old


def _slim(obj: Mapping[str, Any]) -> dict[str, Any]:
    metadata = {k: v for k, v in obj.get("metadata", {}).items() if k != "managedFields"}
    return {**obj, "metadata": metadata}


class JobStore:
    """TrainingJobs by uid, with indexes by namespace and by agent id."""

    def __init__(self) -> None:
        self._by_uid: dict[str, dict[str, Any]] = {}
        self._by_namespace: dict[str, set[str]] = {}
        self._by_agent: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._by_uid)

    def get(self, uid: str) -> dict[str, Any] | None:
        return self._by_uid.get(uid)

    def namespaces(self) -> list[str]:
        return sorted(self._by_namespace)

    def select(
        self, *, namespace: str | None = None, agent_id: str | None = None
    ) -> list[dict[str, Any]]:
        uids: set[str] | None = None
        if namespace is not None:
            uids = set(self._by_namespace.get(namespace, ()))
        if agent_id is not None:
            of_agent = self._by_agent.get(agent_id, set())
            uids = set(of_agent) if uids is None else uids & of_agent
        if uids is None:
            return list(self._by_uid.values())
        return [self._by_uid[uid] for uid in uids]

    def upsert(self, obj: Mapping[str, Any]) -> bool:
        """Put in an object unless a newer version is held; whether it was put in."""
        uid = uid_of(obj)
        if not uid:
            return False
        held = self._by_uid.get(uid)
        if held is not None:
            if not is_newer(obj, held):
                return False
            self._unindex(uid, held)
        slim = _slim(obj)
        self._by_uid[uid] = slim
        self._index(uid, slim)
        return True

    def delete(self, obj: Mapping[str, Any]) -> None:
        uid = uid_of(obj)
        held = self._by_uid.pop(uid, None)
        if held is not None:
            self._unindex(uid, held)

    def replace(self, objs: Iterable[Mapping[str, Any]], list_version: str) -> None:
        """A fresh list; objects held that are newer than the list itself are kept."""
        kept = [
            obj
            for obj in self._by_uid.values()
            if list_version.isdigit() and (_rv(obj) or 0) > int(list_version)
        ]
        self._by_uid.clear()
        self._by_namespace.clear()
        self._by_agent.clear()
        for obj in objs:
            self.upsert(obj)
        for obj in kept:
            self.upsert(obj)

    def _index(self, uid: str, obj: Mapping[str, Any]) -> None:
        namespace = str(obj.get("metadata", {}).get("namespace", ""))
        self._by_namespace.setdefault(namespace, set()).add(uid)
        self._by_agent.setdefault(agent_of(obj), set()).add(uid)

    def _unindex(self, uid: str, obj: Mapping[str, Any]) -> None:
        for index, key in (
            (self._by_namespace, str(obj.get("metadata", {}).get("namespace", ""))),
            (self._by_agent, agent_of(obj)),
        ):
            members = index.get(key)
            if members is not None:
                members.discard(uid)
                if not members:
                    del index[key]

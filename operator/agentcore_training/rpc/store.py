"""The watch cache's store of TrainingJobs (pure): indexed by uid, namespace and agent id.

Objects only move forward: an object older (by resourceVersion) than the one held is
ignored, so the shim's own writes, put in as soon as the apiserver answers them, are not
undone by a watch event that was already on its way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from agentcore_training.api.resource import TrainingJob
from agentcore_training.kube.versions import compare_versions


def from_api(obj: Mapping[str, Any]) -> TrainingJob:
    """The model of a TrainingJob as the apiserver returns it, less its managedFields;
    ValidationError when the models refuse it."""
    metadata = {k: v for k, v in obj.get("metadata", {}).items() if k != "managedFields"}
    return TrainingJob.model_validate({**obj, "metadata": metadata})


def _version(trainingjob: TrainingJob) -> str:
    return str(trainingjob.metadata.get("resourceVersion") or "")


def is_newer(candidate: TrainingJob, held: TrainingJob) -> bool:
    """Whether `candidate` is at least as new as `held` (the order of kube/versions.py:
    an unknown order counts as newer)."""
    order = compare_versions(_version(candidate), _version(held))
    return order is None or order >= 0


class JobStore:
    """TrainingJobs by uid, with indexes by namespace and by agent id."""

    def __init__(self) -> None:
        self._by_uid: dict[str, TrainingJob] = {}
        self._by_namespace: dict[str, set[str]] = {}
        self._by_agent: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._by_uid)

    def get(self, uid: str) -> TrainingJob | None:
        return self._by_uid.get(uid)

    def namespaces(self) -> list[str]:
        return sorted(self._by_namespace)

    def select(
        self, *, namespace: str | None = None, agent_id: str | None = None
    ) -> list[TrainingJob]:
        uids: set[str] | None = None
        if namespace is not None:
            uids = set(self._by_namespace.get(namespace, ()))
        if agent_id is not None:
            of_agent = self._by_agent.get(agent_id, set())
            uids = set(of_agent) if uids is None else uids & of_agent
        if uids is None:
            return list(self._by_uid.values())
        return [self._by_uid[uid] for uid in uids]

    def upsert(self, trainingjob: TrainingJob) -> bool:
        """Put in an object unless a newer version is held; whether it was put in."""
        uid = trainingjob.uid
        if not uid:
            return False
        held = self._by_uid.get(uid)
        if held is not None:
            if not is_newer(trainingjob, held):
                return False
            self._unindex(held)
        self._by_uid[uid] = trainingjob
        self._index(trainingjob)
        return True

    def delete(self, uid: str) -> None:
        held = self._by_uid.pop(uid, None)
        if held is not None:
            self._unindex(held)

    def replace(self, trainingjobs: Iterable[TrainingJob], list_version: str) -> None:
        """A fresh list; objects held that are newer than the list itself are kept."""
        kept = [
            held
            for held in self._by_uid.values()
            if compare_versions(_version(held), list_version) == 1
        ]
        self._by_uid.clear()
        self._by_namespace.clear()
        self._by_agent.clear()
        for trainingjob in trainingjobs:
            self.upsert(trainingjob)
        for held in kept:
            self.upsert(held)

    def _index(self, trainingjob: TrainingJob) -> None:
        uid = trainingjob.uid
        self._by_namespace.setdefault(trainingjob.namespace, set()).add(uid)
        self._by_agent.setdefault(trainingjob.spec.agent_id, set()).add(uid)

    def _unindex(self, trainingjob: TrainingJob) -> None:
        for index, key in (
            (self._by_namespace, trainingjob.namespace),
            (self._by_agent, trainingjob.spec.agent_id),
        ):
            members = index.get(key)
            if members is not None:
                members.discard(trainingjob.uid)
                if not members:
                    del index[key]

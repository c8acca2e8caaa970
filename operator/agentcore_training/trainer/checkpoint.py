"""Checkpoints: written to a temporary name, fsynced, then renamed; never half-written.

Layout under the checkpoint directory:

    ckpt-000010/            one checkpoint (the id is the iteration, zero-padded)
      state.json            iteration, data position, ledger, best, history, metrics
      train_state.pt        optimizer state and RNG states
      policy.json/.pt       the weights (builtin) or hf/ (save_pretrained)
      reference/            the KL reference, only when a warm start changed it
    latest.json             {"checkpointId": "ckpt-000010"}, replaced atomically last
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch

from agentcore_training.api.contract import CHECKPOINT_PREFIX
from agentcore_training.trainer.errors import TrainerError

PREFIX = CHECKPOINT_PREFIX
LATEST = "latest.json"
STATE = "state.json"
TRAIN_STATE = "train_state.pt"
FORMAT_VERSION = 1


def fsync_path(path: Path) -> None:
    # Directories are opened read-only to fsync their entries (the rename itself).
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        fsync_path(path)
    fsync_path(root)


def write_file_atomic(path: Path, data: bytes) -> None:
    """Write bytes under a temporary name, fsync, rename over `path`, fsync the folder."""
    temporary = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(path)
    fsync_path(path.parent)


class CheckpointStore:
    """The checkpoints of one run in one directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise TrainerError(
                f"cannot create checkpoint directory {root}: {error.strerror}"
            ) from None

    def path_of(self, ckpt_id: str) -> Path:
        return self.root / ckpt_id

    def latest(self) -> str | None:
        """The id latest.json names; else the newest complete checkpoint folder."""
        pointer = self.root / LATEST
        if pointer.is_file():
            ckpt_id = str(json.loads(pointer.read_text(encoding="utf-8"))["checkpointId"])
            if (self.path_of(ckpt_id) / STATE).is_file():
                return ckpt_id
        complete = sorted(p.name for p in self.root.glob(f"{PREFIX}*") if (p / STATE).is_file())
        return complete[-1] if complete else None

    def write(
        self,
        ckpt_id: str,
        state: dict[str, Any],
        train_state: dict[str, Any],
        save_weights: Callable[[Path], None],
    ) -> Path:
        """Write one checkpoint atomically and point latest.json at it."""
        final = self.path_of(ckpt_id)
        temporary = self.root / f".tmp-{ckpt_id}-{os.getpid()}"
        if temporary.exists():
            shutil.rmtree(temporary)
        temporary.mkdir()
        save_weights(temporary)
        with (temporary / TRAIN_STATE).open("wb") as handle:
            torch.save(train_state, handle)
        state = {"formatVersion": FORMAT_VERSION, "checkpointId": ckpt_id, **state}
        (temporary / STATE).write_text(json.dumps(state, indent=1), encoding="utf-8")
        fsync_tree(temporary)
        if final.exists():
            # Re-written at the same iteration (after a resume): swap, then drop the old.
            old = self.root / f".old-{ckpt_id}-{os.getpid()}"
            final.rename(old)
            temporary.rename(final)
            shutil.rmtree(old)
        else:
            temporary.rename(final)
        fsync_path(self.root)
        write_file_atomic(self.root / LATEST, json.dumps({"checkpointId": ckpt_id}).encode())
        return final

    def read_state(self, ckpt_id: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.path_of(ckpt_id) / STATE).read_text("utf-8"))
        if data.get("formatVersion") != FORMAT_VERSION:
            raise TrainerError(f"checkpoint {ckpt_id} has an unknown format version")
        return data

    def read_train_state(self, ckpt_id: str) -> dict[str, Any]:
        loaded: dict[str, Any] = torch.load(
            self.path_of(ckpt_id) / TRAIN_STATE, map_location="cpu", weights_only=True
        )
        return loaded

    def prune(self, keep: Iterable[str | None]) -> None:
        """Delete checkpoints not in `keep`, and leftovers of interrupted writes."""
        kept = {k for k in keep if k}
        for path in self.root.iterdir():
            stale = path.name.startswith((".tmp-", ".old-")) and path.is_dir()
            if stale or (path.name.startswith(PREFIX) and path.name not in kept):
                shutil.rmtree(path, ignore_errors=True)

"""The per-pod sandbox on disk: directories, volume files, the termination-message file."""

from __future__ import annotations

import os
from pathlib import Path

from agentcore_training.devrunner.podmodel import LocalProcessPlan, PlannedFile


def sandbox_dir(workdir: Path, namespace: str, name: str, uid: str) -> Path:
    """`<workdir>/pods/<namespace>/<name>-<first 8 characters of the uid>`."""
    return workdir / "pods" / namespace / f"{name}-{uid[:8]}"


def claims_dir(workdir: Path, namespace: str) -> Path:
    """`<workdir>/pvcs/<namespace>`: one directory per persistentVolumeClaim name, shared."""
    return workdir / "pvcs" / namespace


def write_atomic(path: Path, content: bytes, mode: int) -> None:
    """Write through a temporary file and rename, so readers never see half a file (and a
    read-only file can be replaced, as a kubelet's atomic writer does on refresh)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, content)
    finally:
        os.close(fd)
    temporary.chmod(mode)
    temporary.replace(path)


def write_file(planned: PlannedFile) -> None:
    write_atomic(planned.path, planned.content, planned.mode)


def prepare(plan: LocalProcessPlan) -> None:
    """Create the directories, write the volume files and an empty termination-message file;
    a mount target that no volume file created (an emptyDir subPath) becomes a directory."""
    for directory in plan.directories:
        directory.mkdir(parents=True, exist_ok=True)
    for planned in plan.files:
        write_file(planned)
    write_atomic(plan.termination_log, b"", 0o666)
    for mapping in plan.path_map:
        if not mapping.local_path.exists():
            mapping.local_path.mkdir(parents=True, exist_ok=True)
    plan.cwd.mkdir(parents=True, exist_ok=True)


def read_head(path: Path, limit: int) -> bytes:
    """The first `limit` bytes of the file; b"" when it does not exist."""
    try:
        with path.open("rb") as stream:
            return stream.read(limit)
    except OSError:
        return b""


def read_tail(path: Path, limit: int) -> bytes:
    """The last `limit` bytes of the file; b"" when it does not exist."""
    try:
        with path.open("rb") as stream:
            size = stream.seek(0, os.SEEK_END)
            stream.seek(max(0, size - limit))
            return stream.read()
    except OSError:
        return b""

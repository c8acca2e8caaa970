"""What a node may change on the host, as one comparable snapshot: kernel settings, iptables,
mounts, network links, cgroups, the host folders containerd and the kubelet use, processes.

Other nodes (other test sessions on this host) come and go meanwhile: their bridges
(`acbr<id>`), pod links, cgroups (`/agentcore-<id>`) and mounts under their own state folders
are left out, and so are the settings they share with ours while one of them runs; so are
the mounts of image builds (buildah's store), which may run at any time.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SYSCTLS = (
    "kernel/panic",
    "kernel/panic_on_oops",
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "net/ipv4/ip_forward",
    "net/ipv4/conf/all/forwarding",
)
# Put back by the last node to stop, so another running node keeps them as they are.
SHARED_SYSCTLS = ("net/ipv4/ip_forward", "net/ipv4/conf/all/forwarding")
HOST_PATHS = (
    "/run/containerd",
    "/run/netns",
    "/run/runc",
    "/var/lib/cni",
    "/var/lib/kubelet",
    "/var/log/containers",
    "/run/agentcore-nodes",
)
REGISTRY = Path("/run/agentcore-nodes")
# buildah's store (tools/images/common.sh): image builds, not nodes, mount there, at any time.
IMAGE_STORE = str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "agentcore-training"
    / "images"
    / "storage"
)
CGROUP = Path("/sys/fs/cgroup")
_OTHER_NODE = re.compile(r"^(acbr[0-9a-f]{8}|veth[0-9a-f]+|/agentcore-[0-9a-f]{8})$")


@dataclass(frozen=True)
class HostState:
    sysctls: dict[str, str]
    iptables: tuple[str, ...]
    mounts: frozenset[str]
    links: frozenset[str]
    cgroups: frozenset[str]
    host_paths: frozenset[str]
    processes: frozenset[str]

    def differences(self, other: HostState) -> list[str]:
        """What changed from `self` to `other`, one line each; empty when nothing did."""
        # A setting missing from one snapshot was left out: another node ran then (see above).
        lines = [
            f"sysctl {key}: {value} -> {other.sysctls[key]}"
            for key, value in self.sysctls.items()
            if key in other.sysctls and other.sysctls[key] != value
        ]
        if self.iptables != other.iptables:
            lines.append(f"iptables: {self.iptables} -> {other.iptables}")
        for name in ("mounts", "links", "cgroups", "host_paths", "processes"):
            before, after = getattr(self, name), getattr(other, name)
            lines += [f"{name}: new {item}" for item in sorted(after - before)]
            lines += [f"{name}: gone {item}" for item in sorted(before - after)]
        return lines


def other_nodes_running(own_state: Path | None = None) -> bool:
    """Whether another node (not the one of `own_state`) is registered on this host."""
    if not REGISTRY.is_dir():
        return False
    own = str(own_state.resolve()) if own_state else None
    return any(entry.read_text().strip() != own for entry in REGISTRY.iterdir())


def _iptables() -> tuple[str, ...]:
    rules: list[str] = []
    for tool in ("iptables-save", "ip6tables-save"):
        if shutil.which(tool) is None:
            continue
        out = subprocess.run([tool], capture_output=True, text=True, check=False).stdout
        rules += [
            re.sub(r"\[\d+:\d+\]", "", line)  # packet counters change all the time
            for line in out.splitlines()
            if line and not line.startswith("#")
        ]
    return tuple(rules)


def node_id(state_dir: Path) -> str:
    """The id tools/node/common.sh derives from a cluster's state folder."""
    return hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:8]


_NODE_DAEMON = r"(^|/)(containerd|kubelet|kube-scheduler|coredns-\S*|containerd-shim\S*) "


def snapshot(own_state: Path) -> HostState:
    """The host now. While other nodes run, what may be theirs is left out (see the module)."""
    others = other_nodes_running(own_state)
    own_id = node_id(own_state)

    def theirs(name: str) -> bool:
        return others and own_id not in name and bool(_OTHER_NODE.match(name))

    mounts = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        if point.startswith(IMAGE_STORE):  # an image build's (build.sh unmounts its own)
            continue
        if not (others and "/node/" in point and str(own_state.resolve()) not in point):
            mounts.add(point)
    links_out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    links = {line.split(": ")[1].split("@")[0] for line in links_out.stdout.splitlines()}
    cgroups = {
        f"{controller.name}:/{child.name}"
        for controller in CGROUP.iterdir()
        if controller.is_dir()
        for child in controller.iterdir()
        if child.is_dir()
    }
    processes = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if not re.search(_NODE_DAEMON, cmdline):
            continue
        if not others or str(own_state.resolve()) in cmdline:
            processes.add(f"{proc.name} {cmdline.strip()}")
    shared = SHARED_SYSCTLS if others else ()
    return HostState(
        sysctls={
            key: Path("/proc/sys", key).read_text().strip() for key in SYSCTLS if key not in shared
        },
        iptables=_iptables(),
        mounts=frozenset(mounts),
        links=frozenset(name for name in links if not theirs(name)),
        cgroups=frozenset(c for c in cgroups if not theirs(c.split(":", 1)[1])),
        host_paths=frozenset(() if others else (p for p in HOST_PATHS if Path(p).exists())),
        processes=frozenset(processes),
    )

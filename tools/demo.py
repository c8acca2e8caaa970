"""`make demo`: the product end to end on a local control plane, then everything stopped.

Starts etcd, kube-apiserver and kube-controller-manager on loopback (tools/controlplane),
the operator with its admission webhook, a real node where this machine can run one
(tools/demo_node.py: kubelet + containerd, the trainer in a container) or else the dev
runner, and the JSON-RPC shim; submits a 130-query GRPO job through JSON-RPC with the
command-line client as a ServiceAccount bound to the `agentcore-training-edit` role (26
queries held out and never trained on); follows it with a live progress bar; prints the
final metrics, the cost against the budget, the held-out success rate before and after
training with its p-value, and the reward-curve PNG.
Nothing is left running, also when interrupted (Ctrl-C).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import demo_node

REPO = Path(__file__).resolve().parents[1]
STATE = REPO / ".demo"
BIN = Path(sys.executable).parent
NAMESPACE = "demo"
DEMO_CONFIG = {
    "n_iterations": 250,
    "batch_size": 16,
    "n_trajectories_per_query": 8,
    "learning_rate": 0.001,
    "max_new_tokens": 3,
    "max_budget_usd": "0.50",
    "checkpoint_interval": 50,
    "seed": 1,
}
DEMO_POLICY = {"warm_start_steps": 200}
DEMO_EVALUATION = {"held_out_fraction": 0.2, "interval": 25}
"""130 queries: 26 held out (the CRD's 20 %), 104 trained on; evaluated every 25 iterations."""


def say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_http(url: str, what: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} exited; its log: {log}\n{log.read_text()[-2000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1):  # noqa: S310
            return
        time.sleep(0.2)
    sys.exit(f"{what} did not become ready in 60 s; its log: {log}")


class Demo:
    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.cluster = STATE / "cluster"
        self.env = dict(os.environ, OMP_NUM_THREADS="1")
        self.node: demo_node.RealNode | None = None

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        result = subprocess.run(
            [str(self.bin_dir / "kubectl"), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
        )
        if result.returncode != 0:
            sys.exit(f"kubectl {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = STATE / f"{name}.log"
        process = subprocess.Popen(
            argv,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the demo, which stops them in order
        )
        self.children.append((name, process))
        return process

    def stop(self) -> None:
        for _name, process in reversed(self.children):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _name, process in reversed(self.children):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.node is not None:
            demo_node.stop(self.cluster)
        subprocess.run(
            ["bash", str(REPO / "tools/controlplane/down.sh"), str(self.cluster)], check=False
        )

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        try:
            yield
        finally:
            self.stop()
            signal.signal(signal.SIGTERM, previous)

    def control_plane(self) -> None:
        say("control plane: etcd, kube-apiserver, kube-controller-manager on loopback")
        subprocess.run(
            ["bash", str(REPO / "tools/controlplane/down.sh"), str(self.cluster)], check=False
        )
        build = subprocess.run(
            ["bash", str(REPO / "tools/controlplane/build.sh")],
            capture_output=True,
            text=True,
            check=True,
        )
        self.bin_dir = Path(build.stdout.strip().splitlines()[-1])
        env = dict(self.env, CRD_DIR=str(REPO / "crds"), WITH_KCM="1")
        subprocess.run(
            ["bash", str(REPO / "tools/controlplane/up.sh"), str(self.cluster)], env=env, check=True
        )
        self.env["KUBECONFIG"] = str(self.cluster / "kubeconfig")
        self.kubectl("apply", "-f", str(REPO / "manifests/rbac"))
        self.kubectl("create", "namespace", NAMESPACE)
        self.kubectl("create", "serviceaccount", "demo-user", "-n", NAMESPACE)
        self.kubectl(
            "create",
            "rolebinding",
            "demo-user-edit",
            "-n",
            NAMESPACE,
            "--clusterrole=agentcore-training-edit",
            f"--serviceaccount={NAMESPACE}:demo-user",
        )
        self.token = self.kubectl(
            "create", "token", "demo-user", "-n", NAMESPACE, "--duration=1h"
        ).strip()

    def real_node(self) -> None:
        reason = demo_node.unavailable()
        if reason:
            say(f"no real node here ({reason}): the dev runner plays the kubelet")
            return
        say("a real node: containerd, kube-scheduler, kubelet (tools/node); the trainer image")
        print("(tools/images/build.sh trainer-cpu: ~10 min the first time, cached after)")
        self.node = demo_node.start(self.cluster, STATE / "images.log")
        print(f"node {self.node.name} Ready; pods reach the operator at {self.node.host_ip}")

    def services(self) -> None:
        self.real_node()
        runner = f"node {self.node.name}" if self.node else "dev runner"
        say(f"operator (admission webhook, progress endpoint), {runner}, JSON-RPC shim")
        port, metrics = free_port(), free_port()
        host = self.node.host_ip if self.node else "127.0.0.1"
        tls = STATE / "operator-tls"
        shutil.rmtree(tls, ignore_errors=True)  # its certificate names `host`
        operator_env = dict(
            self.env,
            # On a node: every address, so pods reach it on the bridge and /metrics on loopback.
            AGENTCORE_OPERATOR_LISTEN_HOST="0.0.0.0" if self.node else host,  # noqa: S104
            AGENTCORE_OPERATOR_LISTEN_PORT=str(port),
            AGENTCORE_OPERATOR_METRICS_PORT=str(metrics),
            AGENTCORE_OPERATOR_ADVERTISE_URL=f"https://{host}:{port}",
            AGENTCORE_OPERATOR_TLS_DIR=str(tls),
        )
        operator = self.start(
            "operator", [str(BIN / "agentcore-operator"), "--liveness", ""], operator_env
        )
        wait_http(
            f"http://127.0.0.1:{metrics}/metrics", "the operator", operator, STATE / "operator.log"
        )
        if self.node is None:
            self.start(
                "dev-runner",
                [str(BIN / "agentcore-dev-runner"), "--workdir", str(STATE / "pods")],
                self.env,
            )
        self.rpc_port = free_port()
        rpc_env = dict(
            self.env,
            AGENTCORE_RPC_HOST="127.0.0.1",
            AGENTCORE_RPC_PORT=str(self.rpc_port),
            AGENTCORE_RPC_NAMESPACE=NAMESPACE,
        )
        shim = self.start("rpc", [str(BIN / "agentcore-rpc")], rpc_env)
        wait_http(
            f"http://127.0.0.1:{self.rpc_port}/readyz", "the JSON-RPC shim", shim, STATE / "rpc.log"
        )

    def client(self, *args: str, capture: bool = False) -> str:
        argv = [
            str(BIN / "agentcore-rpc-client"),
            "--url",
            f"http://127.0.0.1:{self.rpc_port}/jsonrpc",
            "--token-file",
            str(STATE / "token"),
            *args,
        ]
        print("$ agentcore-rpc-client " + " ".join(args), flush=True)
        result = subprocess.run(argv, env=self.env, check=False, text=True, capture_output=capture)
        if result.returncode != 0:
            sys.exit(f"agentcore-rpc-client failed ({result.returncode})\n{result.stderr or ''}")
        return result.stdout if capture else ""

    def train(self) -> None:
        queries = STATE / "queries.jsonl"
        queries.write_text(
            "".join(
                json.dumps({"query": f"{a}+{b}=", "expected_outcome": {"answer": str(a + b)}})
                + "\n"
                for a in range(13)
                for b in range(10)
            )
        )
        (STATE / "token").write_text(self.token)
        (STATE / "token").chmod(0o600)
        say("a 130-query GRPO job through JSON-RPC (training.start_grpo), 26 held out")
        flags = section_flags("config", DEMO_CONFIG) + section_flags("policy", DEMO_POLICY)
        flags += section_flags("evaluation", DEMO_EVALUATION)
        started = exact_json(
            self.client(
                "--json",
                "start",
                "--agent-id",
                "calc-agent",
                "--queries",
                str(queries),
                *flags,
                capture=True,
            )
        )
        job_id = started["job_id"]
        print(
            f"job {job_id}: {started['total_iterations']} iterations, "
            f"budget ${started['budget_usd']}",
            flush=True,
        )
        say("training (training.get_status, live)")
        png = STATE / "reward-curve.png"
        self.client("status", job_id, "--watch", "--interval", "1", "--png", str(png))
        final = exact_json(self.client("--json", "status", job_id, capture=True))
        self.report(final, png)

    def report(self, final: dict[str, Any], png: Path) -> None:
        say("result")
        summary(final)
        history = final.get("history") or {}
        rewards = list(history.get("avg_reward", [])) if isinstance(history, dict) else []
        if len(rewards) >= 4:
            k = max(1, len(rewards) // 10)
            first, last = sum(rewards[:k]) / k, sum(rewards[-k:]) / k
            verdict = "rose" if last > first else "did not rise"
            print(
                f"reward:  {verdict} from {first:.3f} (first {k} points) to {last:.3f} "
                f"(last {k} points)"
            )
            if last <= first:
                sys.exit("the reward did not rise")
        evaluation_report(final.get("evaluation") or {})
        print(f"reward curve: {png}")
        if final["status"] != "completed":
            sys.exit(f"the job ended {final['status']}")


def section_flags(section: str, values: dict[str, Any]) -> list[str]:
    """agentcore-rpc-client's --SECTION=key=value flags for a spec section's fields."""
    return [f"--{section}={key}={json.dumps(value)}" for key, value in values.items()]


def summary(final: dict[str, Any]) -> None:
    """A finished job's status, last metrics and cost against its budget."""
    metrics = final.get("metrics") or {}
    cost = final.get("cost") or {}
    print(f"status:  {final['status']}")
    if isinstance(metrics, dict):
        shown = ("avg_reward", "std_reward", "loss", "kl", "entropy", "tokens")
        print("metrics: " + ", ".join(f"{k}={metrics[k]:.4g}" for k in shown if k in metrics))
    if isinstance(cost, dict):
        print(
            f"cost:    ${cost.get('cost_usd')} of a ${cost.get('budget_usd')} budget "
            f"(${cost.get('budget_remaining_usd')} left)"
        )


def exact_json(text: str) -> dict[str, Any]:
    """A result the client printed: money keeps its digits (Decimal), "0.50" stays "0.50"."""
    parsed: dict[str, Any] = json.loads(text, parse_float=Decimal)
    return parsed


def evaluation_report(evaluation: dict[str, Any]) -> None:
    """The held-out success rate before and after training, and its p-value."""
    baseline, latest = evaluation.get("baseline"), evaluation.get("latest")
    if not baseline or not latest:
        sys.exit(f"no held-out evaluation: {evaluation.get('message') or 'none recorded'}")
    before = float(baseline["metrics"]["success_rate"])
    after = float(latest["metrics"]["success_rate"])
    comparison = latest.get("comparison") or {}
    p_value = comparison.get("p_value")
    verdict = "significant" if comparison.get("statistically_significant") else "not significant"
    print(
        f"held-out: success rate {100 * before:.1f} % before training (iteration 0) -> "
        f"{100 * after:.1f} % after (iteration {latest['iteration']}) on "
        f"{latest['queries_evaluated']} queries never trained on; p = "
        f"{float(p_value):.3g} ({verdict} at 0.05)"
        if p_value is not None
        else "held-out: no comparison with the baseline"
    )
    best = evaluation.get("best")
    if best and best.get("checkpoint_id") != latest.get("checkpoint_id"):
        print(
            f"          best {100 * float(best['metrics']['success_rate']):.1f} % at iteration "
            f"{best['iteration']} ({best['checkpoint_id']}, bestCheckpointId)"
        )


def main(kind: type[Demo] = Demo) -> None:
    STATE.mkdir(exist_ok=True)
    began = time.monotonic()
    demo = kind()
    try:
        with demo.running():
            demo.control_plane()
            demo.services()
            demo.train()
    except KeyboardInterrupt:
        print("\ninterrupted: everything the demo started is stopped", file=sys.stderr)
        sys.exit(130)
    say(
        f"done in {time.monotonic() - began:.0f} s; everything the demo started is stopped "
        f"(logs in {STATE})"
    )


if __name__ == "__main__":
    main()

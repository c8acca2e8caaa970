"""GitOps health checks of TrainingJobs, run by real interpreters on sample objects.

- Argo CD: manifests/gitops/argocd/health.lua, in a real Lua 5.1 (lupa; Argo CD's gopher-lua is
  Lua 5.1) with Argo CD's calling convention: the live object as the global table `obj`, the
  script a chunk that returns `hs`, and only the base, table and package libraries loaded
  (Argo CD opens no `string`, `math` or `io` for health scripts).
- Flux: the healthCheckExprs of manifests/gitops/flux/kustomization.yaml, in a real CEL
  interpreter (cel-python), with kustomize-controller's rules around them (RFC-0009,
  fluxcd/pkg runtime/cel StatusEvaluator): observedGeneration behind -> InProgress; else the
  first true of inProgress, failed, current; none -> InProgress.

Every sample status is checked against the API model first, so the samples are statuses the
operator can write.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import celpy
import lupa.lua51 as lua51
import pytest
import yaml

from agentcore_training.api.status import TrainingJobStatus

REPO = Path(__file__).resolve().parents[2]
HEALTH_LUA = REPO / "manifests" / "gitops" / "argocd" / "health.lua"
ARGOCD_CM = REPO / "manifests" / "gitops" / "argocd" / "argocd-cm.yaml"
FLUX_KUSTOMIZATION = REPO / "manifests" / "gitops" / "flux" / "kustomization.yaml"
ARGO_HEALTH = {"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}
T0 = "2026-11-30T10:00:00Z"
T1 = "2026-11-30T10:05:00Z"


def condition(kind: str, status: str, reason: str, message: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": T0,
        "observedGeneration": 1,
    }


def trainingjob(
    status: dict[str, Any] | None,
    *,
    generation: int = 1,
    observed: int | None = None,
    **spec: Any,
) -> dict[str, Any]:
    """A TrainingJob at `generation` whose status was written for `observed` (default: the same)."""
    obj: dict[str, Any] = {
        "apiVersion": "training.agentcore.dev/v1alpha1",
        "kind": "TrainingJob",
        "metadata": {"name": "support-bot-1", "namespace": "team-a", "generation": generation},
        "spec": {
            "agentId": "support-bot",
            "queries": {"configMapRef": {"name": "q", "key": "queries.jsonl"}},
            "cancel": False,
            "suspend": False,
            **spec,
        },
    }
    if status is not None:
        obj["status"] = {**status, "observedGeneration": observed or generation}
    return obj


COST = {"costUsd": "0.42", "budgetUsd": "10.00", "budgetRemainingUsd": "9.58"}
QUEUED = {
    "jobId": "7d0c9a52-1b7e-4a53-9d43-2f1f5a3b7c10",
    "phase": "Queued",
    "message": "created Job support-bot-1-0a1b2c3d",
    "jobName": "support-bot-1-0a1b2c3d",
    "progress": {"currentIteration": 0, "totalIterations": 10, "percentComplete": 0},
    "cost": {"costUsd": "0", "budgetUsd": "10.00", "budgetRemainingUsd": "10.00"},
    "conditions": [
        condition("Running", "False", "JobCreated", "waiting for the trainer to start"),
    ],
}
RUNNING = {
    **QUEUED,
    "phase": "Running",
    "message": "the trainer is running",
    "startTime": T0,
    "progress": {"currentIteration": 3, "totalIterations": 10, "percentComplete": 30},
    "metrics": {"avgReward": 0.25, "loss": 0.1},
    "cost": COST,
    "conditions": [condition("Running", "True", "TrainerRunning", "the trainer is running")],
}
COMPLETED = {
    **RUNNING,
    "phase": "Completed",
    "message": "training completed",
    "completionTime": T1,
    "progress": {"currentIteration": 10, "totalIterations": 10, "percentComplete": 100},
    "conditions": [
        condition("Running", "False", "TrainerExited", "the trainer exited"),
        condition("BudgetExhausted", "False", "WithinBudget", "the budget held"),
        condition("Completed", "True", "TrainingCompleted", "training completed"),
    ],
}
BUDGET_MESSAGE = "stopped at the budget: spent 9.95 of 10.00; the next iteration would exceed it"
BUDGET_EXHAUSTED = {
    **COMPLETED,
    "message": BUDGET_MESSAGE,
    "progress": {"currentIteration": 6, "totalIterations": 10, "percentComplete": 60},
    "conditions": [
        condition("Running", "False", "TrainerExited", "the trainer exited"),
        condition("BudgetExhausted", "True", "BudgetExhausted", BUDGET_MESSAGE),
        condition("Completed", "True", "BudgetExhausted", BUDGET_MESSAGE),
    ],
}
FAILED_MESSAGE = (
    "Job has reached the specified backoff limit; trainer exit code 1: CUDA out of memory"
)
FAILED = {
    **RUNNING,
    "phase": "Failed",
    "message": FAILED_MESSAGE,
    "completionTime": T1,
    "conditions": [
        condition("Running", "False", "BackoffLimitExceeded", FAILED_MESSAGE),
        condition("Failed", "True", "BackoffLimitExceeded", FAILED_MESSAGE),
    ],
}
CANCELLED = {
    **RUNNING,
    "phase": "Cancelled",
    "message": "the run was cancelled",
    "completionTime": T1,
    "cancelledAt": T1,
    "conditions": [
        condition("Running", "False", "Cancelled", "the run was cancelled"),
        condition("Cancelled", "True", "Cancelled", "spec.cancel was set to true"),
    ],
}
CANCELLING = {
    **RUNNING,
    "conditions": [
        condition("Running", "True", "TrainerRunning", "the trainer is running"),
        condition("Cancelled", "False", "CancelRequested", "waiting for the trainer to checkpoint"),
    ],
}
SUSPENDED = {
    **QUEUED,
    "message": "suspended: set spec.suspend to false to resume",
    "conditions": [
        condition("Running", "False", "Suspended", "the Job is suspended"),
        condition("Suspended", "True", "Suspended", "spec.suspend is true"),
    ],
}

# name: (object, Argo CD health, words its message must contain, Flux status)
CASES: dict[str, tuple[dict[str, Any], str, list[str], str]] = {
    "no-status": (trainingjob(None), "Progressing", ["operator"], "InProgress"),
    "queued": (trainingjob(QUEUED), "Progressing", ["Queued"], "InProgress"),
    "running": (trainingjob(RUNNING), "Progressing", ["Running", "3/10", "30%"], "InProgress"),
    "completed": (trainingjob(COMPLETED), "Healthy", ["Completed"], "Current"),
    "budget-exhausted": (
        trainingjob(BUDGET_EXHAUSTED),
        "Healthy",
        ["Completed", "BudgetExhausted", "spent 9.95 of 10.00"],
        "Current",
    ),
    "failed": (
        trainingjob(FAILED),
        "Degraded",
        ["Failed", "BackoffLimitExceeded", "CUDA out of memory"],
        "Failed",
    ),
    "cancelled": (
        trainingjob(CANCELLED, cancel=True, generation=2),
        "Healthy",
        ["Cancelled"],
        "Current",
    ),
    "cancelling": (
        trainingjob(CANCELLING, cancel=True, generation=2),
        "Progressing",
        ["cancelling", "checkpoint"],
        "InProgress",
    ),
    "suspended": (
        trainingjob(SUSPENDED, suspend=True, generation=2),
        "Suspended",
        ["Suspended", "spec.suspend"],
        "InProgress",
    ),
    # spec.suspend was just committed; the operator has not acted on generation 2 yet.
    "suspend-not-yet-observed": (
        trainingjob(RUNNING, suspend=True, generation=2, observed=1),
        "Progressing",
        ["generation 2"],
        "InProgress",
    ),
    # A finished run stays finished whatever is set later.
    "completed-then-suspended": (
        trainingjob(COMPLETED, suspend=True),
        "Healthy",
        ["Completed"],
        "Current",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_samples_are_statuses_the_operator_can_write(name: str) -> None:
    obj = CASES[name][0]
    if "status" in obj:
        TrainingJobStatus.model_validate(obj["status"])


# --- Argo CD --------------------------------------------------------------------------------


def argocd_health(obj: dict[str, Any], script: str | None = None) -> dict[str, Any]:
    """Run the health script as Argo CD does: `obj` a global table, the chunk returns `hs`."""
    runtime = lua51.LuaRuntime()
    lua_globals = runtime.globals()
    # Argo CD's VM opens base, table and package (plus a reduced os) and nothing else.
    for library in ("string", "math", "io", "os", "debug", "coroutine"):
        lua_globals[library] = None
    lua_globals.obj = runtime.table_from(copy.deepcopy(obj), recursive=True)
    hs = runtime.execute(script if script is not None else HEALTH_LUA.read_text())
    assert lupa_type(hs) == "table", "the script must return a table"
    return {"status": hs["status"], "message": hs["message"]}


def lupa_type(value: object) -> str | None:
    return lua51.lua_type(value)


@pytest.mark.parametrize("name", sorted(CASES))
def test_argocd_health(name: str) -> None:
    obj, expected, words, _ = CASES[name]
    health = argocd_health(obj)
    assert health["status"] == expected, health
    assert isinstance(health["message"], str)
    for word in words:
        assert word in health["message"], health


def test_argocd_health_only_says_what_argocd_knows() -> None:
    assert argocd_health(trainingjob({"phase": "Exploded"}))["status"] == "Unknown"
    for obj, _, _, _ in CASES.values():
        assert argocd_health(obj)["status"] in ARGO_HEALTH


def test_argocd_health_needs_no_library_argocd_does_not_load() -> None:
    """The sandbox above is real: a script that uses `string` fails in it."""
    with pytest.raises(lua51.LuaError):
        argocd_health(trainingjob(RUNNING), 'hs = {status = string.lower("X")} return hs')


def test_argocd_cm_snippet_embeds_the_script_verbatim() -> None:
    configmap = yaml.safe_load(ARGOCD_CM.read_text())
    key = "resource.customizations.health.training.agentcore.dev_TrainingJob"
    assert configmap["data"][key] == HEALTH_LUA.read_text()
    ignored = configmap["data"][
        "resource.customizations.ignoreDifferences."
        "admissionregistration.k8s.io_ValidatingWebhookConfiguration"
    ]
    assert "caBundle" in ignored


# --- Flux -----------------------------------------------------------------------------------


def flux_expressions() -> dict[str, str]:
    kustomization = yaml.safe_load(FLUX_KUSTOMIZATION.read_text())
    assert kustomization["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1"
    assert kustomization["spec"]["wait"] is True
    (check,) = kustomization["spec"]["healthCheckExprs"]
    assert check["apiVersion"] == "training.agentcore.dev/v1alpha1"
    assert check["kind"] == "TrainingJob"
    return {key: check[key] for key in ("inProgress", "failed", "current")}


def flux_status(obj: dict[str, Any]) -> str:
    """kustomize-controller's evaluation of healthCheckExprs (RFC-0009), with cel-python."""
    status = obj.get("status") or {}
    observed = status.get("observedGeneration")
    if observed is not None and observed != obj["metadata"].get("generation"):
        return "InProgress"
    env = celpy.Environment()
    activation = {key: celpy.json_to_cel(value) for key, value in obj.items()}
    results = {"inProgress": "InProgress", "failed": "Failed", "current": "Current"}
    for key, text in flux_expressions().items():  # in this order, as Flux does
        value = env.program(env.compile(text)).evaluate(activation)
        assert isinstance(value, celpy.celtypes.BoolType), f"{key} is not a boolean: {value!r}"
        if value:
            return results[key]
    return "InProgress"


@pytest.mark.parametrize("name", sorted(CASES))
def test_flux_health(name: str) -> None:
    obj, _, _, expected = CASES[name]
    assert flux_status(obj) == expected


def test_flux_expressions_are_exclusive() -> None:
    """At most one expression holds for any phase, so their order decides nothing by accident."""
    env = celpy.Environment()
    programs = {key: env.program(env.compile(text)) for key, text in flux_expressions().items()}
    for phase in ("Queued", "Running", "Completed", "Failed", "Cancelled"):
        activation = {"status": celpy.json_to_cel({"phase": phase})}
        true = [key for key, program in programs.items() if program.evaluate(activation)]
        assert len(true) == 1, (phase, true)

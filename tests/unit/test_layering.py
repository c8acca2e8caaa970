"""The layering of docs/architecture.md ("Where things live"), enforced: pure modules reach
none of kopf, aiohttp, kubernetes_asyncio, prometheus_client or torch, not even through
another module of the package. The walk reads the sources (ast), imports nothing, and
follows the package's own imports transitively; imports under `if TYPE_CHECKING:` do not
run and do not count. No dependency: a few lines instead of import-linter."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

PACKAGE = "agentcore_training"
ROOT = Path(__file__).resolve().parents[2] / "operator" / PACKAGE
FORBIDDEN = frozenset({"kopf", "aiohttp", "kubernetes_asyncio", "prometheus_client", "torch"})

# Every module under these folders is pure.
PURE_PACKAGES = ("api",)
# And these, by name. A name that no longer exists fails the test: keep the list true.
PURE_MODULES = (
    "cli_settings",
    "labels",
    "kube.versions",
    "controller.budget_alerts",
    "controller.conditions",
    "controller.jobs",
    "controller.multipod",
    "controller.objects",
    "controller.phase",
    "controller.progress",
    "controller.settings",
    "controller.state",
    "controller.watchdog",
    "webhook.admission",
    "webhook.configuration",
    "rpc.errors",
    "rpc.openrpc",
    "rpc.protocol",
    "rpc.render",
    "rpc.schemas",
    "rpc.evaluate_schemas",
    "rpc.settings",
    "rpc.store",
    "ttlcache",
    "trainer.budget",
    "trainer.credit",
    "trainer.environments.protocol",
    "trainer.errors",
    "trainer.estimate",
    "trainer.history",
    "trainer.ledger",
    "trainer.queries",
    "trainer.ranks",
    "trainer.rewards",
    "trainer.run_state",
    "devrunner.podenv",
    "devrunner.podmodel",
    "devrunner.podspec",
    "devrunner.podvolumes",
    "devrunner.sandbox",
    "devrunner.settings",
    "devrunner.status",
)


def _module_file(root: Path, module: str) -> Path | None:
    """The source of `agentcore_training.<module>` under `root`, if it is a module there."""
    base = root.joinpath(*module.split(".")) if module else root
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> list[str]:
    """Every module an import statement names (`from a import b` names a and a.b)."""
    names: list[str] = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            names.extend(_imports(ast.Module(body=node.orelse, type_ignores=[])))
            continue
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
        names.extend(_imports(node))
    return names


def violations(root: Path, start: str) -> list[str]:
    """`start -> ... -> module: import` chains that reach a forbidden package."""
    found: list[str] = []
    seen: set[str] = set()
    stack: list[tuple[str, tuple[str, ...]]] = [(start, (start,))]
    while stack:
        module, chain = stack.pop()
        if module in seen:
            continue
        seen.add(module)
        source = _module_file(root, module)
        assert source is not None, f"{PACKAGE}.{module} does not exist"
        targets = _imports(ast.parse(source.read_text(), str(source)))
        parents = [".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)]
        for name in targets:
            top = name.split(".")[0]
            if top in FORBIDDEN:
                found.append(" -> ".join(chain) + f": import {name}")
            elif top == PACKAGE:
                inner = name.removeprefix(PACKAGE).removeprefix(".")
                if _module_file(root, inner) is not None:
                    stack.append((inner, (*chain, inner)))
        for parent in parents:  # importing a.b runs a/__init__.py first
            stack.append((parent, (*chain, parent)))
    return found


def pure_modules(root: Path) -> list[str]:
    modules = list(PURE_MODULES)
    for package in PURE_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            modules.append(".".join(parts).removesuffix(".__init__"))
    return modules


def check(root: Path) -> list[str]:
    return [chain for module in pure_modules(root) for chain in violations(root, module)]


def test_pure_modules_reach_no_io_framework_and_no_torch() -> None:
    assert check(ROOT) == []


def test_the_pure_set_names_real_modules() -> None:
    for module in pure_modules(ROOT):
        assert _module_file(ROOT, module) is not None, module
    assert len(pure_modules(ROOT)) > len(PURE_MODULES)  # api/ contributed its modules


@pytest.mark.parametrize(
    ("module", "edit", "expected"),
    [
        # a direct import
        ("api/money.py", "import torch\n", "money: import torch"),
        # a lazy one, inside a function
        ("controller/phase.py", "def _late() -> None:\n    import kopf\n", "phase: import kopf"),
        # through another module of the package: the planner reaching the kube client
        (
            "controller/phase.py",
            "from agentcore_training.kube.client import KubeClient\n",
            "controller.phase -> kube.client: import aiohttp",
        ),
    ],
)
def test_the_check_fails_on_a_bad_copy(
    tmp_path: Path, module: str, edit: str, expected: str
) -> None:
    copy = tmp_path / PACKAGE
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert check(copy) == []
    target = copy / module
    target.write_text(target.read_text() + "\n" + edit)
    problems = check(copy)
    assert any(expected in problem for problem in problems), problems


def test_imports_for_type_checking_only_do_not_count(tmp_path: Path) -> None:
    copy = tmp_path / PACKAGE
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "api" / "money.py"
    target.write_text(
        target.read_text() + "\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    import torch\n"
    )
    assert check(copy) == []


def test_the_trainer_never_reaches_the_kubernetes_api() -> None:
    """Trainer pods run without an API token: nothing of the trainer imports kube/."""
    trainer = sorted((ROOT / "trainer").rglob("*.py"))
    assert trainer
    for path in trainer:
        names = _imports(ast.parse(path.read_text(), str(path)))
        reached = [n for n in names if n.startswith(f"{PACKAGE}.kube") or n == "kubernetes_asyncio"]
        assert reached == [], (path.name, reached)

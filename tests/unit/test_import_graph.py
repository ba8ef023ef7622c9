"""The shape of ``infra/``: its import graph has no cycle, and no module imports from a higher layer.

The graph is read with :mod:`ast` from the sources (function-level imports included: a lazy import is still a
dependency), so it is the code's own statement of the flow. Layers, highest first::

    commands  ->  pipeline (up, planning, verify)  ->  services (gitops, probes, checks, doctor, ...)
              ->  drivers (kube, pulumi, ansible, proc, tools)  ->  base (state, contract, environments, ...)

A module may import its own layer or any lower one.
"""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest

from infra.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "infra"

# Highest layer first; a module belongs to the first layer one of whose prefixes names it or its package.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("commands", ("infra.cli", "infra.__main__", "infra.commands")),
    ("pipeline", ("infra.up", "infra.planning", "infra.verify", "infra.report", "infra.series")),
    (
        "services",
        (
            "infra.gitops",
            "infra.probes",
            "infra.checks",
            "infra.doctor",
            "infra.preflight",
            "infra.secrets",
            "infra.certs",
            "infra.inventory",
            "infra.render",
            "infra.renderers",
            "infra.envconfig",
            "infra.kops",
            "infra.aws",
            "infra.labs",
        ),
    ),
    ("drivers", ("infra.kube", "infra.pulumi", "infra.ansible", "infra.proc", "infra.tools")),
    (
        "base",
        (
            "infra.state",
            "infra.contract",
            "infra.environments",
            "infra.errors",
            "infra.paths",
            "infra.ownership",
            "infra.console",
            "infra.reports",
            "infra",
        ),
    ),
)
RANK = {name: rank for rank, (name, _prefixes) in enumerate(LAYERS)}  # 0 is the highest


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO_ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _type_checking(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``): imports for annotations, never run."""
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _run_time_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under an ``if TYPE_CHECKING:`` block."""
    nodes: list[ast.AST] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        nodes.append(node)
        if _type_checking(node):
            pending.extend(node.orelse)  # type: ignore[attr-defined]
            continue
        pending.extend(ast.iter_child_nodes(node))
    return nodes


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The ``infra`` modules ``name`` imports at run time anywhere in its source, functions included
    (``from pkg import mod`` names mod); imports only for type checkers are not dependencies."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _run_time_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            for alias in node.names:
                child = f"{source}.{alias.name}"
                found.add(child if child in known else source)
    return {m for m in found if m in known and m != name}


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imported(name, path, set(found)) for name, path in found.items()}


def layer(name: str) -> str:
    if name == "infra":
        return "base"  # the package's own __init__
    for layer_name, prefixes in LAYERS:
        if any(name == p or name.startswith(p + ".") for p in prefixes if p != "infra"):
            return layer_name
    return ""


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def _graph_once() -> dict[str, set[str]]:
    return graph()  # every source of infra parsed: once for the module


@pytest.fixture
def edges(_graph_once: dict[str, set[str]]) -> dict[str, set[str]]:
    """The import graph of infra; a copy for each test."""
    return copy.deepcopy(_graph_once)


def test_the_graph_is_read_from_the_sources(edges):
    assert "infra.state" in edges["infra.kube"]  # a top-level import
    assert "infra.renderers" in edges["infra.planning"]  # a function-level (lazy) import counts too
    assert "infra.gitops.apply" in edges["infra.up"]


def test_type_checking_imports_are_not_dependencies():
    source = "if TYPE_CHECKING:\n    import infra.up\nelse:\n    import infra.paths\n"
    names = set()
    for node in _run_time_nodes(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    assert names == {"infra.paths"}


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle(edges):
    assert cycles(edges) == []


def test_every_module_has_a_layer(edges):
    assert [name for name in edges if not layer(name)] == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("infra.commands.up", "commands"),
        ("infra.up", "pipeline"),
        ("infra.gitops.drift", "services"),
        ("infra.ansible", "drivers"),
        ("infra.state", "base"),
        ("infra", "base"),
    ],
)
def test_layers_are_assigned_by_prefix(name, expected):
    assert layer(name) == expected


def test_no_module_imports_from_a_higher_layer(edges):
    upward = [
        f"{name} ({layer(name)}) imports {target} ({layer(target)})"
        for name, targets in sorted(edges.items())
        for target in sorted(targets)
        if layer(name) and layer(target) and RANK[layer(target)] < RANK[layer(name)]
    ]
    assert upward == []

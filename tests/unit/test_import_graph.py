"""The tree is the architecture (issue 14): read from the syntax trees of the service's packages,
without importing them, the domain imports no framework and nothing of the app outside itself,
the command line and the demo import nothing that imports them back, and no layer imports a layer
above it or a sibling beside it (LAYERS).

Every ``import`` counts, wherever it is written: at module level, inside a function (run when
the function is first called, so a loop there still ties the modules together), or under
``if TYPE_CHECKING:`` (read only by the type checker). Each edge says which it is. A package's
``__init__`` is an edge only where it is named; the one Python runs before a submodule is not.

Cycles elsewhere are printed (``-s``, or run this file: ``uv run python
tests/unit/test_import_graph.py``) and allowed only while they are in KNOWN_CYCLES, so a new one
fails, and so does one that is gone but still listed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "tenants", "config", "schemas")
# What app/domain may not import (DESIGN.md section 11; STYLE.md 1): a name or any below it.
FRAMEWORKS = ("flask", "sqlalchemy", "marshmallow")
# Packages that must be free of loops: each module in them is in no cycle at all.
ACYCLIC = ("app.cli", "app.demo")

# The cycles tolerated for now, each a strongly connected group of modules, with why; none is
# left (the last, app.services.cases.consents and the transfer services, was taken apart by
# composing the withdrawal above both in app.services.cases.consent_withdrawal).
KNOWN_CYCLES: dict[frozenset[str], str] = {}

# The layers, lowest first (DESIGN.md section 11): a module may import its own layer's modules
# and any layer below, never one above, and never a sibling written on the same line (web and api
# share app.http instead; schemas and services share the domain's vocabulary instead). A module
# is in the layer of the longest prefix that names it.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("app.domain", "config"),
    ("tenants", "app.security"),
    ("app.models",),
    ("app.db", "app.extensions", "app.logs", "app.migrate"),
    ("app.services", "schemas"),
    ("app.http",),
    ("app.web", "app.api"),
    ("app", "app.demo"),
    ("app.cli",),
)
# Entry points read by a program other than Python's import (gunicorn reads its configuration
# file and runs it as a script); they sit above every layer.
ENTRY_POINTS = frozenset({"config.gunicorn.conf"})


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    # "module", "function" (run at first call) or "type-checking" (never run)
    kind: str


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def source_files(root: Path = ROOT, packages: Iterable[str] = PACKAGES) -> dict[str, Path]:
    return {
        module_name(path, root): path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterable[tuple[ast.Import | ast.ImportFrom, str]]:
    """Every import statement with where it is written."""

    def walk(node: ast.AST, kind: str) -> Iterable[tuple[ast.Import | ast.ImportFrom, str]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, kind
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                yield from walk(child, "function")
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.body:
                    yield from walk(ast.Module(body=[statement], type_ignores=[]), "type-checking")
                for statement in child.orelse:
                    yield from walk(ast.Module(body=[statement], type_ignores=[]), kind)
            else:
                yield from walk(child, kind)

    return walk(tree, "module")


def imported_names(
    source: str, module: str, is_package: bool = False
) -> list[tuple[str, int, str]]:
    """(dotted name, line, kind) for each name a module's source imports: ``a.b`` for both
    ``import a.b`` and ``from a import b`` (``b`` may be a module, or a name defined in ``a``)."""
    found = []
    package = module if is_package else module.rpartition(".")[0]
    for node, kind in _imports(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, kind) for alias in node.names]
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            base = ".".join([*anchor, *([base] if base else [])])
        found += [(f"{base}.{alias.name}", node.lineno, kind) for alias in node.names]
    return found


def import_graph(files: Mapping[str, Path]) -> list[Edge]:
    """Edges between the modules in ``files``: an imported ``a.b.c`` is an edge to the module
    ``a.b.c`` if there is one, else to the nearest package above it that is there (where the
    imported name is defined). Imports from outside ``files`` are left out."""
    edges = set()
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        for name, line, kind in imported_names(path.read_text(), module, is_package):
            target = name
            while target and target not in files:
                target = target.rpartition(".")[0]
            if target and target != module:
                edges.add(Edge(module, target, line, kind))
    return sorted(edges, key=lambda e: (e.source, e.target, e.line))


def cycles(edges: Iterable[tuple[str, str]]) -> list[frozenset[str]]:
    """The strongly connected groups of more than one module, or of one importing itself
    (Tarjan's algorithm, without recursion so a deep graph cannot overflow the stack)."""
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        graph.setdefault(source, set()).add(target)
        graph.setdefault(target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    if len(group) > 1 or node in graph[node]:
                        found.append(frozenset(group))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return sorted(found, key=sorted)


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def framework_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    """What in a module breaks the domain's rule: a framework (or its extensions, flask_login and
    the like), or the app outside app.domain."""
    return [
        f"{module}:{line}: {name} ({kind})"
        for name, line, kind in imported_names(source, module, is_package)
        if any(_in(name, f) or name.startswith(f"{f}_") for f in FRAMEWORKS)
        or (_in(name, "app") and not _in(name, "app.domain"))
    ]


def cycles_touching(
    pairs: Iterable[tuple[str, str]], packages: Iterable[str]
) -> list[frozenset[str]]:
    """The cycles with a module of one of ``packages`` in them."""
    packages = tuple(packages)
    return [group for group in cycles(pairs) if any(_in(m, p) for m in group for p in packages)]


def unknown_cycles(
    pairs: Iterable[tuple[str, str]], known: Iterable[frozenset[str]]
) -> tuple[list[frozenset[str]], list[frozenset[str]]]:
    """The cycles not in ``known`` (new, or a known one grown or shrunk), and those in ``known``
    no longer found."""
    found, known = set(cycles(pairs)), set(known)
    return sorted(found - known, key=sorted), sorted(known - found, key=sorted)


def _describe(group: frozenset[str], edges: Iterable[Edge]) -> str:
    inside = [e for e in edges if e.source in group and e.target in group]
    lines = [f"cycle of {len(group)} modules:"]
    lines += [f"  {e.source}:{e.line} -> {e.target} ({e.kind})" for e in inside]
    return "\n".join(lines)


def report(edges: list[Edge]) -> str:
    found = cycles((e.source, e.target) for e in edges)
    if not found:
        return "no import cycles"
    return "\n".join(_describe(group, edges) for group in found)


@pytest.fixture(scope="module")
def files() -> dict[str, Path]:
    return source_files()


@pytest.fixture(scope="module")
def edges(files: dict[str, Path]) -> list[Edge]:
    return import_graph(files)


def test_domain_imports_no_framework_and_nothing_of_the_app_outside_itself(files):
    domain = {m: p for m, p in files.items() if _in(m, "app.domain")}
    assert len(domain) > 5  # the domain's modules were found (a moved folder would pass silently)
    offences = [
        offence
        for module, path in domain.items()
        for offence in framework_imports(path.read_text(), module, path.name == "__init__.py")
    ]
    assert offences == []


def test_cli_and_demo_modules_are_in_no_import_cycle(files, edges):
    assert any(m.startswith("app.cli.") for m in files)
    assert any(m.startswith("app.demo.") for m in files)
    looped = cycles_touching(((e.source, e.target) for e in edges), ACYCLIC)
    assert looped == [], "\n".join(_describe(group, edges) for group in looped)


def test_no_cycle_elsewhere_but_the_known_ones(edges):
    print(report(edges))  # for the next step: what each known cycle is made of
    new, gone = unknown_cycles(((e.source, e.target) for e in edges), KNOWN_CYCLES)
    described = "\n".join(_describe(group, edges) for group in new)
    assert new == [], "a new import cycle (or a known one grown or shrunk):\n" + described
    assert gone == [], "no longer a cycle: take it out of KNOWN_CYCLES"


def test_the_demo_stays_apart_from_the_service(edges):
    # Only the demo and its command import the demo (DESIGN.md section 11).
    into = [
        e
        for e in edges
        if _in(e.target, "app.demo")
        and not _in(e.source, "app.demo")
        and e.source != "app.cli.demo"
    ]
    assert into == []


def layer_of(module: str, layers: tuple[tuple[str, ...], ...] = LAYERS) -> tuple[int, str]:
    """(the layer's height, the name of the part within it) of the longest prefix naming it."""
    named = [
        (len(p), height, p) for height, row in enumerate(layers) for p in row if _in(module, p)
    ]
    if not named:
        raise LookupError(f"{module} is in no layer: add it to LAYERS")
    _, height, part = max(named)
    return height, part


def layer_breaches(
    edges: Iterable[Edge], layers: tuple[tuple[str, ...], ...] = LAYERS
) -> list[str]:
    """Each import of a layer above, or of a sibling part of the same layer."""
    found = []
    for edge in edges:
        if edge.source in ENTRY_POINTS:
            continue
        (source_height, source_part), (target_height, target_part) = (
            layer_of(edge.source, layers),
            layer_of(edge.target, layers),
        )
        upward = target_height > source_height
        sideways = target_height == source_height and target_part != source_part
        # A package's own __init__ (app) may import what it holds; the factory wires the layers.
        inward = edge.source == source_part and _in(edge.target, source_part)
        if (upward or sideways) and not inward:
            way = "up" if upward else "sideways"
            found.append(f"{edge.source}:{edge.line} -> {edge.target} ({edge.kind}, {way})")
    return found


def test_every_module_is_in_a_layer(files):
    assert [m for m in files if m not in ENTRY_POINTS and not _layered(m)] == []


def _layered(module: str) -> bool:
    try:
        layer_of(module)
    except LookupError:
        return False
    return True


def test_no_layer_imports_one_above_it_or_beside_it(edges):
    assert layer_breaches(edges) == []


# --- negative controls: the checks find what they look for -----------------------------------


def test_the_cycle_check_finds_a_synthetic_cycle():
    graph = [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a"), ("e", "e"), ("f", "g")]
    assert cycles(graph) == [frozenset({"a", "b", "c"}), frozenset({"e"})]
    assert cycles([("a", "b"), ("b", "c"), ("d", "a")]) == []


def test_the_cli_check_fails_on_a_loop_through_the_package():
    # The loop this step took apart, in the new tree's names: a group's helpers imported back
    # from the package that imports the group.
    graph = [
        ("app.cli", "app.cli.access"),
        ("app.cli.access", "app.cli"),
        ("app.cli.access", "app.cli.common"),
        ("app.services.cases", "app.models"),
    ]
    assert cycles_touching(graph, ACYCLIC) == [frozenset({"app.cli", "app.cli.access"})]
    assert cycles_touching(graph[2:], ACYCLIC) == []


def test_a_new_cycle_beside_the_known_ones_fails_and_a_fixed_one_must_be_struck_off():
    known = frozenset({"app.services.consents", "app.services.transfers"})
    graph = [
        ("app.services.consents", "app.services.transfers"),
        ("app.services.transfers", "app.services.consents"),
        ("app.models.cases", "app.models.people"),
        ("app.models.people", "app.models.cases"),
    ]
    new, gone = unknown_cycles(graph, [known])
    assert (new, gone) == ([frozenset({"app.models.cases", "app.models.people"})], [])
    new, gone = unknown_cycles(graph[2:], [known])
    assert gone == [known]


def test_a_function_level_import_closes_a_cycle_in_the_graph(tmp_path):
    # Two modules of a package on disk: one imports the other at module level, the other
    # imports it back inside a function (as app/cli.py and the app.cli_* modules did).
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import helper\n")
    (package / "b.py").write_text("def helper():\n    from pkg import a\n    return a\n")
    graph = import_graph(source_files(tmp_path, ["pkg"]))
    assert {(e.source, e.target, e.kind) for e in graph} == {
        ("pkg.a", "pkg.b", "module"),
        ("pkg.b", "pkg.a", "function"),
    }
    assert cycles((e.source, e.target) for e in graph) == [frozenset({"pkg.a", "pkg.b"})]


@pytest.mark.parametrize(
    "source",
    [
        "import flask",
        "from sqlalchemy.orm import Session",
        "def f():\n    from marshmallow import Schema",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app.models import Case",
        "from app.services import cases",
        "from app import create_app",
        "from ..services import cases",
        "from flask_login import current_user",
    ],
)
def test_the_domain_check_finds_a_framework_or_app_import(source):
    assert len(framework_imports(source, "app.domain.rules")) == 1


@pytest.mark.parametrize(
    ("source", "target", "way"),
    [
        ("app.services.cases", "app.web.forms", "up"),
        ("app.domain.consent", "app.models", "up"),
        ("app.api.cases", "app.web.errors", "sideways"),
        ("schemas.casework", "app.services.cases", "sideways"),
        ("app.db", "app.services.keys", "up"),
    ],
)
def test_the_layer_check_finds_an_import_upward_or_sideways(source, target, way):
    found = layer_breaches([Edge(source, target, 1, "module")])
    assert found == [f"{source}:1 -> {target} (module, {way})"]


def test_the_layer_check_allows_imports_downward_and_the_factory_wiring():
    edges = [
        Edge("app.web.cases", "app.http.errors", 1, "module"),
        Edge("app.services.cases", "app.domain.consent", 1, "module"),
        Edge("app.cli", "app", 1, "function"),
        Edge("app", "app.web", 1, "module"),
        Edge("config.gunicorn.conf", "app.logs", 1, "module"),
    ]
    assert layer_breaches(edges) == []


def test_the_domain_check_allows_the_domain_and_the_standard_library():
    source = "import dataclasses\nfrom app.domain.errors import NotFound\nfrom . import clock\n"
    assert framework_imports(source, "app.domain.rules") == []


if __name__ == "__main__":
    print(report(import_graph(source_files())))

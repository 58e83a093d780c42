"""No test module imports from another (issue 14): what tests share (fixtures, helpers, constants)
lives in tests/support/, one module per concept, or in tests/conftest.py, so a test module can be
moved, renamed or run alone, and pytest never collects one module's fixtures through another.

Read from the syntax trees of tests/**/*.py, without importing them. Every ``import`` counts,
wherever it is written, relative ones too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
# The synthetic sources below name the package through this, so that a grep of the suite for
# imports of test modules finds real ones only.
T = "tests"


def _module_name(path: Path) -> tuple[str, bool]:
    """The dotted name of a file under the project root, and whether it is a package's
    ``__init__``."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _is_test_module(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "tests" and parts[-1].startswith("test_")


def _imported_from(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute name ``from ... import`` reads from, relative imports resolved."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imported_test_modules(source: str, module: str, is_package: bool = False) -> list[str]:
    """The test modules (``tests.<dir>.test_*``) that ``source``, the module named ``module``,
    imports or imports from, other than itself."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _imported_from(node, module, is_package)
            # ``from tests.integration import test_audit`` names the module as an alias.
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        found.update(name for name in names if _is_test_module(name) and name != module)
    return sorted(found)


def test_no_test_module_imports_from_another():
    problems = []
    read = 0
    for path in sorted(TESTS.rglob("*.py")):
        module, is_package = _module_name(path)
        read += 1
        for imported in imported_test_modules(path.read_text(), module, is_package):
            problems.append(f"{path.relative_to(ROOT)} imports {imported}")
    # The walk read the suite, so it cannot pass by finding nothing to read.
    assert read > 50, f"only {read} files under {TESTS}"
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize(
    ("source", "module", "is_package", "found"),
    [
        (
            f"from {T}.integration.test_audit import _activity\n",
            "tests.integration.test_audit_checkpoint",
            False,
            ["tests.integration.test_audit"],
        ),
        (
            f"def helper():\n    import {T}.unit.test_totp as totp_tests\n",
            "tests.api.test_tokens",
            False,
            ["tests.unit.test_totp"],
        ),
        (
            f"from {T}.integration import test_dashboard\n",
            "tests.browser.test_ministry_dashboard",
            False,
            ["tests.integration.test_dashboard"],
        ),
        (
            "from .test_isolation_routes import GOOD_WRITES\n",
            "tests.integration.test_ministry_sees_no_case",
            False,
            ["tests.integration.test_isolation_routes"],
        ),
        (
            "from ..integration.test_reference_and_demo import empty_app\n",
            "tests.outsider",
            True,
            ["tests.integration.test_reference_and_demo"],
        ),
    ],
)
def test_an_import_of_another_test_module_is_found(source, module, is_package, found):
    # The negative control: each way of writing such an import is caught.
    assert imported_test_modules(source, module, is_package) == found


@pytest.mark.parametrize(
    "source",
    [
        "from tests.support.cases import desks\n",
        "from tests.conftest import csrf_from\n",
        "from tests.postgres.rls_checks import set_context\n",
        "from app.domain import audit_chain\n",
        f"script = 'from {T}.unit.test_totp import *'\n",
        "from .conftest import ARTIFACTS\n",
    ],
)
def test_imports_of_shared_code_are_not_found(source):
    assert imported_test_modules(source, "tests.browser.test_journeys") == []


def test_a_module_naming_itself_is_not_found():
    # A test may run its own module in a subprocess by name; that shares nothing.
    source = f"import {T}.unit.test_release_draft\n"
    assert imported_test_modules(source, "tests.unit.test_release_draft") == []

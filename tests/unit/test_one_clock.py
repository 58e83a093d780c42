"""One clock: nothing in the service or its tests reads the wall clock except the clock itself.

The service is dated by the clock ``create_app`` takes (app.domain.clock); a test's app, desks
and command line read the test's clock (tests/support/clock.py). A stray ``datetime.now()`` makes
a test pass at 10:00 and fail at 04:26 (issue 11), so this reads every module's syntax tree and
names any call that asks the machine what time or day it is.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ("app", "tenants", "config", "schemas", "migrations")
# Calls that read the wall clock or the machine's local day.
WALL_CLOCK = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
    ("time", "ctime"),
}
# The one place each side may: the service's system clock, and the test clock's nothing.
ALLOWED = {"app/domain/clock.py"}


def _calls(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and (func.value.id, func.attr) in WALL_CLOCK
        ):
            found.append((node.lineno, f"{func.value.id}.{func.attr}()"))
        if isinstance(func, ast.Name) and func.id == "system_clock":
            found.append((node.lineno, "system_clock()"))
    return found


def _modules(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def _offences(paths: list[Path]) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line}: {call}"
        for path in paths
        if str(path.relative_to(ROOT)) not in ALLOWED
        for line, call in _calls(path)
    ]


def test_the_service_reads_time_only_through_its_clock():
    assert _offences(_modules(*SERVICE)) == []


def test_no_test_or_benchmark_reads_the_wall_clock_behind_the_apps_back():
    assert _offences(_modules("tests", "bench")) == []


def test_every_app_a_test_makes_is_given_the_tests_clock():
    bare = []
    for path in _modules("tests"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "create_app"
                and len(node.args) + len(node.keywords) < 2
            ):
                bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bare == []


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import datetime\nx = datetime.now()",
        "from datetime import date\nx = date.today()",
        "import time\nx = time.time()",
        "from app.domain.clock import system_clock\nx = system_clock()",
    ],
)
def test_the_check_finds_a_wall_clock_read(tmp_path, source):
    # Negative control: each kind of read the check looks for is found when it is there.
    module = tmp_path / "stray.py"
    module.write_text(source)
    assert len(_calls(module)) == 1

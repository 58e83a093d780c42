"""The audit trail as the web leaves it: a little activity that writes events to two charities'
chains, the chain each charity's events go to, and ``continuum audit verify`` run over them."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.support.world import World


def chain_of(world: World, slug: str) -> str:
    """The chain a charity's events go to: named by the charity's id."""
    return str(world.organisations[slug])


def activity(world: World, signed_in: Callable[[str], FlaskClient]) -> None:
    """Four events in POPS's chain (sign-in, list, read, refusal) and two in NEPACS's."""
    pops = signed_in("pops_liverpool")
    pops.get("/cases")
    pops.get(f"/cases/{world.cases[('pops', 'LPI')]}")
    pops.get(f"/cases/{world.cases[('nepacs', 'DMI')]}")
    signed_in("nepacs_durham").get("/cases")


def verify_audit(app: Flask, *args: str) -> tuple[int, list[str]]:
    """``continuum audit verify`` with ``args``: its exit code and its lines."""
    result = app.test_cli_runner().invoke(args=["audit", "verify", *args])
    return result.exit_code, result.output.splitlines()

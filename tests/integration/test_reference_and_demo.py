"""Reference data (prisons, services) and the demo command, on both databases."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import create_app
from app.domain.errors import InvalidInput, ServiceOverlap
from app.models import Case, Organisation, Prison, Service, User
from app.services.reference import load_prisons, serving_charity, start_service
from config import load_settings
from tests.conftest import SECRET_KEY


def test_prison_register_is_loaded_whole_and_reloading_changes_nothing(owner_sessions, world):
    with owner_sessions() as session:
        assert session.scalar(select(func.count()).select_from(Prison)) == 173
        assert session.get(Prison, "LPI").name == "Liverpool (HMP)"
        assert session.get(Prison, "KTI").active is False
        assert load_prisons(session) == (0, 0)


def test_two_charities_cannot_serve_one_prison_on_the_same_day(owner_sessions, world):
    with owner_sessions() as session:
        nepacs = session.get(Organisation, world.organisations["nepacs"])
        with pytest.raises(ServiceOverlap):
            start_service(session, nepacs, "LPI", date(2026, 1, 1))


def test_the_database_itself_refuses_an_overlapping_service(owner_sessions, world):
    with owner_sessions() as session:
        session.add(
            Service(
                charity_id=world.organisations["nepacs"],
                prison_code="LPI",
                starts_on=date(2021, 1, 1),
                ends_on=date(2022, 1, 1),
            )
        )
        with pytest.raises(IntegrityError):
            session.flush()


def test_a_retender_ends_one_service_and_starts_another(owner_sessions, world):
    with owner_sessions() as session:
        service = session.scalar(select(Service).where(Service.prison_code == "DMI"))
        service.ends_on = date(2026, 4, 1)
        session.flush()
        pops = session.get(Organisation, world.organisations["pops"])
        start_service(session, pops, "DMI", date(2026, 4, 1))
        session.commit()
        assert serving_charity(session, "DMI", date(2026, 3, 31)) == world.organisations["nepacs"]
        assert serving_charity(session, "DMI", date(2026, 4, 1)) == world.organisations["pops"]


def test_only_a_charity_can_serve_a_prison(owner_sessions, world):
    with owner_sessions() as session:
        ministry = session.get(Organisation, world.organisations["ministry"])
        with pytest.raises(InvalidInput) as refused:
            start_service(session, ministry, "BMI", date(2026, 1, 1))
        assert "charity" in refused.value.errors


@pytest.fixture
def empty_app(empty_database, tmp_path):
    settings = load_settings(
        environ={},
        instance_path=tmp_path / "instance",
        database_url=empty_database.app_url,
        migration_database_url=empty_database.owner_url,
        secret_key=SECRET_KEY,
        testing=True,
    )
    app = create_app(settings)
    yield app
    app.extensions["continuum"].engine.dispose()


def test_demo_sets_up_an_empty_database_and_reuses_it_when_run_again(empty_app, tmp_path):
    runner = empty_app.test_cli_runner()
    first = runner.invoke(args=["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    assert re.search(r"added \d+ cases", first.output)
    credentials_file = tmp_path / "instance" / "demo-credentials.json"
    credentials = json.loads(credentials_file.read_text())
    roles = {entry["role"] for entry in credentials.values()}
    assert roles == {
        "caseworker",
        "site_manager",
        "charity_admin",
        "alliance_coordinator",
        "ministry_analyst",
        "platform_operator",
    }
    assert credentials_file.stat().st_mode & 0o077 == 0
    if empty_app.extensions["continuum"].settings.database_url.startswith("sqlite"):
        database_file = empty_app.extensions["continuum"].settings.database_url.removeprefix(
            "sqlite:///"
        )
        # The database holds case data: the service's own user only.
        assert Path(database_file).stat().st_mode & 0o077 == 0
    for entry in credentials.values():
        assert entry["password"] in first.output
    second = runner.invoke(args=["demo", "--no-serve"])
    assert second.exit_code == 0, second.output
    assert "data reused" in second.output
    code = runner.invoke(args=["demo-code", "pops/liverpool.worker"])
    assert re.fullmatch(r"\d{6}\n", code.output)
    with empty_app.extensions["continuum"].session_factory() as session:
        users = session.scalar(select(func.count()).select_from(User))
        assert users == len(credentials)
        # Hindley changed hands: Pact until the re-tender, POPS after.
        hindley = session.scalars(
            select(Service).where(Service.prison_code == "HII").order_by(Service.starts_on)
        ).all()
        assert [s.charity.slug for s in hindley] == ["pact", "pops"]
        assert hindley[0].ends_on == hindley[1].starts_on
    from app.demo import CHARITIES
    from tenants.context import TenantContext
    from tenants.guard import bind_tenant
    from tenants.permissions import Role

    for spec in CHARITIES:
        with empty_app.extensions["continuum"].session_factory() as session:
            charity = session.scalar(select(Organisation).where(Organisation.slug == spec.slug))
            prisons = frozenset(code for code, _, _ in spec.services)
            bind_tenant(session, TenantContext(charity.id, prisons, Role.SITE_MANAGER))
            # Every prison the charity serves or served has demo cases, and only those.
            assert set(session.scalars(select(Case.prison_code).distinct())) == prisons

"""Reference data (prisons, services) and the demo command, on both databases."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.demo import words
from app.demo.charities import CHARITIES
from app.demo.records import plan_demo_histories, women_prisons
from app.demo.transfer_stories import families_held_by, plan_transfer_stories
from app.domain.errors import InvalidInput, ServiceOverlap
from app.domain.outcomes import framework
from app.domain.vocabulary import Disability, Ethnicity, Sex
from app.models import (
    ActionItem,
    Case,
    CaseNote,
    ConsentRecord,
    Contact,
    EqualityMonitoring,
    FamilyMember,
    Organisation,
    OutcomeAssessment,
    OutcomeScore,
    Prison,
    Service,
    User,
)
from app.services.cases.caseload import caseload
from app.services.cases.cases import summarise
from app.services.cases.equality import EqualityAnswers
from app.services.platform.audit import Origin
from app.services.platform.reference import load_prisons, serving_charity, start_service
from app.services.platform.vault import vault_for
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role
from tests.support.demo import DEMO_FAMILIES, DEMO_TODAY, charity_context

# Minutes, not seconds: CI runs them always; a quick local run may leave them out with
# -m 'not end_to_end' (docs/testing.md).
pytestmark = pytest.mark.end_to_end


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


# The demo's histories alone, without the bulk background (tested in test_demo_background).
NO_BACKGROUND = ("--background", "0")


def _count_by_case(session, model, **where) -> dict:
    query = select(model.case_id, func.count()).group_by(model.case_id)
    for column, value in where.items():
        query = query.where(getattr(model, column) == value)
    return dict(session.execute(query).tuples().all())


def test_demo_sets_up_an_empty_database_and_reuses_it_when_run_again(empty_app, tmp_path):
    runner = empty_app.test_cli_runner()
    options = ["--families", str(DEMO_FAMILIES), *NO_BACKGROUND, "--today", DEMO_TODAY.isoformat()]
    first = runner.invoke(args=["demo", "--no-serve", *options])
    assert first.exit_code == 0, first.output
    assert f"added {DEMO_FAMILIES} case histories" in first.output
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
    sessions = empty_app.extensions["continuum"].session_factory
    cases_before = _all_case_ids(empty_app)
    second = runner.invoke(args=["demo", "--no-serve", *options])
    assert second.exit_code == 0, second.output
    assert "data reused" in second.output
    assert _all_case_ids(empty_app) == cases_before
    code = runner.invoke(args=["demo-code", "pops/liverpool.worker"])
    assert re.fullmatch(r"\d{6}\n", code.output)
    with sessions() as session:
        users = session.scalar(select(func.count()).select_from(User))
        assert users == len(credentials)
        # Hindley changed hands: Pact until the re-tender, POPS after.
        hindley = session.scalars(
            select(Service).where(Service.prison_code == "HII").order_by(Service.starts_on)
        ).all()
        assert [s.charity.slug for s in hindley] == ["pact", "pops"]
        assert hindley[0].ends_on == hindley[1].starts_on


def _all_case_ids(app) -> set:
    found = set()
    for spec in CHARITIES:
        with app.extensions["continuum"].session_factory() as session:
            bind_tenant(session, charity_context(session, spec))
            found |= set(session.scalars(select(Case.id)))
    return found


def test_demo_writes_the_generators_histories_whole_and_the_caseworker_can_read_them(empty_app):
    result = empty_app.test_cli_runner().invoke(
        args=[
            "demo",
            "--no-serve",
            "--families",
            str(DEMO_FAMILIES),
            *NO_BACKGROUND,
            "--today",
            str(DEMO_TODAY),
        ]
    )
    assert result.exit_code == 0, result.output
    state = empty_app.extensions["continuum"]
    with state.session_factory() as session:
        plans = plan_demo_histories(DEMO_TODAY, DEMO_FAMILIES, women_prisons(session))
    assert sum(len(p) for p in plans.values()) == DEMO_FAMILIES
    areas = set(framework().area_codes())
    for spec in CHARITIES:
        mine = {plan.reference: plan for plan in plans[spec.slug]}
        with state.session_factory() as session:
            context = charity_context(session, spec)
            bind_tenant(session, context)
            every = {case.reference: case for case in session.scalars(select(Case))}
            # Every prison the charity serves or served has demo cases, and only those.
            assert {case.prison_code for case in every.values()} == context.prison_codes
            # The histories, and the families of the demo's transfers (tested on their own in
            # test_demo_transfers): the ones it sent, and the ones it accepted.
            rows = {reference: case for reference, case in every.items() if reference in mine}
            assert set(rows) == set(mine)
            vault = vault_for(session, state.root_key)
            moved = summarise(session, vault, [c for r, c in every.items() if r not in mine])
            assert Counter(s.person_name for s in moved) == Counter(
                family.person.name
                for family in families_held_by(plan_transfer_stories(DEMO_TODAY), spec.slug)
            )
            contacts = _count_by_case(session, Contact)
            assessments = _count_by_case(session, OutcomeAssessment)
            actions = _count_by_case(session, ActionItem)
            notes = _count_by_case(session, CaseNote)
            consents = _count_by_case(session, ConsentRecord)
            contact_consents = _count_by_case(
                session, ConsentRecord, purpose="contact", decision="given"
            )
            for reference, plan in mine.items():
                case = rows[reference]
                assert case.status == plan.status.value
                assert case.closure_reason == (plan.closure_reason and plan.closure_reason.value)
                assert contacts.get(case.id, 0) == len(plan.contacts) >= 1
                assert assessments.get(case.id, 0) == len(plan.assessments)
                assert actions.get(case.id, 0) == len(plan.actions)
                assert notes.get(case.id, 0) == len(plan.notes) >= 1
                withdrawn = sum(c.withdrawn_on is not None for c in plan.consents)
                assert consents.get(case.id, 0) == len(plan.consents) + withdrawn
                if case.status in ("active", "closed"):
                    # Support goes ahead only once the family agrees to be contacted.
                    assert contact_consents.get(case.id, 0) >= 1
                    assert 1 <= assessments[case.id] <= 4
            for assessment in session.scalars(select(OutcomeAssessment)):
                scores = session.scalars(
                    select(OutcomeScore).where(OutcomeScore.assessment_id == assessment.id)
                ).all()
                assert {s.area for s in scores} == areas
                assert all(1 <= s.score <= 10 for s in scores)
            shown = {
                (s.case.reference, s.person_name, s.prison_number, s.main_contact)
                for s in summarise(session, vault, list(rows.values()))
            }
            assert shown == {
                (
                    p.reference,
                    p.family.person.name,
                    p.family.person.prison_number,
                    p.family.members[0].name,
                )
                for p in mine.values()
            }
    everything = [plan for charity in plans.values() for plan in charity]
    # The demo shows the states a caseworker meets: computed from the plans, found in the data.
    assert any(p.review_due_on < DEMO_TODAY and p.status.value != "closed" for p in everything)
    assert any(
        a.status.value == "open" and a.due_on < DEMO_TODAY for p in everything for a in p.actions
    )
    assert any(a.status.value == "done" for p in everything for a in p.actions)
    assert any(c.decision.value == "refused" for p in everything for c in p.consents)
    assert any(c.withdrawn_on is not None for p in everything for c in p.consents)
    assert any(p.closure_reason is not None for p in everything)
    assert any(len(p.assessments) > 1 for p in everything)
    # Signing in as the demo caseworker at Liverpool shows her cases, reviews and recent contacts.
    with state.session_factory() as session:
        worker = session.scalar(select(User).where(User.username == "liverpool.worker"))
        context = TenantContext(
            worker.organisation_id, worker.prison_codes, Role.CASEWORKER, worker.id
        )
        bind_tenant(session, context)
        origin = Origin("test", clock=lambda: datetime.combine(DEMO_TODAY, time(12), UTC))
        home = caseload(session, context, origin, vault_for(session, state.root_key))
    assert home.mine and home.reviews_due and home.recent
    assert all(s.person_name and s.prison_number for s in home.mine)


def test_demo_gives_most_members_equality_answers_kept_with_their_own_member(empty_app):
    result = empty_app.test_cli_runner().invoke(
        args=[
            "demo",
            "--no-serve",
            "--families",
            str(DEMO_FAMILIES),
            *NO_BACKGROUND,
            "--today",
            str(DEMO_TODAY),
        ]
    )
    assert result.exit_code == 0, result.output
    state = empty_app.extensions["continuum"]
    with state.session_factory() as session:
        plans = plan_demo_histories(DEMO_TODAY, DEMO_FAMILIES, women_prisons(session))
    planned = [answers for charity in plans.values() for p in charity for answers in p.equality]
    answered = [answers for answers in planned if answers is not None]
    # Most members answer and some give none: computed from the generator, found in the data.
    assert len(planned) / 2 < len(answered) < len(planned)
    languages = {words.ENGLISH} | {
        language for options in words.OTHER_LANGUAGES.values() for language, _ in options
    }
    written = 0
    for spec in CHARITIES:
        mine = {plan.reference: plan for plan in plans[spec.slug]}
        with state.session_factory() as session:
            bind_tenant(session, charity_context(session, spec))
            members = {member.id: member for member in session.scalars(select(FamilyMember))}
            case_of = {case.family_id: case for case in session.scalars(select(Case))}
            found: dict[str, Counter] = {}
            for row in session.scalars(select(EqualityMonitoring)):
                member = members[row.family_member_id]
                case = case_of[member.family_id]
                # Each answer sits with a member of the same charity, at the case's prison.
                assert (row.charity_id, row.prison_code) == (member.charity_id, member.prison_code)
                assert (row.charity_id, row.prison_code) == (case.charity_id, case.prison_code)
                assert row.ethnicity in {e.value for e in Ethnicity}
                assert row.sex in {s.value for s in Sex}
                assert row.disability in {d.value for d in Disability}
                assert row.first_language is None or row.first_language in languages
                answers = EqualityAnswers(
                    Ethnicity(row.ethnicity),
                    Sex(row.sex),
                    Disability(row.disability),
                    row.first_language,
                )
                found.setdefault(case.reference, Counter())[answers] += 1
                written += 1
        expected = {
            reference: Counter(answers for answers in plan.equality if answers is not None)
            for reference, plan in mine.items()
            if any(plan.equality)
        }
        assert found == expected
        # A referral still waiting for the family to agree holds no answers.
        waiting = {r for r, p in mine.items() if p.status.value in ("referred", "awaiting_consent")}
        assert not waiting & set(found)
    assert written == len(answered)

"""The case list: filters, pages, and a count that stops at COUNT_CAP."""

from __future__ import annotations

from datetime import date, timedelta

from app.models import CaseStatus
from app.services.cases.cases import COUNT_CAP, CaseFilter, page_of_cases
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role
from tests.support.cases import add_family, case_row


def _liverpool(world):
    return TenantContext(world.organisations["pops"], frozenset({"LPI"}), Role.CASEWORKER)


def _add_cases(app_sessions, world, n, status=CaseStatus.ACTIVE):
    context = _liverpool(world)
    with app_sessions() as session:
        bind_tenant(session, context)
        # One family with many support episodes: the list counts cases, not families.
        family_id = add_family(session, context.charity_id, "LPI")
        session.add_all(
            case_row(
                context.charity_id,
                "LPI",
                family_id,
                reference=f"LPI-T-{i:05d}",
                status=status,
                opened_on=date(2024, 1, 1) + timedelta(days=i % 700),
            )
            for i in range(n)
        )
        session.commit()


def test_a_long_list_counts_up_to_the_cap_and_says_so(app_sessions, world, signed_in):
    _add_cases(app_sessions, world, COUNT_CAP + 5)
    with app_sessions() as session:
        bind_tenant(session, _liverpool(world))
        page = page_of_cases(session, _liverpool(world), CaseFilter(), page=1, per_page=25)
    assert page.total == COUNT_CAP and page.total_capped
    assert len(page.items) == 25
    opened = [case.opened_on for case in page.items]
    assert opened == sorted(opened, reverse=True)
    response = signed_in("pops_liverpool").get("/cases")
    assert f"More than {COUNT_CAP:,} cases" in response.text


def test_a_short_list_counts_exactly(app_sessions, world, bearer, app):
    _add_cases(app_sessions, world, 30, CaseStatus.CLOSED)
    client = app.test_client()
    headers = bearer("pops_liverpool")
    everything = client.get("/api/v1/cases?per_page=100", headers=headers).json
    assert everything["meta"] == {
        "page": 1,
        "per_page": 100,
        "total": 31,
        "pages": 1,
        "total_capped": False,
    }
    closed = client.get("/api/v1/cases?status=closed&per_page=10&page=3", headers=headers).json
    assert closed["meta"]["total"] == 30 and len(closed["items"]) == 10
    assert {item["status"] for item in closed["items"]} == {"closed"}
    dated = client.get(
        "/api/v1/cases?opened_from=2024-01-01&opened_to=2024-01-10", headers=headers
    ).json
    assert {item["opened_on"] for item in dated["items"]} <= {
        f"2024-01-{day:02d}" for day in range(1, 11)
    }
    assert dated["meta"]["total"] == 10

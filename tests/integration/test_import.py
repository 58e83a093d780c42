"""`continuum import cases FILE --charity SLUG`: a charity's spreadsheet in, all rows or none."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import AuditEntry, Case, Organisation, Service
from app.services.cases import family_file, search
from app.services.cases.imports import COLUMNS
from app.services.platform.audit import Origin
from app.services.platform.reference import start_service
from app.services.platform.vault import vault_for
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "cases-import.csv"


def _row(**cells: str) -> dict[str, str]:
    """A good row for POPS at Liverpool; a test changes the cells it is about."""
    return {
        "prison_code": "LPI",
        "opened_on": "2026-01-12",
        "referral_source": "prison_staff",
        "person_name": "Imported Person",
        "prison_number": "Q1111AA",
        "person_date_of_birth": "1990-02-03",
        "expected_release_on": "2027-05-01",
        "contact_name": "Imported Contact",
        "contact_relationship": "partner",
        "contact_phone": "07700 900111",
        "contact_email": "imported.contact@example.org",
        "needs": "visits;finance",
        "safeguarding": "no",
        "review_due_on": "",
        **cells,
    }


def _write(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _import(app, path: Path, charity: str = "pops"):
    return app.test_cli_runner().invoke(args=["import", "cases", str(path), "--charity", charity])


def _manager(world) -> TenantContext:
    actor = world.actors["pops_manager"]
    return TenantContext(
        world.organisations["pops"], frozenset(actor.prisons), Role.SITE_MANAGER, actor.user_id
    )


def _pops_cases(app_sessions, world) -> int:
    with app_sessions() as session:
        bind_tenant(session, _manager(world))
        return session.scalar(select(func.count()).select_from(Case)) or 0


def _audit_events(app_sessions) -> int:
    with app_sessions() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_pops_import_of_a_good_file_opens_every_case_readable_through_the_services(
    app, app_sessions, world, tmp_path
):
    rows = [
        _row(),
        _row(
            prison_code="WDI",
            person_name="Second Imported",
            prison_number="q 2222 ab",
            needs="",
            safeguarding="yes",
            contact_name="",
            contact_relationship="",
            contact_phone="",
            contact_email="",
            review_due_on="2026-02-20",
        ),
        _row(person_name="Third Imported", prison_number="Q3333AC", referral_source="school"),
    ]
    before = _pops_cases(app_sessions, world)
    events = _audit_events(app_sessions)
    result = _import(app, _write(tmp_path / "cases.csv", rows))
    assert result.exit_code == 0, result.output
    assert f"imported {len(rows)} cases for pops" in result.output
    assert _pops_cases(app_sessions, world) == before + len(rows)
    # One audit event per case, as when a worker opens one.
    assert _audit_events(app_sessions) == events + len(rows)
    context = _manager(world)
    origin = Origin("test", app.extensions["continuum"].clock)
    with app_sessions() as session:
        bind_tenant(session, context)
        vault = vault_for(session, app.extensions["continuum"].root_key)
        for row in rows:
            number = "".join(row["prison_number"].split()).upper()
            [found] = search.find_cases(session, context, origin, vault, number)
            assert (found.person_name, found.prison_number) == (row["person_name"], number)
            assert found.case.prison_code == row["prison_code"]
            assert found.main_contact == (row["contact_name"] or None)
            file = family_file.read_family(session, context, origin, vault, found.case.id)
            assert set(file.needs) == {n for n in row["needs"].split(";") if n}
            assert file.case.safeguarding is (row["safeguarding"] == "yes")
            assert file.case.key_worker_id is None
            assert str(file.person.date_of_birth) == row["person_date_of_birth"]
            if row["contact_name"]:
                [contact] = file.members
                assert (contact.phone, contact.email) == (
                    row["contact_phone"],
                    row["contact_email"],
                )
            if row["review_due_on"]:
                assert str(file.case.review_due_on) == row["review_due_on"]


def test_the_example_file_in_the_docs_imports_into_pops(app, app_sessions, world, clock):
    # On any morning after the example's last case opened, wherever the clock sweep puts the default.
    clock.set(datetime.combine(_last_opened_on(EXAMPLE) + timedelta(days=1), time(9, 30), UTC))
    result = _import(app, EXAMPLE)
    assert result.exit_code == 0, result.output
    with EXAMPLE.open(encoding="utf-8") as handle:
        assert f"imported {len(list(csv.DictReader(handle)))} cases" in result.output


def _last_opened_on(path: Path) -> date:
    with path.open(encoding="utf-8") as handle:
        return max(date.fromisoformat(row["opened_on"]) for row in csv.DictReader(handle))


def test_a_file_with_bad_rows_among_good_ones_writes_nothing_and_names_each_problem(
    app, app_sessions, world, tmp_path
):
    # Two days ahead of the command's clock (the app's, a UTC day).
    tomorrow = (app.extensions["continuum"].clock().date() + timedelta(days=2)).isoformat()
    known_number = world.people[("pops", "LPI")][0]
    # (row's cells, the column blamed, words of the reason); the file's row 2 is the first.
    bad = [
        ({"prison_number": "12345"}, "prison_number", "like A1234BC"),
        ({"prison_code": "XYZ"}, "prison_code", "no prison has the code XYZ"),
        ({"prison_code": "DMI"}, "prison_code", "never served DMI"),
        ({"opened_on": "2025-02-30"}, "opened_on", "Not a valid date"),
        ({"opened_on": tomorrow}, "opened_on", "cannot be in the future"),
        ({"person_date_of_birth": tomorrow}, "person_date_of_birth", "must be in the past"),
        ({"needs": "visits;astrology"}, "needs", "unknown need 'astrology'"),
        ({"person_name": "N" * 201}, "person_name", "between 1 and 200"),
        ({"person_name": ""}, "person_name", "must not be empty"),
        ({"referral_source": "rumour"}, "referral_source", "Must be one of"),
        ({"contact_relationship": "pen pal"}, "contact_relationship", "Must be one of"),
        ({"safeguarding": "perhaps"}, "safeguarding", "Not a valid boolean"),
        ({"review_due_on": "2025-12-01"}, "review_due_on", "before the case opens"),
        ({"prison_number": known_number}, "prison_number", "already has an open case"),
        ({"prison_number": "Q1111AA"}, "prison_number", "also in row 2"),
    ]
    rows = [_row()]
    for n, (cells, _, _) in enumerate(bad):
        numbered = {"prison_number": f"Q{5000 + n}ZZ", **cells}
        rows.append(_row(**numbered))
    rows.append(_row(prison_number="Q9999ZY", person_name="Good After The Bad"))
    before = _pops_cases(app_sessions, world)
    events = _audit_events(app_sessions)
    result = _import(app, _write(tmp_path / "mixed.csv", rows))
    assert result.exit_code == 1
    report = result.stderr.splitlines()
    for n, (_, column, reason) in enumerate(bad):
        row_number = n + 3
        assert any(
            line.startswith(f"row {row_number}, {column}: ") and reason in line for line in report
        ), (row_number, column, reason, report)
    # Only the bad rows are named, each once per problem.
    named = {int(line.split(",")[0].removeprefix("row ")) for line in report[:-1]}
    assert named == set(range(3, len(bad) + 3))
    assert report[-1].endswith("nothing was imported")
    assert _pops_cases(app_sessions, world) == before
    assert _audit_events(app_sessions) == events


@pytest.mark.parametrize(
    ("columns", "words"),
    [
        (
            tuple(c for c in COLUMNS if c != "prison_number"),
            "missing required columns: prison_number",
        ),
        ((*COLUMNS, "favourite_colour"), "unknown columns: favourite_colour"),
        ((*COLUMNS, "needs"), "repeated columns: needs"),
    ],
    ids=["missing-required-column", "unknown-column", "repeated-column"],
)
def test_a_file_with_a_bad_header_is_refused_whole_with_exit_2(
    app, app_sessions, world, tmp_path, columns, words
):
    before = _pops_cases(app_sessions, world)
    result = _import(app, _write(tmp_path / "header.csv", [_row()], columns))
    assert result.exit_code == 2
    assert words in result.stderr
    assert _pops_cases(app_sessions, world) == before


@pytest.mark.parametrize(
    ("charity", "words"),
    [("nobody", "no organisation 'nobody'"), ("ministry", "ministry is not a charity")],
)
def test_an_import_for_an_unknown_charity_or_not_a_charity_is_refused_with_exit_2(
    app, world, tmp_path, charity, words
):
    result = _import(app, _write(tmp_path / "cases.csv", [_row()]), charity)
    assert result.exit_code == 2
    assert words in result.stderr


def test_nepacs_cannot_import_a_row_at_a_pops_prison_and_pops_keeps_nothing_new(
    app, app_sessions, world, tmp_path
):
    before = _pops_cases(app_sessions, world)
    result = _import(app, _write(tmp_path / "cases.csv", [_row()]), "nepacs")
    assert result.exit_code == 1
    assert "row 2, prison_code: the charity has never served LPI" in result.stderr
    assert _pops_cases(app_sessions, world) == before


def test_pops_still_imports_history_at_a_prison_it_no_longer_serves_and_nepacs_at_its_new_one(
    app, app_sessions, owner_sessions, world, tmp_path
):
    # A re-tender: Wakefield passes from POPS to NEPACS.
    with owner_sessions() as session:
        service = session.scalar(select(Service).where(Service.prison_code == "WDI"))
        service.ends_on = date(2025, 4, 1)
        session.flush()
        nepacs = session.get(Organisation, world.organisations["nepacs"])
        start_service(session, nepacs, "WDI", date(2025, 4, 1))
        session.commit()
    old = _row(prison_code="WDI", opened_on="2024-06-03", prison_number="Q4444AD")
    result = _import(app, _write(tmp_path / "pops.csv", [old]))
    assert result.exit_code == 0, result.output
    new = _row(prison_code="WDI", opened_on="2025-06-02", prison_number="Q5555AE")
    result = _import(app, _write(tmp_path / "nepacs.csv", [new]), "nepacs")
    assert result.exit_code == 0, result.output

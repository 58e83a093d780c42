"""What one audited family read costs the database (issue 13): one transaction and one commit,
no write but its audit event, no context round trip of its own, and no reference table read
for a case that never moved. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask
from sqlalchemy import event, func, select

from app.models import AuditEntry
from tests.support.api_bodies import CASES, open_family

# The token with its user and the user's prisons, the case with its prison, its transfers, the
# family file's records with the staff who wrote them (one UNION ALL:
# app.services.cases.family_records), and the audit append (the chain's lock, its last event, the
# insert). The charity's data keys are not read again once this process has unwrapped them
# (app.security.key_cache.DataKeyCache).
MOST_STATEMENTS = 7


@dataclass
class Sent:
    statements: list[str] = field(default_factory=list)
    commits: int = 0


@pytest.fixture
def sent(app: Flask) -> Iterator[Sent]:
    engine = app.extensions["continuum"].engine
    seen = Sent()

    def statement(_conn, _cursor, text, *_args) -> None:
        seen.statements.append(" ".join(text.split()))

    def commit(_conn) -> None:
        seen.commits += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    yield seen
    event.remove(engine, "before_cursor_execute", statement)
    event.remove(engine, "commit", commit)


def test_a_family_read_is_one_commit_whose_only_write_is_its_audit_event(
    app, bearer, sent, all_rows
):
    headers = bearer("pops_liverpool")
    client = app.test_client()
    family = open_family(client, headers)
    url = f"{CASES}/{family.case_id}/family"
    assert client.get(url, headers=headers).status_code == 200
    with all_rows() as session:
        events = session.scalar(select(func.count()).select_from(AuditEntry))
    sent.statements.clear()
    sent.commits = 0

    assert client.get(url, headers=headers).status_code == 200

    writes = [s for s in sent.statements if s.split()[0] in ("INSERT", "UPDATE", "DELETE")]
    assert [w.split()[2] for w in writes] == ["audit_events"]
    assert sent.commits == 1
    assert not any("set_config" in s for s in sent.statements)
    assert not any(s.endswith(("FROM prisons", "FROM organisations")) for s in sent.statements)
    assert not any("FROM data_keys" in s for s in sent.statements)
    assert len(sent.statements) <= MOST_STATEMENTS, "\n".join(sent.statements)
    with all_rows() as session:
        # Still audited, once.
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == events + 1


def test_the_family_page_reads_its_prison_in_the_reads_one_transaction(
    app, bearer, signed_in, sent
):
    family = open_family(app.test_client(), bearer("pops_liverpool"))
    browser = signed_in("pops_liverpool")
    url = f"/cases/{family.case_id}"
    assert browser.get(url).status_code == 200
    sent.statements.clear()
    sent.commits = 0

    page = browser.get(url)

    assert page.status_code == 200
    assert "Liverpool (HMP)" in page.text
    assert sent.commits == 1
    # The prison came with the case, before the commit: no statement of its own after it.
    assert not any(s.startswith("SELECT prisons.") for s in sent.statements)

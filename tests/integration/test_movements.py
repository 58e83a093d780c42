"""`continuum movements import FILE`: the platform proposes a transfer when a person in custody
moves to a prison another member charity serves, matching by the sender's own blind index only,
and tells the receiver nothing."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.domain.audit_chain import PLATFORM_CHAIN
from app.domain.transfers.machine import Party, TransferOrigin, TransferReason, TransferState
from app.models import AuditEntry, CaseTransfer, CaseTransferStep, Notification
from app.services.platform.audit import verify
from app.services.platform.vault import vault_for
from app.services.transfers import movements
from app.services.transfers.movements import COLUMNS
from tests.support.cases import TODAY, origin_on

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "movements.csv"
MOVED_ON = date(2026, 3, 1)


def _file(*rows: tuple[str, str, str, str]) -> str:
    lines = [",".join(COLUMNS)] + [",".join(row) for row in rows]
    return "\n".join(lines) + "\n"


def _import(app, text: str, day: date = TODAY) -> movements.MovementSummary:
    state = app.extensions["continuum"]
    with state.session_factory() as session:
        return movements.import_movements(
            session,
            origin_on(day),
            vault_for(session, state.root_key),
            movements.read_movement_file(io.StringIO(text)),
        )


def _cli(app, tmp_path: Path, text: str):
    path = tmp_path / "movements.csv"
    path.write_text(text, encoding="utf-8")
    return app.test_cli_runner().invoke(args=["movements", "import", str(path)])


def _transfers(all_rows) -> list[CaseTransfer]:
    with all_rows() as session:
        return list(session.scalars(select(CaseTransfer)))


def _events(all_rows) -> int:
    with all_rows() as session:
        return session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_move_from_liverpool_to_durham_proposes_one_transfer_of_the_pops_case_unseen_by_nepacs(
    app, world, desk, all_rows
):
    number, _ = world.people[("pops", "LPI")]
    summary = _import(app, _file((number, "LPI", "DMI", MOVED_ON.isoformat())))

    assert len(summary.proposed) == 1 and summary.unmatched == 0
    with desk("pops_liverpool").session() as session:
        (row,) = session.scalars(select(CaseTransfer)).all()
        assert row.id == summary.proposed[0]
        assert row.origin == TransferOrigin.MOVEMENT.value
        # The family has not agreed to it yet: the platform's proposal waits for its consent.
        assert row.state == TransferState.AWAITING_CONSENT.value
        assert row.sender_case_id == world.cases[("pops", "LPI")]
        assert (row.receiver_charity_id, row.receiver_prison_code) == (
            world.organisations["nepacs"],
            "DMI",
        )
        assert row.receiver_sees is False
        proposed, waiting = session.scalars(
            select(CaseTransferStep).order_by(CaseTransferStep.sequence)
        ).all()
        assert (proposed.state, waiting.state) == ("proposed", "awaiting_consent")
        for step in (proposed, waiting):
            assert step.by_user_id is None and step.party == Party.PLATFORM.value
            assert step.receiver_sees is False
        assert waiting.at == proposed.at
        assert proposed.reason == TransferReason.PERSON_MOVED.value
        (notice,) = session.scalars(select(Notification)).all()
        assert (notice.prison_code, notice.state) == ("LPI", TransferState.AWAITING_CONSENT.value)
    with desk("nepacs_manager").session() as session:
        assert session.scalars(select(CaseTransfer)).all() == []
        assert session.scalars(select(Notification)).all() == []


def test_movement_import_is_audited_as_the_platform_in_the_sender_chain_and_the_platform_chain(
    app, world, all_rows
):
    number, name = world.people[("pops", "LPI")]
    summary = _import(app, _file((number, "LPI", "DMI", MOVED_ON.isoformat())))

    pops_chain = str(world.organisations["pops"])
    with all_rows() as session:
        entries = session.scalars(select(AuditEntry)).all()
        propose = [e for e in entries if e.action == "transfer.propose"]
        assert [(e.chain, e.actor) for e in propose] == [(pops_chain, "platform")]
        (imported,) = [e for e in entries if e.action == "movements.import"]
        assert imported.chain == PLATFORM_CHAIN
        assert imported.to_event().record_ids == (str(summary.proposed[0]),)
        for entry in entries:
            assert number not in str(entry.to_event()) and name not in str(entry.to_event())
        for chain in (pops_chain, str(world.organisations["nepacs"]), PLATFORM_CHAIN):
            assert verify(session, chain).ok


def test_move_between_two_pops_prisons_proposes_nothing(app, world, all_rows):
    number, _ = world.people[("pops", "LPI")]
    summary = _import(app, _file((number, "LPI", "WDI", MOVED_ON.isoformat())))

    assert summary.within_one_charity == 1 and summary.proposed == []
    assert _transfers(all_rows) == []


def test_move_to_a_prison_no_member_serves_that_day_proposes_nothing(app, world, all_rows):
    number, _ = world.people[("pops", "LPI")]
    summary = _import(
        app,
        _file(
            (number, "LPI", "LEI", MOVED_ON.isoformat()),
            # The world's services start on 2020-01-01: the day before, nobody served Durham.
            (number, "LPI", "DMI", "2019-12-31"),
        ),
    )

    assert summary.not_served == 2 and summary.proposed == []
    assert _transfers(all_rows) == []


def test_move_of_a_number_nobody_holds_proposes_nothing(app, all_rows):
    summary = _import(app, _file(("Q9999ZZ", "LPI", "DMI", MOVED_ON.isoformat())))

    assert summary.unmatched == 1 and summary.proposed == []
    assert _transfers(all_rows) == []


def test_move_from_durham_matches_only_nepacs_case_although_pops_holds_the_same_number(
    app, world, all_rows
):
    number, _ = world.people[("nepacs", "DMI")]
    assert world.people[("pops", "LPI")][0] == number  # the world holds it at both charities

    summary = _import(app, _file((number, "DMI", "LPI", MOVED_ON.isoformat())))

    (row,) = _transfers(all_rows)
    assert row.id == summary.proposed[0]
    assert (row.sender_charity_id, row.sender_case_id) == (
        world.organisations["nepacs"],
        world.cases[("nepacs", "DMI")],
    )
    assert row.receiver_charity_id == world.organisations["pops"]


@pytest.mark.parametrize(
    ("cells", "column"),
    [
        (("A1234BC", "LPI", "DMI", "2026-02-30"), "date"),
        (("A1234BC", "LPI", "DMI", "01/03/2026"), "date"),
        (("A1234BC", "LPI", "ZZZ", "2026-03-01"), "to_prison"),
        (("A1234BC", "QQQ", "DMI", "2026-03-01"), "from_prison"),
        (("12345", "LPI", "DMI", "2026-03-01"), "prison_number"),
        (("A1234BC", "LPI", "LPI", "2026-03-01"), "to_prison"),
        (("A1234BC", "LPI", "DMI", "2999-01-01"), "date"),
        (("A1234BC", "LPI", "DMI", ""), "date"),
    ],
)
def test_file_with_one_bad_row_writes_nothing_and_names_the_row_and_column(
    app, world, all_rows, tmp_path, cells, column
):
    number, _ = world.people[("pops", "LPI")]
    good = (number, "LPI", "DMI", MOVED_ON.isoformat())
    before = _events(all_rows)

    result = _cli(app, tmp_path, _file(good, cells))

    assert result.exit_code == 1
    assert f"row 3, {column}: " in result.stderr
    assert "row 2" not in result.stderr
    assert "nothing was imported" in result.stderr
    assert _transfers(all_rows) == []
    assert _events(all_rows) == before


def test_file_with_an_unknown_column_is_refused_before_any_row(app, all_rows, tmp_path):
    result = _cli(app, tmp_path, "prison_number,from,to,date\nA1234BC,LPI,DMI,2026-03-01\n")

    assert result.exit_code == 2
    assert "unknown columns: from, to" in result.stderr
    assert _transfers(all_rows) == []


def test_importing_the_same_file_again_proposes_nothing_new(app, world, all_rows):
    number, _ = world.people[("pops", "LPI")]
    text = _file((number, "LPI", "DMI", MOVED_ON.isoformat()))
    first = _import(app, text)

    again = _import(app, text)

    assert len(first.proposed) == 1
    assert again.proposed == [] and again.skipped == 1
    assert [row.id for row in _transfers(all_rows)] == first.proposed


def test_the_documented_example_file_imports_as_its_page_says(app, world, all_rows, tmp_path):
    result = _cli(app, tmp_path, EXAMPLE.read_text(encoding="utf-8"))

    assert result.exit_code == 0, result.output
    page = (EXAMPLE.parent / "movements.md").read_text(encoding="utf-8")
    printed = result.stdout.strip().splitlines()
    assert printed and all(line in page for line in printed)
    assert len(_transfers(all_rows)) == 1

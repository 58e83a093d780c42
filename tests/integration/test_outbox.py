"""The outbox (`continuum outbox send`) through a real SMTP server on loopback, and offers that
lapse (`continuum transfers expire`). Emails name a prison and a link, never a person."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email import message_from_bytes
from email.message import Message
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.domain.transfers.machine import TransferState
from app.domain.vocabulary import ConsentPurpose, DataCategory
from app.models import Case, CaseStatus, CaseTransfer, Notification, Organisation, TransferOffer
from app.services import transfers
from app.services.platform.audit import Origin
from app.services.transfers import outbox
from tests.support.cases import TODAY, desks, give_consent
from tests.support.servers import free_port

PUBLIC_URL = "https://continuum.example"
INBOXES = {"pops": "transfers@pops.example", "nepacs": "transfers@nepacs.example"}


@dataclass
class Handler:
    """An SMTP server's DATA handler that keeps what it receives, or refuses it."""

    refuse: bool = False
    received: list[tuple[list[str], Message]] = field(default_factory=list)

    # aiosmtpd calls a handler method by the SMTP command it handles.
    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refuse:
            return "554 5.7.1 refused for transfers@nepacs.example"
        message = message_from_bytes(envelope.original_content, policy=default)
        self.received.append((list(envelope.rcpt_tos), message))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


@pytest.fixture
def app(make_app, smtp, owner_sessions, world):
    """The app here sends through the loopback server, and both charities have an inbox (so
    ``desk`` works in it too)."""
    _, port = smtp
    with owner_sessions() as session:
        for slug, address in INBOXES.items():
            session.get_one(Organisation, world.organisations[slug]).notification_email = address
        session.commit()
    return make_app(smtp_host="127.0.0.1", smtp_port=port, public_url=PUBLIC_URL)


def _offer(desk, world, day: date = TODAY) -> CaseTransfer:
    worker = desk("pops_liverpool", day)
    case_id = world.cases[("pops", "LPI")]
    give_consent(
        worker,
        case_id,
        purpose=ConsentPurpose.TRANSFER,
        recipient_charity_id=world.organisations["nepacs"],
        categories=frozenset({DataCategory.IDENTITY}),
    )
    proposed = worker.do(transfers.propose_transfer, case_id, to_prison_code="DMI")
    return worker.do(transfers.offer_transfer, proposed.id)


def _send(app):
    return app.test_cli_runner().invoke(args=["outbox", "send"])


def _personal_details(world, all_rows) -> list[str]:
    """Every name, prison number and case reference in the world."""
    with all_rows() as session:
        references = list(session.scalars(select(Case.reference)))
    return [text for person in world.people.values() for text in person] + references


def _notifications(all_rows) -> list[Notification]:
    with all_rows() as session:
        return list(session.scalars(select(Notification).order_by(Notification.created_at)))


def test_offer_sends_nepacs_one_email_with_the_link_and_no_personal_data(
    app, smtp, desk, world, all_rows
):
    handler, _ = smtp
    offered = _offer(desk, world)

    result = _send(app)

    assert result.exit_code == 0, result.output
    assert "sent: 1" in result.stdout
    ((recipients, message),) = handler.received
    assert recipients == [INBOXES["nepacs"]]
    assert message["Subject"] == "Continuum: transfer offer waiting at Durham (HMP & YOI)"
    text = message.as_string()
    assert f"{PUBLIC_URL}/transfers/{offered.id}" in message.get_content()
    for detail in _personal_details(world, all_rows):
        assert detail not in text


def test_acceptance_sends_pops_one_email_and_a_second_run_sends_nothing_more(
    app, smtp, desk, world, all_rows
):
    handler, _ = smtp
    offered = _offer(desk, world)
    _send(app)
    desk("nepacs_manager").do(transfers.accept_transfer, offered.id)

    result = _send(app)
    again = _send(app)

    assert result.exit_code == 0 and again.exit_code == 0, result.output + again.output
    assert "sent: 0" in again.stdout
    assert [recipients for recipients, _ in handler.received] == [
        [INBOXES["nepacs"]],
        [INBOXES["pops"]],
    ]
    accepted = handler.received[1][1]
    assert accepted["Subject"] == "Continuum: transfer accepted at Liverpool (HMP)"
    assert f"{PUBLIC_URL}/transfers/{offered.id}" in accepted.get_content()
    for detail in _personal_details(world, all_rows):
        assert detail not in accepted.as_string()
    assert all(n.sent_at is not None and n.attempts == 1 for n in _notifications(all_rows))


def test_refused_message_stays_unsent_with_one_attempt_and_a_generic_error(
    app, smtp, desk, world, all_rows
):
    handler, _ = smtp
    handler.refuse = True
    _offer(desk, world)

    result = _send(app)

    assert result.exit_code == 1
    assert "1 could not be sent" in result.stderr
    (notice,) = _notifications(all_rows)
    assert notice.sent_at is None and notice.attempts == 1
    assert notice.last_error is not None and "@" not in notice.last_error
    assert handler.received == []


def test_unreachable_server_leaves_the_message_for_the_next_run(
    make_app, owner_sessions, desk, world, all_rows
):
    _offer(desk, world)
    with owner_sessions() as session:
        nepacs = session.get_one(Organisation, world.organisations["nepacs"])
        nepacs.notification_email = INBOXES["nepacs"]
        session.commit()
    state = make_app(smtp_host="127.0.0.1", smtp_port=free_port()).extensions["continuum"]

    with state.session_factory() as session:
        run = outbox.send_notifications(
            session, state.settings, lambda: _at(TODAY), outbox.smtp_mailer(state.settings)
        )

    assert (run.sent, run.failed) == (0, 1)
    (notice,) = _notifications(all_rows)
    assert notice.sent_at is None and notice.attempts == 1
    assert notice.last_error == "the mail server could not be reached (ConnectionRefusedError)"


def test_charity_without_an_inbox_keeps_its_notification_unsent_and_untried(
    app, smtp, desk, world, owner_sessions, all_rows
):
    handler, _ = smtp
    with owner_sessions() as session:
        session.get_one(Organisation, world.organisations["nepacs"]).notification_email = None
        session.commit()
    _offer(desk, world)

    result = _send(app)

    assert result.exit_code == 0
    assert "no notification address: 1" in result.stdout
    (notice,) = _notifications(all_rows)
    assert (notice.sent_at, notice.attempts) == (None, 0)
    assert handler.received == []


def test_outbox_send_without_a_mail_server_says_so_and_leaves_the_outbox_alone(
    make_app, world, all_rows
):
    app = make_app()  # the world's app: no SMTP host configured
    _offer(desks(app, world), world)

    result = _send(app)

    assert result.exit_code == 0
    assert "no mail server is configured" in result.stdout
    (notice,) = _notifications(all_rows)
    assert (notice.sent_at, notice.attempts) == (None, 0)


# --- expiry ------------------------------------------------------------------------------------


def _at(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


def _expire(app, world, day: date) -> int:
    with app.extensions["continuum"].session_factory() as session:
        lapsed = transfers.expire_overdue(
            session, Origin("test", lambda: _at(day)), world.organisations["pops"]
        )
        session.commit()
    return lapsed


def _after_expiry(desk, world, transfer_id) -> tuple[str, str, TransferOffer]:
    with desk("pops_liverpool").session() as session:
        state = session.get_one(CaseTransfer, transfer_id).state
        status = session.get_one(Case, world.cases[("pops", "LPI")]).status
    with desk("nepacs_manager").session() as session:
        offer = session.scalars(select(TransferOffer)).one()
    return state, status, offer


def test_offer_unanswered_past_its_life_lapses_voids_the_package_and_returns_the_case(
    app, desk, world
):
    offered = _offer(desk, world)
    assert offered.expires_at is not None
    last_day = offered.expires_at.date() - timedelta(days=1)

    assert _expire(app, world, last_day) == 0
    lapsed = _expire(app, world, offered.expires_at.date() + timedelta(days=1))

    assert lapsed == 1
    state, status, offer = _after_expiry(desk, world, offered.id)
    assert state == TransferState.EXPIRED.value
    assert status == CaseStatus.ACTIVE.value
    assert offer.package_enc is None and offer.voided_at is not None


def test_cli_transfers_expire_lapses_an_offer_made_weeks_ago(app, desk, world):
    offered = _offer(desk, world, TODAY - timedelta(days=30))

    result = app.test_cli_runner().invoke(args=["transfers", "expire"])

    assert result.exit_code == 0, result.output
    assert "offers lapsed: 1" in result.stdout
    state, status, offer = _after_expiry(desk, world, offered.id)
    assert (state, status) == (TransferState.EXPIRED.value, CaseStatus.ACTIVE.value)
    assert offer.package_enc is None

"""Sending the transfer notifications (the outbox) by email: ``continuum outbox send``.

A notification is written in the transaction of the transfer step it reports
(app.services.transfers), so it exists exactly when its step does; this job sends each one, at
least once, to its charity's transfers inbox (``Organisation.notification_email``). It is a named
system job: it binds each charity's own context in turn (notifications are tenant-owned) and
reads nothing else of it.

An email says which prison and what happened, in words, with a link to sign in and see it, and
nothing about anyone: no name, prison number or case reference, since email leaves the walls. Each
outcome is committed as soon as it is known, so a crash resends at most the message in hand; its
Message-ID is the notification's id, so a resent copy can be recognised.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.clock import Clock
from app.domain.transfers.machine import TransferState
from app.models import Notification, Organisation, Prison
from app.services.platform.reference import charities, prisons_ever_served
from config import Settings
from tenants.context import TenantContext
from tenants.guard import bind_tenant
from tenants.permissions import Role

# A message the server keeps refusing is not tried for ever: after this many tries it stays in
# the outbox (and in the app's own lists) for someone to look at.
MOST_ATTEMPTS = 10
SMTP_TIMEOUT_SECONDS = 30

# (subject: what happened, body: the same in a sentence) for each state a step can reach.
_WORDS: dict[TransferState, tuple[str, str]] = {
    TransferState.REQUESTED: (
        "transfer request waiting",
        "Another member charity has asked for a family's case. Grant or refuse the request.",
    ),
    # A proposal is "proposed" only when the family's consent was already recorded, so it is
    # ready to offer; without that consent it is "awaiting consent" from the start.
    TransferState.PROPOSED: (
        "transfer proposed",
        "A transfer of a family's case has been proposed. The family's consent is recorded, "
        "so the sending charity can offer it.",
    ),
    TransferState.AWAITING_CONSENT: (
        "transfer waiting for consent",
        "A transfer of a family's case is waiting for the family's consent. The sending "
        "charity records it, then offers the case.",
    ),
    TransferState.OFFERED: (
        "transfer offer waiting",
        "A family's case has been offered to you. A manager can review it and accept or "
        "decline it before the offer lapses.",
    ),
    TransferState.ACCEPTED: (
        "transfer accepted",
        "The receiving charity accepted the transfer. Your record of the case is now read-only.",
    ),
    TransferState.DECLINED: (
        "transfer declined",
        "The receiving charity declined the transfer. The case stays with you.",
    ),
    TransferState.REFUSED: (
        "transfer request refused",
        "The charity you asked refused the transfer request.",
    ),
    TransferState.CANCELLED: (
        "transfer cancelled",
        "The sending charity cancelled the transfer. Nothing was passed on.",
    ),
    TransferState.EXPIRED: (
        "transfer offer lapsed",
        "Nobody answered the offer in time, so it lapsed. Nothing was passed on.",
    ),
    TransferState.HALTED: (
        "transfer stopped",
        "The transfer stopped because consent was withdrawn. Nothing was passed on.",
    ),
}


class Mailer(Protocol):
    """The part of ``smtplib.SMTP`` the outbox uses (tests pass a loopback server's)."""

    def send_message(self, msg: EmailMessage) -> object: ...

    def quit(self) -> object: ...


MailerFactory = Callable[[], Mailer]


@dataclass
class OutboxRun:
    sent: int = 0
    failed: int = 0  # tried and refused or unreachable: left unsent, tried again next run
    no_address: int = 0  # waiting: the charity has no notification address
    given_up: int = 0  # left alone after MOST_ATTEMPTS tries


def smtp_mailer(settings: Settings) -> MailerFactory:
    """A connection to the configured mail server, with STARTTLS and login when configured."""

    def connect() -> Mailer:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        return smtp

    return connect


def send_notifications(
    session: Session, settings: Settings, clock: Clock, connect: MailerFactory
) -> OutboxRun:
    """Send every unsent notification of every charity; one connection, opened only when there
    is something to send and opened again after a failure."""
    run = OutboxRun()
    prison_names = dict(session.execute(select(Prison.code, Prison.name)).tuples().all())
    mailer: Mailer | None = None
    try:
        for charity in charities(session):
            job = TenantContext(
                charity.id, frozenset(prisons_ever_served(session, charity.id)), Role.SITE_MANAGER
            )
            bind_tenant(session, job)
            unsent = session.scalars(
                select(Notification)
                .where(Notification.sent_at.is_(None))
                .order_by(Notification.created_at, Notification.id)
            ).all()
            for notification in unsent:
                if notification.attempts >= MOST_ATTEMPTS:
                    run.given_up += 1
                    continue
                if not charity.notification_email:
                    run.no_address += 1
                    continue
                message = compose(
                    settings, clock, charity, notification, prison_names[notification.prison_code]
                )
                notification.attempts += 1
                try:
                    if mailer is None:
                        mailer = connect()
                    mailer.send_message(message)
                except (smtplib.SMTPException, OSError) as error:
                    notification.last_error = _describe(error)
                    run.failed += 1
                    _close(mailer)
                    mailer = None
                else:
                    notification.sent_at = clock()
                    notification.last_error = None
                    run.sent += 1
                session.commit()
            session.rollback()
    finally:
        bind_tenant(session, None)
        _close(mailer)
    return run


def compose(
    settings: Settings,
    clock: Clock,
    charity: Organisation,
    notification: Notification,
    prison_name: str,
) -> EmailMessage:
    """The email for one notification: the prison, the state in words, a link; nobody named."""
    subject, sentence = _WORDS[TransferState(notification.state)]
    link = f"{settings.public_url.rstrip('/')}/transfers/{notification.transfer_id}"
    message = EmailMessage()
    message["From"] = settings.smtp_from
    message["To"] = charity.notification_email or ""
    message["Subject"] = f"Continuum: {subject} at {prison_name}"
    message["Date"] = format_datetime(clock())
    message["Message-ID"] = _message_id(settings, notification.id)
    # RFC 3834: an automatic message, so auto-responders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        f"{sentence}\n\n"
        f"Prison: {prison_name}\n\n"
        f"Sign in to Continuum to see it:\n{link}\n\n"
        f"This message holds no personal details. It went to {charity.name}'s transfers inbox.\n"
    )
    return message


def _message_id(settings: Settings, notification_id: uuid.UUID) -> str:
    host = urlsplit(settings.public_url).hostname or "continuum.invalid"
    return f"<{notification_id}@{host}>"


def _describe(error: Exception) -> str:
    """A short, generic reason: an SMTP error's text can quote the addresses it refused."""
    if isinstance(error, smtplib.SMTPException):
        return f"the mail server refused the message ({type(error).__name__})"
    return f"the mail server could not be reached ({type(error).__name__})"


def _close(mailer: Mailer | None) -> None:
    if mailer is None:
        return
    # A connection already gone loses nothing by not being closed politely.
    with contextlib.suppress(smtplib.SMTPException, OSError):
        mailer.quit()

"""Every condition a use case can end in, one exception per condition, mapped to HTTP in one place
(app.http.errors): NotFound 404, Forbidden 403, InvalidInput 422, Conflict 409, any other
DomainError 500.

Errors of an adapter stay with it, because only that adapter raises them and its caller handles
them there: a case or movement file's layout (app.services.cases.imports,
app.services.transfers.movements), the keyring and sealing (app.security), a weak password
(app.security.passwords), the tenant walls (tenants.context, tenants.postgres) and the settings
(config.settings).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.domain.figures.disclosure.model import CellKey


class DomainError(Exception):
    """Base of every condition a use case reports to its caller."""


# --- the kinds HTTP maps ---------------------------------------------------------------------


class NotFound(DomainError):
    """Raised when a record does not exist or is outside the caller's scope (never says which)."""


class Forbidden(DomainError):
    """Raised when the caller's role does not grant the permission the action needs.

    The response says only that it is not allowed, unless ``public`` says why in words that
    reveal nothing about any record (a refusal that the caller can end by their own action)."""

    public: str | None = None


class InvalidInput(DomainError):
    """Raised when input is well-formed but breaks a rule; carries field-level messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("invalid input")
        self.errors = {field: list(messages) for field, messages in errors.items()}


class Conflict(DomainError):
    """Raised when a record's state does not allow the change (a closed case takes no new work)."""


# --- accounts --------------------------------------------------------------------------------


class PasswordChangeRequired(Forbidden):
    """The account's password was chosen by someone else: nothing is allowed until the user
    chooses their own on the web."""

    public = (
        "Choose your own password on the web first: someone else chose the one this account "
        "has, so the API refuses its tokens until then"
    )


class SignInRefused(DomainError):
    """Raised when a sign-in step fails; the person is told nothing more specific."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- reference data --------------------------------------------------------------------------


class ServiceOverlap(InvalidInput):
    """Raised when a new service would make two charities serve one prison on the same day."""


# --- transfers -------------------------------------------------------------------------------


class TransferRefused(Conflict):
    """Raised when a transfer step is refused (no case matched, the offer withdrawn); each
    subclass is one reason the state machine refuses a step."""


class TransferAlreadyDecided(TransferRefused):
    """Raised when a step is asked of a transfer that has already ended."""


class StepNotAllowed(TransferRefused):
    """Raised when the step does not follow from the current state, or is not this side's."""


class OfferExpired(TransferRefused):
    """Raised when an offer is accepted after it lapsed."""


class ReasonRequired(TransferRefused):
    """Raised when a request, decline, refusal, cancellation or halt gives no reason."""


class TransferConsentMissing(Conflict):
    """Raised when an offer or acceptance lacks a valid consent for every adult whose data goes."""


# --- figures ---------------------------------------------------------------------------------


class QuarterNotOver(InvalidInput):
    """Raised when a quarter's figures are signed off or built before its last day has passed."""

    def __init__(self, quarter: str) -> None:
        super().__init__({"quarter": [f"{quarter} has not ended yet"]})


class AlreadySignedOff(Conflict):
    """Raised when a charity signs off a quarter it has already signed off."""


class NotSignedOff(Conflict):
    """Raised when a quarter is reopened that the charity has not signed off, or its release is
    built before every charity serving in it (``slugs``) signed off."""

    def __init__(self, quarter: str, slugs: Iterable[str] = ()) -> None:
        self.slugs = tuple(slugs)
        super().__init__(
            "not signed off yet: " + ", ".join(self.slugs)
            if self.slugs
            else f"{quarter} is not signed off"
        )


class QuarterLocked(Conflict):
    """Raised when a flush would add or change a charity's record dated in a quarter the charity
    has signed off."""

    def __init__(self, quarter: str) -> None:
        super().__init__(
            f"{quarter} is signed off: records dated in it cannot be added or changed"
            " until the alliance coordinator reopens it"
        )


class ReleaseNotDraft(Conflict):
    """Raised when a published or discarded release is published or discarded again."""


class CannotProtect(Conflict):
    """Raised when a suppressed cell stays pinned and no cell of the new release can hide it."""

    def __init__(self, keys: Iterable[CellKey]) -> None:
        self.keys = tuple(sorted(set(keys)))
        super().__init__("cannot protect " + ", ".join(str(key) for key in self.keys))


class InconsistentHistory(Conflict):
    """Raised when the releases contradict each other (no values fit every published figure)."""


# --- the audit chain -------------------------------------------------------------------------


class AuditChainError(DomainError):
    """Base of every condition raised while building or reading an audit chain."""


class ChainMismatch(AuditChainError):
    """Raised when an event would be sealed onto an event from another chain."""


class NaiveTimestamp(AuditChainError):
    """Raised when an audit time has no time zone, so its instant is unknown."""


class UnknownOutcome(AuditChainError):
    """Raised when a draft's outcome is neither "ok" nor "refused"."""


class MalformedCheckpoint(AuditChainError):
    """Raised when an exported checkpoint cannot be read back as one."""

"""The conditions a use case can end in, mapped to HTTP in one place (app.web.errors)."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base of every condition a use case reports to its caller."""


class NotFound(DomainError):
    """Raised when a record does not exist or is outside the caller's scope (never says which)."""


class Forbidden(DomainError):
    """Raised when the caller's role does not grant the permission the action needs.

    The response says only that it is not allowed, unless ``public`` says why in words that
    reveal nothing about any record (a refusal that the caller can end by their own action)."""

    public: str | None = None


class PasswordChangeRequired(Forbidden):
    """The account's password was chosen by someone else: nothing is allowed until the user
    chooses their own on the web."""

    public = (
        "Choose your own password on the web first: someone else chose the one this account "
        "has, so the API refuses its tokens until then"
    )


class InvalidInput(DomainError):
    """Raised when input is well-formed but breaks a rule; carries field-level messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("invalid input")
        self.errors = {field: list(messages) for field, messages in errors.items()}


class ServiceOverlap(InvalidInput):
    """Raised when a new service would make two charities serve one prison on the same day."""


class Conflict(DomainError):
    """Raised when a record's state does not allow the change (a closed case takes no new work)."""

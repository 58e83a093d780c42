"""The conditions a use case can end in, mapped to HTTP in one place (app.web.errors)."""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base of every condition a use case reports to its caller."""


class NotFound(DomainError):
    """Raised when a record does not exist or is outside the caller's scope (never says which)."""


class Forbidden(DomainError):
    """Raised when the caller's role does not grant the permission the action needs."""


class InvalidInput(DomainError):
    """Raised when input is well-formed but breaks a rule; carries field-level messages."""

    def __init__(self, errors: Mapping[str, list[str]]) -> None:
        super().__init__("invalid input")
        self.errors = {field: list(messages) for field, messages in errors.items()}


class ServiceOverlap(InvalidInput):
    """Raised when a new service would make two charities serve one prison on the same day."""


class Conflict(DomainError):
    """Raised when a record's state does not allow the change (a closed case takes no new work)."""

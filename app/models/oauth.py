"""The ministry's API clients (OAuth2 client credentials) and the access tokens issued to them.

Neither table holds a secret: a client keeps a SHA-256 digest of its secret, a token a SHA-256
digest of itself. Both secrets are 256 random bits made here, so a slow hash would buy nothing
and a fast digest lets each be found by an indexed lookup (as ``api_tokens``).

The methods on ``OAuthClient`` are the ones Authlib's authorization server calls (its
``ClientMixin``), written out so the schema stays ours: one grant, two ways to present the
secret, one scope.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, RandomId, UTCDateTime
from app.models.reference import Organisation
from app.security.tokens import token_digest

METRICS_READ = "metrics:read"
# Everything a client may ever be granted: released figures, read only.
CLIENT_SCOPES = frozenset({METRICS_READ})
GRANT_TYPE = "client_credentials"
AUTH_METHODS = frozenset({"client_secret_basic", "client_secret_post"})


class OAuthClient(RandomId, Base):
    """A system of the ministry's that reads released figures; ``id`` is its client_id.

    Created and revoked by the operator through the schema owner (``continuum clients``): the
    application role may only read this table.
    """

    __tablename__ = "oauth_clients"
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # Set once, never cleared: every token of a revoked client stops working at once.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    organisation: Mapped[Organisation] = relationship(lazy="joined")

    @property
    def client_id(self) -> str:
        return str(self.id)

    # --- Authlib's client protocol -------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == GRANT_TYPE

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        # A confidential client only: "none" (a public client) never authenticates.
        return endpoint == "token" and method in AUTH_METHODS

    def check_client_secret(self, client_secret: str) -> bool:
        if self.revoked_at is not None:
            return False
        return hmac.compare_digest(token_digest(client_secret), self.secret_hash)

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The scope to grant: everything the client may have when it names none, the request
        as made when every scope in it is allowed, and otherwise None, which Authlib turns into
        ``invalid_scope``. Never a silently narrowed scope."""
        requested = set((scope or "").split())
        if not requested:
            return " ".join(sorted(CLIENT_SCOPES))
        if not requested <= CLIENT_SCOPES:
            return None
        return " ".join(sorted(requested))


class OAuthToken(RandomId, Base):
    """A short-lived access token issued to a client; kept only as a digest."""

    __tablename__ = "oauth_tokens"

    client_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("oauth_clients.id", ondelete="RESTRICT"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    scope: Mapped[str] = mapped_column(String(80), nullable=False)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)

    client: Mapped[OAuthClient] = relationship(lazy="joined")

    def get_scope(self) -> str:
        return self.scope

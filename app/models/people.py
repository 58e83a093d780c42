"""Staff accounts, the prisons each may see, their personal API tokens and their signed-in
browser sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, RandomId, Timestamps, UTCDateTime
from app.models.reference import Organisation, Prison
from tenants.permissions import Role

ROLE_VALUES = ", ".join(f"'{role.value}'" for role in Role)


class User(RandomId, Timestamps, Base):
    """A member of staff who signs in to their own organisation."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("organisation_id", "username"),
        UniqueConstraint("organisation_id", "oidc_subject"),
        CheckConstraint(f"role IN ({ROLE_VALUES})", name="role"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.id", ondelete="RESTRICT"), nullable=False
    )
    username: Mapped[str] = mapped_column(String(80), nullable=False)
    display_name: Mapped[str] = mapped_column(String(120), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The TOTP secret, sealed with AES-GCM (app.security.sealing); confirmed once enrolled.
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # The last accepted TOTP time step: a code for this step or an earlier one is a replay.
    totp_last_step: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Raising the epoch ends every session the user has (it is part of the session's user id);
    # ending one session is its ``web_sessions`` row's business.
    session_epoch: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # Set when someone else chose the password (an admin's set-up password, the CLI): until the
    # user picks their own, every page but the change-password page redirects there.
    must_change_password: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    oidc_subject: Mapped[str | None] = mapped_column(String(255), nullable=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    prison_links: Mapped[list[UserPrison]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def prison_codes(self) -> frozenset[str]:
        return frozenset(link.prison_code for link in self.prison_links)


class UserPrison(Base):
    """A charity user may see case records at this prison."""

    __tablename__ = "user_prisons"

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    prison_code: Mapped[str] = mapped_column(
        String(8), ForeignKey("prisons.code", ondelete="RESTRICT"), primary_key=True
    )

    user: Mapped[User] = relationship(back_populates="prison_links")
    prison: Mapped[Prison] = relationship(lazy="joined")


class ApiToken(RandomId, Base):
    """A personal API token: shown once, kept only as a SHA-256 digest."""

    __tablename__ = "api_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    name: Mapped[str] = mapped_column(String(80), nullable=False)
    # The first characters, so a person can tell their tokens apart without the secret.
    prefix: Mapped[str] = mapped_column(String(16), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    user: Mapped[User] = relationship(lazy="joined")


class WebSession(RandomId, Base):
    """One signed-in browser session, kept on the server so that signing out ends it there.

    The session cookie is signed, not stored: without this row a copy of it kept working after
    sign-out until a timeout (issue 13). Each sign-in makes 256 random bits that travel in the
    cookie; the row keeps their SHA-256 digest (as ``api_tokens``), so the table alone cannot
    make a working cookie. A request is signed in only while its row exists and is not ended.
    Ending every session of a user at once stays the epoch's job (``User.session_epoch``).
    """

    __tablename__ = "web_sessions"

    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # Set once, never cleared: at sign-out, at a request that finds the session timed out, or
    # when a password change moves the browser to a new session.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def _session_id(user: User) -> str:
    return f"{user.id}:{user.session_epoch}"


# flask-login's user protocol, by duck typing so the model imports no web framework. The
# session id carries the epoch: raising it (end all sessions) makes every old session invalid.
User.is_authenticated = property(lambda self: True)  # type: ignore[attr-defined]
User.is_anonymous = property(lambda self: False)  # type: ignore[attr-defined]
User.is_active = property(lambda self: self.active)  # type: ignore[attr-defined]
User.get_id = _session_id  # type: ignore[attr-defined]

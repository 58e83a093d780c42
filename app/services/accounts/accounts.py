"""Staff accounts: creation, the two sign-in steps, lockout, changing the password, signed-in
sessions and ending them, API tokens."""

from __future__ import annotations

import math
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session, joinedload

from app.domain.errors import InvalidInput, SignInRefused
from app.models import ApiToken, Organisation, User, UserPrison, WebSession
from app.security import totp
from app.security.passwords import (
    MIN_LENGTH,
    WeakPassword,
    hash_password,
    needs_rehash,
    verify_password,
)
from app.security.sealing import Sealer
from app.security.tokens import display_prefix, new_token, token_digest
from app.services.platform import audit
from app.services.platform.audit import Origin
from app.services.platform.reference import prisons_ever_served
from tenants.permissions import ROLE_ORGANISATION, Role, is_charity_role

ISSUER = "Continuum"
# The sign-in form reads at most this many characters of a password, so a longer new one could
# never be typed in whole.
MAX_PASSWORD_LENGTH = 256
# How fine "last used" is kept for a personal token: enough to see which tokens are idle, coarse
# enough that a client's stream of reads writes the token's row once a minute, not every time.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)
# Long enough for the length rule yet near the top of every breach list, so tried first by anyone
# guessing; compared ignoring case. A short list by design (issue 3 follow-up): the length rule
# and the lockout do most of the work.
COMMON_PASSWORDS = frozenset(
    {
        "000000000000",
        "111111111111",
        "123123123123",
        "123456789012",
        "1234567890123",
        "12345678901234",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "aaaaaaaaaaaa",
        "abc123456789",
        "abcdefghijkl",
        "administrator",
        "changeme1234",
        "football1234",
        "iloveyou1234",
        "letmein12345",
        "monkey123456",
        "p@ssw0rd1234",
        "passw0rd1234",
        "password1234",
        "password123!",
        "password12345",
        "password123456",
        "passwordpassword",
        "princess1234",
        "qwerty123456",
        "qwertyuiop12",
        "qwertyuiop123",
        "qwertyuiopasdf",
        "sunshine1234",
        "trustno1trustno1",
        "welcome12345",
        "welcome123456",
    }
)


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int
    minutes: int


def _totp_row(user: User) -> str:
    return f"users.totp_secret|{user.id}"


def create_user(
    session: Session,
    organisation: Organisation,
    *,
    username: str,
    display_name: str,
    role: Role,
    password: str,
    prison_codes: Iterable[str] = (),
    must_change_password: bool = False,
) -> User:
    """Create a member of staff in their own organisation, with the prisons they may see.
    ``must_change_password`` when someone other than the user chose the password."""
    errors: dict[str, list[str]] = {}
    username = username.strip().lower()
    if not username or len(username) > 80:
        errors["username"] = ["enter a username of at most 80 characters"]
    if ROLE_ORGANISATION[role].value != organisation.kind:
        errors["role"] = [f"a {role.value} cannot belong to a {organisation.kind}"]
    codes = sorted(set(prison_codes))
    if codes and not is_charity_role(role):
        errors["prisons"] = ["only charity staff are assigned to prisons"]
    elif codes:
        outside = set(codes) - prisons_ever_served(session, organisation.id)
        if outside:
            errors["prisons"] = [f"{organisation.name} does not serve {', '.join(sorted(outside))}"]
    taken = session.scalar(
        select(User.id).where(User.organisation_id == organisation.id, User.username == username)
    )
    if taken is not None:
        errors["username"] = ["that username is already in use in this organisation"]
    try:
        password_hash = hash_password(password)
    except WeakPassword as exc:
        errors["password"] = [str(exc)]
    if errors:
        raise InvalidInput(errors)
    user = User(
        organisation_id=organisation.id,
        username=username,
        display_name=display_name.strip() or username,
        role=role.value,
        password_hash=password_hash,
        active=True,
        totp_confirmed=False,
        totp_last_step=0,
        failed_attempts=0,
        session_epoch=0,
        must_change_password=must_change_password,
    )
    user.prison_links = [UserPrison(prison_code=code) for code in codes]
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, organisation_id: uuid.UUID, username: str) -> User | None:
    return session.scalar(
        select(User).where(
            User.organisation_id == organisation_id, User.username == username.strip().lower()
        )
    )


def _locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def _count_failure(user: User, now: datetime, policy: LockoutPolicy) -> None:
    user.failed_attempts += 1
    if user.failed_attempts >= policy.threshold:
        user.locked_until = now + timedelta(minutes=policy.minutes)
        user.failed_attempts = 0


def _audit_sign_in(
    session: Session,
    organisation: Organisation,
    user: User | None,
    origin: Origin,
    outcome: str,
) -> None:
    """One event per sign-in step refused, and one per sign-in completed; a charity's staff in
    its own chain, everyone else in the platform's. Never the username typed."""
    audit.record(
        session,
        audit.draft_event(
            origin,
            chain=audit.chain_for(organisation.id, organisation.is_charity),
            actor=user.id if user is not None else audit.UNKNOWN_ACTOR,
            organisation=organisation.id,
            action="auth.sign_in",
            record_type="user",
            outcome=outcome,
        ),
    )


def _refused(
    session: Session, organisation: Organisation, user: User | None, origin: Origin, reason: str
) -> SignInRefused:
    """Commit the refusal's audit event (and any failure counted with it); return the error."""
    _audit_sign_in(session, organisation, user, origin, "refused")
    session.commit()
    return SignInRefused(reason)


def check_password(
    session: Session,
    organisation: Organisation,
    username: str,
    password: str,
    origin: Origin,
    policy: LockoutPolicy,
) -> User:
    """The first step: the right password for an active, unlocked account of this organisation."""
    now = origin.clock()
    user = find_user(session, organisation.id, username)
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is None or not user.active:
        raise _refused(session, organisation, user, origin, "unknown or inactive account")
    if _locked(user, now):
        raise _refused(session, organisation, user, origin, "account locked")
    if not password_ok:
        _count_failure(user, now, policy)
        raise _refused(session, organisation, user, origin, "wrong password")
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.commit()
    return user


def start_enrolment(session: Session, user: User, sealer: Sealer) -> bytes:
    """A new TOTP secret for a user who has not confirmed one; kept until confirmed."""
    if user.totp_confirmed:
        raise SignInRefused("already enrolled")
    if user.totp_secret_sealed is not None:
        return sealer.open(user.totp_secret_sealed, _totp_row(user))
    secret = totp.new_secret()
    user.totp_secret_sealed = sealer.seal(secret, _totp_row(user))
    session.commit()
    return secret


def enrolment_uri(user: User, organisation: Organisation, secret: bytes) -> str:
    return totp.provisioning_uri(secret, f"{user.username}@{organisation.slug}", ISSUER)


def check_code(
    session: Session,
    user: User,
    code: str,
    origin: Origin,
    sealer: Sealer,
    policy: LockoutPolicy,
) -> None:
    """The second step: a fresh TOTP code. Confirms enrolment on first use; completes sign-in."""
    now = origin.clock()
    organisation = user.organisation
    if not user.active or _locked(user, now):
        raise _refused(session, organisation, user, origin, "account locked or inactive")
    if user.totp_secret_sealed is None:
        raise _refused(session, organisation, user, origin, "no second factor enrolled")
    secret = sealer.open(user.totp_secret_sealed, _totp_row(user))
    result = totp.check_code(secret, code, now.timestamp(), user.totp_last_step)
    if not result.ok:
        _count_failure(user, now, policy)
        raise _refused(session, organisation, user, origin, "wrong or replayed code")
    user.totp_last_step = result.step
    user.totp_confirmed = True
    user.failed_attempts = 0
    user.last_login_at = now
    _audit_sign_in(session, organisation, user, origin, "ok")
    session.commit()


def new_password_errors(
    username: str, current_password: str, new_password: str, confirm_password: str
) -> dict[str, list[str]]:
    """What is wrong with a chosen password, by form field; empty when it may be used."""
    errors: dict[str, list[str]] = {}
    lowered = new_password.lower()
    if len(new_password) < MIN_LENGTH:
        errors["new_password"] = [f"Enter a new password of at least {MIN_LENGTH} characters"]
    elif len(new_password) > MAX_PASSWORD_LENGTH:
        errors["new_password"] = [
            f"Enter a new password of at most {MAX_PASSWORD_LENGTH} characters"
        ]
    elif new_password == current_password:
        errors["new_password"] = ["Enter a new password that is not your current one"]
    elif username.lower() in lowered:
        errors["new_password"] = ["Enter a new password that does not contain your username"]
    elif lowered in COMMON_PASSWORDS:
        errors["new_password"] = [
            "Enter a less common password: that one is among the first that people guess"
        ]
    if confirm_password != new_password:
        errors["confirm_password"] = ["Enter the same new password twice"]
    return errors


def _audit_password_change(session: Session, user: User, origin: Origin, outcome: str) -> None:
    organisation = user.organisation
    audit.record(
        session,
        audit.draft_event(
            origin,
            chain=audit.chain_for(organisation.id, organisation.is_charity),
            actor=user.id,
            organisation=organisation.id,
            action="user.password_change",
            record_type="user",
            record_ids=[user.id],
            outcome=outcome,
        ),
    )


def change_password(
    session: Session,
    user: User,
    origin: Origin,
    policy: LockoutPolicy,
    *,
    current_password: str,
    new_password: str,
    confirm_password: str,
) -> None:
    """A signed-in user replaces their password with one they chose. A wrong current password
    counts towards the lockout as a failed sign-in does. On success every session of the user
    ends (the epoch is raised): the caller renews its own session with the new epoch."""
    now = origin.clock()
    if user.locked_until is not None and user.locked_until > now:
        minutes = math.ceil((user.locked_until - now).total_seconds() / 60)
        raise InvalidInput(
            {
                "current_password": [
                    "Your account is locked after too many wrong attempts: "
                    f"try again in {minutes} minute{'s' if minutes != 1 else ''}"
                ]
            }
        )
    if not verify_password(user.password_hash, current_password):
        _count_failure(user, now, policy)
        _audit_password_change(session, user, origin, "refused")
        session.commit()
        raise InvalidInput({"current_password": ["Enter your current password correctly"]})
    errors = new_password_errors(user.username, current_password, new_password, confirm_password)
    if errors:
        raise InvalidInput(errors)
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.session_epoch += 1
    _audit_password_change(session, user, origin, "ok")
    session.commit()


def end_all_sessions(session: Session, user: User) -> None:
    """Every session of this user, on every device, ends at its next request."""
    user.session_epoch += 1
    session.commit()


def open_web_session(session: Session, user: User, now: datetime) -> str:
    """A new signed-in session for ``user``, kept on the server. Returns the secret the session
    cookie carries (256 random bits); only its digest is stored."""
    secret = secrets.token_urlsafe(32)
    session.add(WebSession(user_id=user.id, token_hash=token_digest(secret), created_at=now))
    session.commit()
    return secret


def web_session_is_live(session: Session, user_id: uuid.UUID, secret: str) -> bool:
    """Whether the session whose cookie carries ``secret`` belongs to this user and has not
    ended. The cookie's own timeouts and the user's epoch are checked apart from this."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == token_digest(secret)))
    return row is not None and row.user_id == user_id and row.ended_at is None


def end_web_session(session: Session, secret: str, now: datetime) -> None:
    """This one session ends on the server: any copy of its cookie signs nobody in again. The
    user's other sessions carry on."""
    session.execute(
        update(WebSession)
        .where(WebSession.token_hash == token_digest(secret), WebSession.ended_at.is_(None))
        .values(ended_at=now)
    )
    session.commit()


def forget_web_sessions(session: Session, user: User, started_before: datetime) -> None:
    """Drop the user's sessions started before ``started_before`` (the absolute timeout ago),
    ended or not: none of them can sign anyone in again, so the table keeps only the last
    working day's sessions."""
    session.execute(
        delete(WebSession).where(
            WebSession.user_id == user.id, WebSession.created_at < started_before
        )
    )
    session.commit()


def create_api_token(
    session: Session, user: User, name: str, now: datetime, days: int
) -> tuple[str, ApiToken]:
    """A personal token for the API; the secret is returned once and never stored. Refused for
    a user who has not yet chosen their own password: the API would refuse it on every call."""
    if user.must_change_password:
        raise InvalidInput(
            {
                "username": [
                    "this user must choose their own password on the web first (someone else "
                    "chose the one they have); until then the API refuses their tokens"
                ]
            }
        )
    if not name.strip() or len(name) > 80:
        raise InvalidInput({"name": ["enter a token name of at most 80 characters"]})
    secret = new_token()
    token = ApiToken(
        user_id=user.id,
        name=name.strip(),
        prefix=display_prefix(secret),
        token_hash=token_digest(secret),
        created_at=now,
        expires_at=now + timedelta(days=days),
    )
    session.add(token)
    session.commit()
    return secret, token


# The token, its user and the user's prisons (their tenant context) in one statement (issue
# 13): the prisons were a second, selectin load. Built once: only the digest changes.
TOKEN_WITH_USER = (
    select(ApiToken)
    .options(joinedload(ApiToken.user).joinedload(User.prison_links))
    .where(ApiToken.token_hash == bindparam("digest"))
)


def user_for_token(session: Session, secret: str, now: datetime) -> User | None:
    """The active user a live token belongs to, or None. Refusals (revoked, expired, inactive)
    are read on every request; ``last_used_at`` is written only when it is older than
    ``TOKEN_USE_RESOLUTION``, so a busy client does not turn every read into a write (and, on
    SQLite, a turn of the database's one write lock)."""
    token = session.scalars(TOKEN_WITH_USER, {"digest": token_digest(secret)}).unique().first()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    if not token.user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOKEN_USE_RESOLUTION:
        token.last_used_at = now
        session.commit()
    return token.user

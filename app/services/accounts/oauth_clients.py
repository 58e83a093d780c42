"""The ministry's API clients (DESIGN.md section 9): created, listed and revoked by the operator,
and the short-lived access tokens issued to them, found again by digest.

A client belongs to the ministry and to nothing else: its tokens reach released figures only, and
no charity's data ever leaves by this route. Secrets and tokens are 256 random bits, shown once
and stored as SHA-256 digests (see app.models.oauth for why not argon2). Every issue and every
refusal is an event in the platform's audit chain naming the client by id, never a secret.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.audit_chain import PLATFORM_CHAIN, AuditDraft
from app.domain.errors import InvalidInput, NotFound
from app.models import OAuthClient, OAuthToken, Organisation
from app.security.tokens import token_digest
from app.services.platform import audit
from app.services.platform.audit import Origin
from tenants.permissions import OrganisationKind

# Public markers, so a leaked secret or token is recognisable (and findable by secret scanners).
SECRET_PREFIX = "ctc_"  # noqa: S105 - a marker, not a secret
ACCESS_TOKEN_PREFIX = "cto_"  # noqa: S105 - a marker, not a secret
NAME_LENGTH = 80
# Who acts when the operator runs a command: no member of staff, so the platform itself.
OPERATOR = "platform"


def new_client_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def new_access_token() -> str:
    return ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)


def _operator_event(
    origin: Origin, action: str, client: OAuthClient, outcome: str = "ok"
) -> AuditDraft:
    return AuditDraft(
        chain=PLATFORM_CHAIN,
        occurred_at=origin.clock(),
        actor=OPERATOR,
        organisation=str(client.organisation_id),
        action=action,
        record_type="oauth_client",
        record_ids=(str(client.id),),
        source=origin.source,
        outcome=outcome,
    )


def _client_event(
    origin: Origin, action: str, client: OAuthClient | None, outcome: str
) -> AuditDraft:
    """An event of the client's own: its id as actor and record, or "unknown" for a client id
    that names no client (the id typed is never stored: it could be anything, a secret too)."""
    return AuditDraft(
        chain=PLATFORM_CHAIN,
        occurred_at=origin.clock(),
        actor=str(client.id) if client else audit.UNKNOWN_ACTOR,
        organisation=str(client.organisation_id) if client else audit.UNKNOWN_ACTOR,
        action=action,
        record_type="oauth_client",
        record_ids=(str(client.id),) if client else (),
        source=origin.source,
        outcome=outcome,
    )


# --- the operator's commands ---------------------------------------------------------------


def create_client(
    session: Session, organisation: Organisation, name: str, origin: Origin
) -> tuple[OAuthClient, str]:
    """A new client for the ministry; returns it with its secret, which is never stored."""
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name or len(name) > NAME_LENGTH:
        errors["name"] = [f"enter a client name of at most {NAME_LENGTH} characters"]
    if organisation.kind != OrganisationKind.MINISTRY:
        errors["org"] = [
            f"API clients belong to the ministry, not a {organisation.kind}: "
            "a charity's data never leaves by this route"
        ]
    taken = session.scalar(
        select(OAuthClient.id).where(
            OAuthClient.organisation_id == organisation.id, OAuthClient.name == name
        )
    )
    if taken is not None:
        errors["name"] = ["that name is already in use in this organisation"]
    if errors:
        raise InvalidInput(errors)
    secret = new_client_secret()
    client = OAuthClient(
        organisation_id=organisation.id,
        name=name,
        secret_hash=token_digest(secret),
        created_at=origin.clock(),
    )
    session.add(client)
    session.flush()
    audit.record(session, _operator_event(origin, "oauth_client.create", client))
    session.commit()
    return client, secret


def list_clients(session: Session) -> list[OAuthClient]:
    return list(session.scalars(select(OAuthClient).order_by(OAuthClient.created_at)))


def _parse_id(client_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(client_id)
    except ValueError:
        return None


def revoke_client(session: Session, client_id: str, origin: Origin) -> OAuthClient:
    """Stop a client: no new token, and every token it holds stops working at once. Revoking a
    revoked client changes nothing."""
    parsed = _parse_id(client_id)
    client = session.get(OAuthClient, parsed) if parsed else None
    if client is None:
        raise NotFound("oauth client")
    if client.revoked_at is None:
        client.revoked_at = origin.clock()
        audit.record(session, _operator_event(origin, "oauth_client.revoke", client))
        session.commit()
    return client


# --- the token endpoint and the resource protector -----------------------------------------


def find_client(session: Session, client_id: str) -> OAuthClient | None:
    """The ministry client a token request names, revoked or not (it then fails to
    authenticate, and the refusal names it)."""
    parsed = _parse_id(client_id)
    if parsed is None:
        return None
    return session.scalar(
        select(OAuthClient)
        .join(Organisation, Organisation.id == OAuthClient.organisation_id)
        .where(OAuthClient.id == parsed, Organisation.kind == OrganisationKind.MINISTRY.value)
    )


def issue_token(
    session: Session,
    client: OAuthClient,
    origin: Origin,
    *,
    access_token: str,
    scope: str,
    seconds: int,
) -> OAuthToken:
    """Store the digest of a token just generated for ``client``, and audit its issue."""
    now = origin.clock()
    token = OAuthToken(
        client_id=client.id,
        token_hash=token_digest(access_token),
        scope=scope,
        issued_at=now,
        expires_at=now + timedelta(seconds=seconds),
    )
    session.add(token)
    audit.record(session, _client_event(origin, "oauth.token", client, "ok"))
    session.commit()
    return token


def refuse_token_request(session: Session, origin: Origin, client: OAuthClient | None) -> None:
    """Audit a refused token request (unknown client, wrong secret, revoked client, a scope or
    grant it may not have); commits the event and nothing else."""
    audit.record_refusal(session, _client_event(origin, "oauth.token", client, "refused"))


def token_for(session: Session, access_token: str, now: datetime) -> OAuthToken | None:
    """The live token with this value: None when unknown, expired, or its client revoked."""
    token = session.scalar(
        select(OAuthToken).where(OAuthToken.token_hash == token_digest(access_token))
    )
    if token is None or token.expires_at <= now or token.client.revoked_at is not None:
        return None
    return token


def refuse_access(session: Session, origin: Origin, token: OAuthToken) -> None:
    """Audit a live token refused for want of scope; commits the event and nothing else."""
    audit.record_refusal(session, _client_event(origin, "oauth.access", token.client, "refused"))

"""The demo's releases: the last four finished quarters signed off by each charity's admin and
published by the coordinator, oldest first, and an API client for the ministry, so the
dashboard and the API both have figures to show (issue 5, "done when"), and the analyst a trend
over four quarters (issue 12).

Everything is done through the same use cases as the web and the command line, on the demo's
"today". Running the demo again changes nothing: a quarter with a published release is left
alone, and so is the API client once its secret is in the instance folder.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.domain.figures.periods import Quarter
from app.models import OAuthClient, Organisation
from app.services.accounts import accounts, oauth_clients
from app.services.figures import releases
from app.services.figures.sign_offs import charities_serving, is_signed_off, sign_off_quarter
from app.services.platform.audit import Origin
from config import Settings

# Who signs off and who publishes: users of app.demo.charities.DEMO_USERS.
ADMIN = "admin"
COORDINATOR = ("alliance", "coordinator")
CLIENT_NAME = "Demo BI client"
# A year of quarters: enough for the analyst to see a trend (issue 12, "figures worth reading").
RELEASED_QUARTERS = 4


@dataclass(frozen=True)
class DemoReleases:
    published: tuple[str, ...]  # the quarters published by this run
    client_created: bool


def api_client_path(instance_path: Path) -> Path:
    """The demo API client's id and secret; kept apart from the users' sign-ins
    (demo-credentials.json), which every demo command reads as a list of users."""
    return instance_path / "demo-api-client.json"


def release_quarters(today: date, count: int = RELEASED_QUARTERS) -> tuple[Quarter, ...]:
    """The last ``count`` quarters finished before ``today``, oldest first."""
    quarters = [Quarter.of(today).previous()]
    while len(quarters) < count:
        quarters.append(quarters[-1].previous())
    return tuple(reversed(quarters))


def _at(today: date, hour: int) -> Origin:
    # Each step at its own hour of the demo's today, so the published order is the quarters'.
    return Origin("demo", clock=lambda: datetime.combine(today, time(hour), UTC))


def _sign_off_all(session: Session, quarter: Quarter, origin: Origin) -> None:
    for charity in charities_serving(session, quarter):
        if is_signed_off(session, charity.id, quarter):
            continue
        admin = accounts.find_user(session, charity.id, ADMIN)
        if admin is None:
            raise LookupError(f"the demo has no admin at {charity.slug} to sign off")
        sign_off_quarter(
            session, charity_id=charity.id, quarter=quarter, user_id=admin.id, origin=origin
        )
    session.commit()


def _publish(
    app_factory: sessionmaker[Session],
    quarter: Quarter,
    builder: releases.Builder,
    settings: Settings,
) -> None:
    rules = releases.rules_from(settings.disclosure_threshold, settings.disclosure_base)
    # A fresh session, no tenant bound and no transaction begun, as build_release needs.
    with app_factory() as session:
        draft = releases.build_release(session, quarter, builder=builder, rules=rules)
        session.commit()
        releases.publish_release(session, draft.id, builder=builder)
        session.commit()


def publish_quarters(
    app_factory: sessionmaker[Session],
    organisations: Mapping[str, uuid.UUID],
    today: date,
    settings: Settings,
) -> tuple[str, ...]:
    """Sign off and publish each of the last four finished quarters not yet published, oldest
    first (a release is audited against every one published before it)."""
    done = []
    for hour, quarter in enumerate(release_quarters(today), start=9):
        with app_factory() as session:
            if any(r.quarter == quarter.label for r in releases.current_releases(session)):
                continue
            coordinator = accounts.find_user(session, organisations[COORDINATOR[0]], COORDINATOR[1])
            if coordinator is None:
                raise LookupError("the demo has no coordinator to publish")
            _sign_off_all(session, quarter, _at(today, hour))
            builder = releases.Builder(coordinator.id, organisations["alliance"], _at(today, hour))
        _publish(app_factory, quarter, builder, settings)
        done.append(quarter.label)
    return tuple(done)


def _save_client(path: Path, entry: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(entry, handle, indent=2)


def _known_id(path: Path) -> uuid.UUID | None:
    try:
        return uuid.UUID(json.loads(path.read_text())["client_id"])
    except (ValueError, KeyError, TypeError):
        return None


def ensure_api_client(
    owner: Callable[[], AbstractContextManager[Session]],
    ministry_id: uuid.UUID,
    today: date,
    path: Path,
) -> bool:
    """The ministry's demo API client, its secret written once to ``path`` (mode 0600); True
    when it was created now. Clients are written by the schema owner, as `clients create` does."""
    with owner() as session:
        if path.exists():
            known = _known_id(path)
            if known is not None and session.get(OAuthClient, known) is not None:
                return False
        names = set(
            session.scalars(
                select(OAuthClient.name).where(OAuthClient.organisation_id == ministry_id)
            )
        )
        # The secret of an earlier client is lost with its file: a new one takes the next name.
        name = next(
            candidate
            for n in range(1, len(names) + 2)
            for candidate in (CLIENT_NAME if n == 1 else f"{CLIENT_NAME} {n}",)
            if candidate not in names
        )
        ministry = session.get_one(Organisation, ministry_id)
        client, secret = oauth_clients.create_client(session, ministry, name, _at(today, 8))
        _save_client(
            path,
            {
                "organisation": "ministry",
                "name": client.name,
                "client_id": client.client_id,
                "client_secret": secret,
                "scope": "metrics:read",
            },
        )
    return True


def seed_releases(
    app_factory: sessionmaker[Session],
    owner: Callable[[], AbstractContextManager[Session]],
    organisations: Mapping[str, uuid.UUID],
    today: date,
    settings: Settings,
) -> DemoReleases:
    """The demo's published releases and its API client; run after the case histories."""
    published = publish_quarters(app_factory, organisations, today, settings)
    created = ensure_api_client(
        owner, organisations["ministry"], today, api_client_path(settings.instance_path)
    )
    return DemoReleases(published, created)

"""The demo's four member charities at real prisons and one user per role (app.demo).

Everything here is clearly synthetic. Passwords and TOTP secrets are generated at first run into
the instance folder (``demo-credentials.json``, mode 0600) and reused after; none is in the repo.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Organisation, Service, User
from app.security import totp
from app.security.sealing import Sealer
from app.services.accounts import accounts
from app.services.platform.reference import ensure_organisation, load_prisons, start_service
from tenants.permissions import OrganisationKind, Role

OPEN_ENDED = None


@dataclass(frozen=True)
class CharitySpec:
    slug: str
    name: str
    # (prison code, starts_on, ends_on or None)
    services: tuple[tuple[str, date, date | None], ...]


_SINCE = date(2019, 4, 1)
_HANDOVER = date(2024, 4, 1)  # Hindley passed from Pact to POPS on a re-tender

CHARITIES = (
    CharitySpec(
        "pops",
        "POPS (Partners of Prisoners)",
        (
            *((code, _SINCE, None) for code in ("MRI", "TCI", "BCI", "GHI", "KMI", "LFI", "LPI")),
            *((code, _SINCE, None) for code in ("RSI", "WMI", "WDI")),
            ("HII", _HANDOVER, None),
            ("KTI", date(2012, 4, 1), date(2017, 3, 1)),
        ),
    ),
    CharitySpec(
        "nepacs",
        "NEPACS",
        tuple((code, _SINCE, None) for code in ("DMI", "FKI", "HHI", "LNI", "DTI", "NLI", "KVI")),
    ),
    CharitySpec(
        "pact",
        "Pact (Prison Advice and Care Trust)",
        (
            *((code, _SINCE, None) for code in ("BXI", "PVI", "WSI", "WWI", "BLI", "EXI")),
            ("HII", _SINCE, _HANDOVER),
        ),
    ),
    CharitySpec(
        "jigsaw",
        "Jigsaw Visitors Centre",
        tuple((code, _SINCE, None) for code in ("BMI", "HEI", "FSI", "LCI", "NMI")),
    ),
)


@dataclass(frozen=True)
class DemoUser:
    organisation: str
    username: str
    display_name: str
    role: Role
    prisons: tuple[str, ...] = ()


DEMO_USERS = (
    DemoUser("pops", "liverpool.worker", "Sam Okafor (demo)", Role.CASEWORKER, ("LPI",)),
    DemoUser("pops", "wakefield.worker", "Alex Reid (demo)", Role.CASEWORKER, ("WDI",)),
    DemoUser("pops", "risley.worker", "Lee Carter (demo)", Role.CASEWORKER, ("RSI",)),
    DemoUser("pops", "nw.manager", "Priya Shah (demo)", Role.SITE_MANAGER, ("LPI", "RSI", "HII")),
    DemoUser("pops", "admin", "Jo Turner (demo)", Role.CHARITY_ADMIN),
    DemoUser("nepacs", "durham.worker", "Chris Bell (demo)", Role.CASEWORKER, ("DMI",)),
    DemoUser(
        "nepacs", "ne.manager", "Morgan Hall (demo)", Role.SITE_MANAGER, ("DMI", "FKI", "LNI")
    ),
    DemoUser("nepacs", "admin", "Robin Gray (demo)", Role.CHARITY_ADMIN),
    DemoUser("pact", "london.worker", "Taylor Green (demo)", Role.CASEWORKER, ("PVI", "WWI")),
    DemoUser("pact", "admin", "Sasha Ward (demo)", Role.CHARITY_ADMIN),
    DemoUser("jigsaw", "birmingham.worker", "Jamie Clarke (demo)", Role.CASEWORKER, ("BMI",)),
    DemoUser("jigsaw", "admin", "Rowan Ellis (demo)", Role.CHARITY_ADMIN),
    DemoUser("alliance", "coordinator", "Avery Moss (demo)", Role.ALLIANCE_COORDINATOR),
    DemoUser("alliance", "operator", "Kai Lewis (demo)", Role.PLATFORM_OPERATOR),
    DemoUser("ministry", "analyst", "Drew Patel (demo)", Role.MINISTRY_ANALYST),
)


def credentials_path(instance_path: Path) -> Path:
    return instance_path / "demo-credentials.json"


def _load_credentials(path: Path) -> dict[str, dict[str, str]]:
    if path.exists():
        return json.loads(path.read_text())
    return {}


def _save_credentials(path: Path, credentials: dict[str, dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(credentials, handle, indent=2)


def notification_email(slug: str) -> str:
    """Where a demo charity's transfer messages go: ``.example`` is reserved (RFC 2606), so a
    demo with SMTP configured never mails a real inbox."""
    return f"transfers@{slug}.example"


def seed_reference(owner: Session) -> dict[str, Organisation]:
    """Prisons, the organisations (each charity with its transfer inbox) and the services.
    Idempotent."""
    load_prisons(owner)
    organisations = {
        spec.slug: ensure_organisation(owner, spec.slug, spec.name, OrganisationKind.CHARITY)
        for spec in CHARITIES
    }
    for spec in CHARITIES:
        charity = organisations[spec.slug]
        charity.notification_email = charity.notification_email or notification_email(spec.slug)
    organisations["alliance"] = ensure_organisation(
        owner, "alliance", "Prison Family Support Alliance", OrganisationKind.ALLIANCE
    )
    organisations["ministry"] = ensure_organisation(
        owner, "ministry", "Ministry of Justice", OrganisationKind.MINISTRY
    )
    existing = {(s.charity_id, s.prison_code, s.starts_on) for s in owner.scalars(select(Service))}
    for spec in CHARITIES:
        charity = organisations[spec.slug]
        for code, starts_on, ends_on in spec.services:
            if (charity.id, code, starts_on) not in existing:
                start_service(owner, charity, code, starts_on, ends_on)
    owner.commit()
    return organisations


def seed_users(
    app_session: Session,
    organisations: dict[str, Organisation],
    sealer: Sealer,
    credentials_file: Path,
) -> dict[str, dict[str, str]]:
    """One demo user per role, with a generated password and a confirmed TOTP secret."""
    credentials = _load_credentials(credentials_file)
    rng = random.SystemRandom()
    for spec in DEMO_USERS:
        key = f"{spec.organisation}/{spec.username}"
        organisation = organisations[spec.organisation]
        user = accounts.find_user(app_session, organisation.id, spec.username)
        if user is not None and key in credentials:
            continue
        password = "-".join(
            "".join(rng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(5))
            for _ in range(4)
        )
        secret = totp.new_secret()
        if user is None:
            user = accounts.create_user(
                app_session,
                organisation,
                username=spec.username,
                display_name=spec.display_name,
                role=spec.role,
                password=password,
                prison_codes=spec.prisons,
            )
        else:
            from app.security.passwords import hash_password

            user.password_hash = hash_password(password)
        user.totp_secret_sealed = sealer.seal(secret, f"users.totp_secret|{user.id}")
        user.totp_confirmed = True
        user.totp_last_step = 0
        app_session.commit()
        credentials[key] = {
            "organisation": spec.organisation,
            "username": spec.username,
            "role": spec.role.value,
            "password": password,
            "totp_secret": totp.secret_to_base32(secret),
        }
        _save_credentials(credentials_file, credentials)
    return credentials


def current_code(credentials: dict[str, str], now: float) -> str:
    return totp.code_at(totp.base32_to_secret(credentials["totp_secret"]), now)


def users_by_org(session: Session) -> dict[str, list[User]]:
    grouped: dict[str, list[User]] = {}
    for user in session.scalars(select(User).order_by(User.username)):
        grouped.setdefault(user.organisation.slug, []).append(user)
    return grouped

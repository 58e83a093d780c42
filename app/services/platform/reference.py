"""Reference data: loading the prison register, organisations, and who serves which prison."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterable
from datetime import date
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.domain.errors import InvalidInput, NotFound, ServiceOverlap
from app.models import Organisation, Prison, Service
from tenants.permissions import OrganisationKind

PRISONS_CSV = Path(__file__).resolve().parents[2] / "data" / "prisons.csv"
_FLAGS = ("active", "male", "female", "contracted")
_TEXT = ("name", "types", "town", "county", "country", "postcode", "region")


def load_prisons(session: Session, path: Path = PRISONS_CSV) -> tuple[int, int]:
    """Insert or update every prison in the register file; returns (added, updated)."""
    existing = {prison.code: prison for prison in session.scalars(select(Prison))}
    added = updated = 0
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            values = {name: row[name].strip() for name in _TEXT}
            values.update({flag: row[flag].strip() == "1" for flag in _FLAGS})
            prison = existing.get(row["code"].strip())
            if prison is None:
                session.add(Prison(code=row["code"].strip(), **values))
                added += 1
            elif any(getattr(prison, key) != value for key, value in values.items()):
                for key, value in values.items():
                    setattr(prison, key, value)
                updated += 1
    session.commit()
    return added, updated


def ensure_organisation(
    session: Session, slug: str, name: str, kind: OrganisationKind
) -> Organisation:
    organisation = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None:
        organisation = Organisation(slug=slug, name=name, kind=kind.value)
        session.add(organisation)
        session.flush()
    return organisation


def organisation_by_slug(session: Session, slug: str) -> Organisation:
    organisation = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if organisation is None:
        raise NotFound(slug)
    return organisation


def charities(session: Session) -> list[Organisation]:
    return list(
        session.scalars(
            select(Organisation)
            .where(Organisation.kind == OrganisationKind.CHARITY.value)
            .order_by(Organisation.name)
        )
    )


def _overlapping(
    session: Session, prison_code: str, starts_on: date, ends_on: date | None
) -> Service | None:
    query = select(Service).where(
        Service.prison_code == prison_code,
        or_(Service.ends_on.is_(None), Service.ends_on > starts_on),
    )
    if ends_on is not None:
        query = query.where(Service.starts_on < ends_on)
    return session.scalar(query.limit(1))


def start_service(
    session: Session,
    charity: Organisation,
    prison_code: str,
    starts_on: date,
    ends_on: date | None = None,
) -> Service:
    """Record that ``charity`` serves a prison from ``starts_on`` until ``ends_on`` (exclusive)."""
    if not charity.is_charity:
        raise InvalidInput({"charity": ["only a member charity can serve a prison"]})
    if session.get(Prison, prison_code) is None:
        raise InvalidInput({"prison": [f"unknown prison code {prison_code}"]})
    if ends_on is not None and ends_on <= starts_on:
        raise InvalidInput({"ends_on": ["must be after the start date"]})
    clash = _overlapping(session, prison_code, starts_on, ends_on)
    if clash is not None:
        raise ServiceOverlap({"starts_on": [f"{prison_code} is already served on these dates"]})
    service = Service(
        charity_id=charity.id, prison_code=prison_code, starts_on=starts_on, ends_on=ends_on
    )
    session.add(service)
    session.flush()
    return service


def serving_charity(session: Session, prison_code: str, day: date) -> uuid.UUID | None:
    return session.scalar(
        select(Service.charity_id).where(
            Service.prison_code == prison_code,
            Service.starts_on <= day,
            or_(Service.ends_on.is_(None), Service.ends_on > day),
        )
    )


def prisons_ever_served(session: Session, charity_id: uuid.UUID) -> set[str]:
    """Prisons whose case records a charity may hold: those it serves or has served."""
    return set(session.scalars(select(Service.prison_code).where(Service.charity_id == charity_id)))


def prisons_by_code(session: Session, codes: Iterable[str]) -> dict[str, Prison]:
    codes = list(codes)
    if not codes:
        return {}
    return {p.code: p for p in session.scalars(select(Prison).where(Prison.code.in_(codes)))}

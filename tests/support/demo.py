"""The demo as the integration tests run it: a fixed day and a smaller demo than the default, and
a charity's view of what it wrote. The app it runs in is the ``empty_app`` fixture
(tests/conftest.py), a first `continuum demo` on an empty database."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo.charities import CharitySpec
from app.models import Organisation
from tenants.context import TenantContext
from tenants.permissions import Role

# A fixed day and a smaller demo than the default keep the tests quick and their expectations
# exact.
DEMO_TODAY = date(2026, 3, 2)
DEMO_FAMILIES = 90


def charity_context(session: Session, spec: CharitySpec) -> TenantContext:
    """A site manager of the demo charity ``spec`` at every prison it serves."""
    charity = session.scalar(select(Organisation).where(Organisation.slug == spec.slug))
    assert charity is not None, spec.slug
    prisons = frozenset(code for code, _, _ in spec.services)
    return TenantContext(charity.id, prisons, Role.SITE_MANAGER)

"""Building, publishing and reading quarterly releases (DESIGN.md section 7, issue 5 item 3).

``build_release`` is the one named system operation that reads every charity's case tables for
the Ministry: in one transaction (on PostgreSQL at REPEATABLE READ, so every charity's figures
come from one snapshot) it counts the quarter through the walls, charity by charity
(app.services.figures.metrics), protects the figures against every earlier release
(app.domain.figures.disclosure.control) and stores the document as a draft for the coordinator
to review. It is audited in the platform chain and in the chain of every charity whose records it
read.

``publish_release`` makes a draft the published release of its quarter; a published release is
never changed (on PostgreSQL a trigger refuses it too). A revision is a later build of a quarter
that already has a published release: it says which release it supersedes and why, and the two
are audited together.

Everything else here reads releases only, never a case table: the ministry's dashboard and API,
and the coordinator's review screens, run on these.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from app.domain.audit_chain import PLATFORM_CHAIN
from app.domain.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    NotSignedOff,
    ReleaseNotDraft,
)
from app.domain.figures.disclosure.model import DisclosureRules, PublishedRelease, Records
from app.domain.figures.periods import Quarter, YearEnding
from app.domain.figures.release.document import (
    Labels,
    Revision,
    canonical,
    digest,
    history_from_state,
    merge_knowledge,
    protection_state,
    release_document,
)
from app.domain.figures.release.draft import (
    PublicFacts,
    ReleaseFigures,
    draft_release,
    link_revision,
    release_prefix,
)
from app.models import Organisation, Prison, Service
from app.models.releases import Release, ReleaseProtection, ReleaseStatus
from app.services.figures.metrics import quarter_figures, year_figures
from app.services.figures.sign_offs import charities_serving, is_signed_off, require_over
from app.services.platform import audit
from app.services.platform.audit import Origin

Progress = Callable[[str], None]
REASON_LENGTH = 500


@dataclass(frozen=True)
class Builder:
    """Who builds or publishes: a coordinator (``user_id``) or the operator at the command line
    (``user_id`` None), for the organisation whose platform chain records it."""

    user_id: uuid.UUID | None
    organisation_id: uuid.UUID
    origin: Origin

    @property
    def actor(self) -> uuid.UUID | str:
        return self.user_id if self.user_id is not None else "cli"


def _quiet(_step: str) -> None:
    return None


def _published(session: Session, quarter: Quarter | None = None) -> list[Release]:
    query = select(Release).where(Release.status == ReleaseStatus.PUBLISHED)
    if quarter is not None:
        query = query.where(Release.quarter == quarter.label)
    return list(session.scalars(query.order_by(Release.quarter.desc(), Release.revision.desc())))


def _facts(
    session: Session, quarter: Quarter, serving: list[Organisation]
) -> tuple[PublicFacts, Labels]:
    services = session.execute(
        select(Service.prison_code, Organisation.slug)
        .join(Organisation, Organisation.id == Service.charity_id)
        .where(
            Service.starts_on <= quarter.end,
            or_(Service.ends_on.is_(None), Service.ends_on > quarter.start),
        )
    )
    servers: dict[str, set[str]] = {}
    for code, slug in services:
        servers.setdefault(code, set()).add(slug)
    prisons = session.execute(select(Prison.code, Prison.name, Prison.region))
    names: dict[str, str] = {}
    regions: dict[str, str] = {}
    for code, name, region in prisons:
        names[code] = name
        regions[code] = (region or "").strip()
    frozen = {code: frozenset(slugs) for code, slugs in servers.items()}
    charity_names = {org.slug: org.name for org in serving}
    return PublicFacts(regions, frozen), Labels(names, regions, frozen, charity_names)


def _history(session: Session) -> tuple[list[PublishedRelease], dict[str, Records]]:
    """Every published release as the audit sees it, and each charity's records of them."""
    rows = session.execute(
        select(ReleaseProtection.state)
        .join(Release, Release.id == ReleaseProtection.release_id)
        .where(Release.status == ReleaseStatus.PUBLISHED)
        .order_by(Release.published_at, Release.id)
    )
    history: list[PublishedRelease] = []
    knowledge: list[dict[str, Records]] = []
    for (state,) in rows:
        published, known = history_from_state(state)
        history.append(published)
        knowledge.append(known)
    return history, merge_knowledge(*knowledge)


def _named(history: list[PublishedRelease], name: str) -> PublishedRelease:
    for release in history:
        if release.name == name:
            return release
    raise LookupError(f"no published release {name} to revise")


def _check_reason(reason: str | None, revision: int) -> str | None:
    if revision == 1:
        return None
    text = (reason or "").strip()
    if not text:
        raise InvalidInput({"reason": ["say why the published release is being revised"]})
    if len(text) > REASON_LENGTH:
        raise InvalidInput({"reason": [f"at most {REASON_LENGTH} characters"]})
    return text


def build_release(
    session: Session,
    quarter: Quarter,
    *,
    builder: Builder,
    rules: DisclosureRules,
    reason: str | None = None,
    progress: Progress = _quiet,
) -> Release:
    """Count, protect and store the quarter's release as a draft; the caller commits.

    Call it on a session with no transaction begun: on PostgreSQL it begins one at REPEATABLE
    READ. A draft of the same quarter and revision is replaced. Raises ``QuarterNotOver``,
    ``NotSignedOff``, ``InvalidInput`` (a revision with no reason), ``CannotProtect``.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    require_over(quarter, builder.origin.clock().date())
    serving = charities_serving(session, quarter)
    missing = [org.slug for org in serving if not is_signed_off(session, org.id, quarter)]
    if missing:
        raise NotSignedOff(quarter.label, missing)
    earlier = _published(session, quarter)
    number = earlier[0].revision + 1 if earlier else 1
    revision = Revision(
        number, str(earlier[0].id) if earlier else None, _check_reason(reason, number)
    )
    slugs = {org.id: org.slug for org in session.scalars(select(Organisation))}
    facts, labels = _facts(session, quarter, serving)
    progress("counting the quarter's tables")
    quarterly = quarter_figures(session, quarter)
    progress("counting the year's tables")
    yearly = year_figures(session, YearEnding(quarter))
    progress("applying disclosure control")
    figures = ReleaseFigures(quarter, revision.number, quarterly, yearly, slugs)
    draft, knowledge = draft_release(figures, facts)
    # SciPy (the audit's solver) loads here, not with the app: every other request, and the
    # command line, starts without it.
    from app.domain.figures.disclosure.control import protect_release

    history, known_before = _history(session)
    if revision.number > 1:
        revised = release_prefix(quarter, revision.number - 1)
        draft = link_revision(draft, _named(history, revised), known_before)
    protected = protect_release(draft, history, rules, merge_knowledge(known_before, knowledge))
    progress("storing the draft")
    prefix = release_prefix(quarter, revision.number)
    document = release_document(
        quarter, revision, prefix, (quarterly, yearly), protected.published, labels
    )
    content = canonical(document)
    _discard_drafts(session, quarter, revision.number)
    release = Release(
        quarter=quarter.label,
        revision=revision.number,
        status=ReleaseStatus.DRAFT,
        threshold=rules.threshold,
        base=rules.base,
        content=content.decode("utf-8"),
        sha256=digest(content),
        built_at=builder.origin.clock(),
        built_by=builder.user_id,
        supersedes_id=uuid.UUID(revision.supersedes) if revision.supersedes else None,
        revision_reason=revision.reason,
    )
    session.add(release)
    session.flush()
    state = protection_state(protected.published, knowledge)
    session.add(ReleaseProtection(release_id=release.id, state=state.decode("utf-8")))
    _record(session, builder, "release.build", release, (org.id for org in serving))
    return release


def _discard_drafts(session: Session, quarter: Quarter, revision: int) -> None:
    """A new build replaces the quarter's unpublished draft: nobody outside has seen it."""
    drafts = select(Release.id).where(
        Release.quarter == quarter.label,
        Release.revision == revision,
        Release.status != ReleaseStatus.PUBLISHED,
    )
    session.execute(delete(ReleaseProtection).where(ReleaseProtection.release_id.in_(drafts)))
    session.execute(delete(Release).where(Release.id.in_(drafts)))
    session.flush()


def _record(
    session: Session,
    builder: Builder,
    action: str,
    release: Release,
    charity_ids: Iterable[uuid.UUID] = (),
    also: tuple[uuid.UUID, ...] = (),
) -> None:
    chains = [PLATFORM_CHAIN, *(str(charity_id) for charity_id in charity_ids)]
    for chain in chains:
        audit.record(
            session,
            audit.draft_event(
                builder.origin,
                chain=chain,
                actor=builder.actor,
                organisation=builder.organisation_id,
                action=action,
                record_type="release",
                record_ids=(release.id, *also),
            ),
        )


def publish_release(session: Session, release_id: uuid.UUID, *, builder: Builder) -> Release:
    """Publish a reviewed draft; it never changes again. The caller commits."""
    release = session.scalars(
        select(Release).where(Release.id == release_id).with_for_update()
    ).first()
    if release is None:
        raise NotFound("no such release")
    if release.status != ReleaseStatus.DRAFT:
        raise ReleaseNotDraft(f"release is {release.status}")
    if digest(release.content.encode("utf-8")) != release.sha256:
        raise Conflict("the draft's content does not match its digest")
    latest = _published(session, Quarter.parse(release.quarter))
    if latest and latest[0].revision >= release.revision:
        raise ReleaseNotDraft("a later revision of this quarter is already published")
    release.status = ReleaseStatus.PUBLISHED
    release.published_at = builder.origin.clock()
    release.published_by = builder.user_id
    session.flush()
    superseded = (release.supersedes_id,) if release.supersedes_id else ()
    _record(session, builder, "release.publish", release, also=superseded)
    return release


def discard_release(session: Session, release_id: uuid.UUID, *, builder: Builder) -> None:
    """Set a draft aside unpublished (the coordinator's review found something to correct)."""
    release = session.get(Release, release_id)
    if release is None:
        raise NotFound("no such release")
    if release.status != ReleaseStatus.DRAFT:
        raise ReleaseNotDraft(f"release is {release.status}")
    release.status = ReleaseStatus.DISCARDED
    session.flush()
    _record(session, builder, "release.discard", release)


# --- reading releases (no case table is touched below) -----------------------------------


def published_releases(session: Session) -> list[Release]:
    """Every published release, newest quarter first, latest revision first within it."""
    return _published(session)


def current_releases(session: Session) -> list[Release]:
    """The latest published revision of each quarter, newest quarter first."""
    seen: set[str] = set()
    current = []
    for release in _published(session):
        if release.quarter not in seen:
            seen.add(release.quarter)
            current.append(release)
    return current


def published_release(session: Session, release_id: uuid.UUID) -> Release:
    """A published release by id; a draft, a discarded build and a missing id are alike."""
    release = session.get(Release, release_id)
    if release is None or release.status != ReleaseStatus.PUBLISHED:
        raise NotFound("no such release")
    return release


def release_for_review(session: Session, release_id: uuid.UUID) -> Release:
    """Any release, drafts included: the coordinator's review."""
    release = session.get(Release, release_id)
    if release is None:
        raise NotFound("no such release")
    return release


def drafts(session: Session) -> list[Release]:
    return list(
        session.scalars(
            select(Release)
            .where(Release.status == ReleaseStatus.DRAFT)
            .order_by(Release.quarter.desc(), Release.revision.desc())
        )
    )


def rules_from(threshold: int, base: int) -> DisclosureRules:
    """The disclosure rules from settings; a bad pair is refused at the first build, loudly."""
    return DisclosureRules(threshold=threshold, base=base)

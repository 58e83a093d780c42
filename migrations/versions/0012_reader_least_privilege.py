"""The readers' role holds only what the ministry's and the alliance's requests need (issue 13
item 9).

Until now it could read every charity's audit events and update any column of any row of
``users``, ``releases`` and ``web_sessions``. Those requests, once signed in (sign-in itself runs
as the app role, before the actor is known), touch only their own staff's rows and append to the
platform's audit chain, so on PostgreSQL:

- ``users``: UPDATE only of the columns a password change, its lockout count and signing out
  everywhere write; and a row policy showing the readers' role only the alliance's and the
  ministry's staff, so no charity's account can be read or changed at all;
- ``user_prisons`` and ``web_sessions``: the same staff's rows only, and of a session only
  ``ended_at`` may change (sign-out), so nobody can open or end a charity user's session;
- ``releases``: UPDATE only of what publishing or discarding a draft writes (the trigger of
  0009 still refuses anything else);
- ``audit_events``: the readers' role sees one row, the platform chain's last event, which the
  next append is sealed onto, and may append to the platform chain only. The head is found by
  ``audit_platform_head()``, which runs as the owner (SECURITY DEFINER): a policy cannot read
  its own table without recursing.

Row-level security on these four tables is enabled but not forced, so the owner is not bound
by it; the app role gets a policy letting it see every row, as before. The app role is a member
of the readers' role, so the readers' policies apply to it as well, ORed with its own.
tests/postgres/test_reader_grants.py names every grant and policy the readers' role holds.

The app role may now read ``alembic_version`` (and nothing else of it): readiness compares the
database's revision with the code's head (app/http/health.py), which a migration like this one,
changing grants and policies only, would otherwise pass unseen.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from alembic import op

from tenants.postgres import migration_app_role, reader_role_for

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# The app role's one privilege on Alembic's record: readiness reads the revision.
READ_REVISION = "SELECT ON alembic_version"

# The columns each table's UPDATE may still write for the readers' role, and why.
READER_UPDATES = {
    # change_password: the hash, the set-up flag, the epoch (other sessions end); a wrong
    # current password: the lockout count; end_all_sessions: the epoch; updated_at with each.
    "users": (
        "password_hash",
        "must_change_password",
        "session_epoch",
        "failed_attempts",
        "locked_until",
        "updated_at",
    ),
    # publish_release and discard_release (the coordinator).
    "releases": ("status", "published_at", "published_by"),
    # end_web_session: sign-out, and the old session on a password change.
    "web_sessions": ("ended_at",),
}

_ALLIANCE_OR_MINISTRY = (
    "organisation_id IN (SELECT id FROM organisations WHERE kind IN ('alliance', 'ministry'))"
)
_THEIR_STAFF = "user_id IN (SELECT id FROM users)"  # users as the readers' role sees it

# table -> (policy, command, its rules) for the readers' role.
READER_POLICIES = {
    "users": [
        (
            "users_readers",
            "ALL",
            f"USING ({_ALLIANCE_OR_MINISTRY}) WITH CHECK ({_ALLIANCE_OR_MINISTRY})",
        )
    ],
    "user_prisons": [
        ("user_prisons_readers", "ALL", f"USING ({_THEIR_STAFF}) WITH CHECK ({_THEIR_STAFF})")
    ],
    "web_sessions": [
        ("web_sessions_readers", "ALL", f"USING ({_THEIR_STAFF}) WITH CHECK ({_THEIR_STAFF})")
    ],
    "audit_events": [
        (
            "audit_events_readers_head",
            "SELECT",
            "USING (chain = 'platform' AND sequence = (SELECT audit_platform_head()))",
        ),
        ("audit_events_readers_append", "INSERT", "WITH CHECK (chain = 'platform')"),
    ],
}

# STABLE: it reads the calling statement's snapshot, so the head it finds is the one the
# statement sees (the append lock, app.services.platform.audit.lock_chain, is held before it runs).
_HEAD = """
CREATE FUNCTION audit_platform_head() RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT max(sequence) FROM public.audit_events WHERE chain = 'platform'
$$
"""


def _roles() -> tuple[str, str]:
    role = migration_app_role(op.get_context().config.attributes)
    return role, reader_role_for(role)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no roles: the app's own checks are all there is
    role, reader = _roles()
    op.execute(f"GRANT {READ_REVISION} TO {role}")
    for table, columns in READER_UPDATES.items():
        op.execute(f"REVOKE UPDATE ON {table} FROM {reader}")
        op.execute(f"GRANT UPDATE ({', '.join(columns)}) ON {table} TO {reader}")
    op.execute(_HEAD)
    op.execute("REVOKE ALL ON FUNCTION audit_platform_head() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION audit_platform_head() TO {reader}")
    for table, policies in READER_POLICIES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_app ON {table} AS PERMISSIVE FOR ALL TO {role} "
            "USING (true) WITH CHECK (true)"
        )
        for name, command, rules in policies:
            op.execute(
                f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR {command} TO {reader} {rules}"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    role, reader = _roles()
    op.execute(f"REVOKE {READ_REVISION} FROM {role}")
    for table, policies in READER_POLICIES.items():
        for name, _command, _rules in policies:
            op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
        op.execute(f"DROP POLICY IF EXISTS {table}_app ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION IF EXISTS audit_platform_head()")
    for table in READER_UPDATES:
        # Revoking the table's UPDATE revokes its column grants too.
        op.execute(f"REVOKE UPDATE ON {table} FROM {reader}")
        op.execute(f"GRANT UPDATE ON {table} TO {reader}")

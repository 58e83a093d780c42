"""Signed checkpoints: a history rewritten with every hash recomputed passes the chain check on
its own, and is caught by a checkpoint signed before the rewrite and kept elsewhere."""

from __future__ import annotations

import json
from dataclasses import replace

from sqlalchemy import delete, select

from app.domain.audit_chain import seal
from app.models import AuditEntry
from tests.support.audit_trail import activity, chain_of, verify_audit


def _rewrite_history(owner_sessions, chain: str) -> None:
    """Change one event and re-seal everything after it: what a careful forger would do."""
    with owner_sessions() as session:
        events = [
            row.to_event()
            for row in session.scalars(
                select(AuditEntry).where(AuditEntry.chain == chain).order_by(AuditEntry.sequence)
            )
        ]
        session.execute(delete(AuditEntry).where(AuditEntry.chain == chain))
        previous = None
        for event in events:
            draft = event.as_draft()
            if event.sequence == 1:
                draft = replace(draft, source="198.51.100.7")
            previous = seal(draft, previous)
            session.add(AuditEntry.from_event(previous))
        session.commit()


def test_rewritten_history_passes_the_chain_check_but_not_the_checkpoint(
    app, world, signed_in, owner_sessions, tmp_path
):
    activity(world, signed_in)
    checkpoints = tmp_path / "checkpoints.json"
    result = app.test_cli_runner().invoke(args=["audit", "checkpoint", "--out", str(checkpoints)])
    assert result.exit_code == 0, result.output
    exported = json.loads(checkpoints.read_text())
    assert "BEGIN PUBLIC KEY" in exported["public_key"]
    assert {entry["chain"] for entry in exported["checkpoints"]} == {
        chain_of(world, "pops"),
        chain_of(world, "nepacs"),
    }
    assert verify_audit(app, "--checkpoints", str(checkpoints))[0] == 0

    pops = chain_of(world, "pops")
    _rewrite_history(owner_sessions, pops)
    code, lines = verify_audit(app)
    assert code == 0, lines  # every hash was recomputed: the chain alone cannot tell
    code, lines = verify_audit(app, "--checkpoints", str(checkpoints))
    assert code == 1
    assert any(line.startswith(f"REWRITTEN {pops}") for line in lines), lines


def test_a_checkpoint_with_a_forged_signature_is_refused(app, world, signed_in, tmp_path):
    activity(world, signed_in)
    checkpoints = tmp_path / "checkpoints.json"
    app.test_cli_runner().invoke(args=["audit", "checkpoint", "--out", str(checkpoints)])
    exported = json.loads(checkpoints.read_text())
    exported["checkpoints"][0]["sequence"] += 1  # claims a later head than was signed
    checkpoints.write_text(json.dumps(exported))
    code, lines = verify_audit(app, "--checkpoints", str(checkpoints))
    assert code == 1
    assert any(line.startswith("BAD SIGNATURE") for line in lines), lines


def test_the_signing_key_is_generated_once_and_private(app, world, signed_in, tmp_path):
    activity(world, signed_in)
    runner = app.test_cli_runner()
    first = json.loads(runner.invoke(args=["audit", "checkpoint"]).output)
    second = json.loads(runner.invoke(args=["audit", "checkpoint"]).output)
    assert first["public_key"] == second["public_key"]
    key_file = app.extensions["continuum"].settings.instance_path / "audit-signing.key"
    assert key_file.stat().st_mode & 0o077 == 0

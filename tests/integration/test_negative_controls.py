"""Negative controls: take one wall down and show that the tests guarding it fail.

Each control reruns part of this suite in a subprocess with ``CONTINUUM_NEGATIVE_CONTROL`` set
(read only by tests/conftest.py; the application has no such switch), and passes only if that run
fails on the expected tests. A guard whose tests still pass without it would be untested.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# Minutes, not seconds: CI runs them always; a quick local run may leave them out with
# -m 'not end_to_end' (docs/testing.md).
pytestmark = pytest.mark.end_to_end

ROOT = Path(__file__).resolve().parents[2]


def _rerun(control: str, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["CONTINUUM_NEGATIVE_CONTROL"] = control
    result = subprocess.run(  # noqa: S603 - our own test suite, fixed arguments
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            *args,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def _failed(output: str) -> set[str]:
    return set(re.findall(r"^FAILED (\S+)", output, flags=re.MULTILINE))


def test_isolation_matrix_fails_without_the_orm_guard_on_sqlite():
    code, output = _rerun(
        "orm_guard",
        "tests/integration/test_isolation_matrix.py",
        "-k",
        "sqlite and pops_liverpool",
        "-rf",
    )
    failed = _failed(output)
    assert code == 1, output[-3000:]
    assert any("test_lists_show_exactly_the_actors_cases" in name for name in failed)
    assert any("test_case_by_id" in name and "foreign" in name for name in failed)


def test_postgres_walls_stand_alone_and_the_matrix_fails_only_without_both(postgres):
    if postgres is None:
        pytest.skip("PostgreSQL is not available")
    selection = (
        "tests/integration/test_isolation_matrix.py",
        "-k",
        "postgresql and pops_liverpool",
        "-rf",
    )
    # The ORM guard alone down: row-level security still keeps every case in its charity.
    code, output = _rerun("orm_guard", *selection)
    assert code == 0, output[-3000:]
    # The policies alone down: the ORM guard still keeps every case in its charity.
    code, output = _rerun("rls_policies", *selection)
    assert code == 0, output[-3000:]
    # Both down: the matrix sees other charities' and other prisons' cases.
    code, output = _rerun("orm_guard,rls_policies", *selection)
    assert code == 1, output[-3000:]
    assert any("test_lists_show_exactly_the_actors_cases" in name for name in _failed(output))


def test_row_level_security_tests_fail_with_the_policies_dropped(postgres):
    if postgres is None:
        pytest.skip("PostgreSQL is not available")
    code, output = _rerun("rls_policies", "tests/postgres/test_rls.py", "-rf")
    failed = _failed(output)
    assert code == 1, output[-3000:]
    for expected in (
        "test_app_role_sees_no_case_with_no_context",
        "test_prison_policy_fails_closed_with_charity_but_no_prisons",
        "test_insert_for_another_charity_is_refused_by_policy",
        "test_moving_a_row_to_another_charity_is_refused_by_policy",
        "test_every_tenant_owned_table_has_forced_rls_and_both_policies",
        "test_pooled_connection_does_not_carry_one_requests_charity_into_the_next",
    ):
        assert any(expected in name for name in failed), (
            f"{expected} did not fail:\n{output[-3000:]}"
        )


def test_orm_guard_tests_fail_without_the_guard():
    code, output = _rerun("orm_guard", "tests/integration/test_orm_guard.py", "-k", "sqlite", "-rf")
    failed = _failed(output)
    assert code == 1, output[-3000:]
    for expected in (
        "test_query_on_case_with_no_context_raises",
        "test_insert_for_another_charity_is_refused",
        "test_pops_liverpool_context_sees_only_liverpool_cases",
    ):
        assert any(expected in name for name in failed), (
            f"{expected} did not fail:\n{output[-3000:]}"
        )


def test_consent_and_search_tests_fail_without_the_orm_guard_on_sqlite():
    """Without the guard, an edited consent reaches SQLite's trigger instead of being refused as
    AppendOnlyWrite, and search sees Wakefield's and NEPACS's people."""
    code, output = _rerun(
        "orm_guard",
        "tests/integration/test_case_record_integrity.py",
        "tests/integration/test_casework_services.py",
        "-k",
        "sqlite and (through_the_orm or finds_only or name_search)",
        "-rf",
    )
    failed = _failed(output)
    assert code == 1, output[-3000:]
    for expected in (
        "test_a_consent_record_cannot_be_edited_or_deleted_through_the_orm[sqlite-edit]",
        "test_a_consent_record_cannot_be_edited_or_deleted_through_the_orm[sqlite-delete]",
        "test_a_prison_number_finds_only_the_callers_charity_and_prisons[sqlite]",
        "test_a_name_search_matches_part_of_a_name_within_scope[sqlite]",
    ):
        assert any(expected in name for name in failed), (
            f"{expected} did not fail:\n{output[-3000:]}"
        )


def test_consent_gate_tests_fail_with_the_gate_forced_open():
    """With the consent gate (app.services.transfers.terms.consent_gate, wherever a step asks it)
    letting everything through, offers without the family's consent are made, lapsed consents
    are accepted and withdrawals halt nothing."""
    code, output = _rerun(
        "consent_gate",
        "tests/integration/test_transfer_consent_gate.py",
        "-k",
        "sqlite",
        "-rf",
    )
    failed = _failed(output)
    assert code == 1, output[-3000:]
    for expected in (
        "test_pops_offer_without_any_consent_is_refused_and_nepacs_learns_nothing[sqlite]",
        "test_pops_offer_is_refused_without_a_consent_to_this_transfer_today[sqlite-for_another_charity]",
        "test_pops_offer_is_refused_without_a_consent_to_this_transfer_today[sqlite-withdrawn]",
        "test_nepacs_accept_is_refused_once_the_consent_has_expired_since_the_offer[sqlite]",
        "test_withdrawal_after_the_offer_halts_the_transfer_in_its_own_transaction[sqlite]",
    ):
        assert any(expected in name for name in failed), (
            f"{expected} did not fail:\n{output[-3000:]}"
        )


def test_receiver_tests_fail_without_receiver_sees_in_the_orm_guard_on_sqlite():
    """Without ``receiver_sees`` in the guard's criterion for shared rows, NEPACS reads a
    transfer POPS has only proposed, before the family consented to anything."""
    code, output = _rerun(
        "receiver_sees",
        "tests/integration/test_transfer_consent_gate.py",
        "tests/integration/test_transfer_guard.py",
        "-k",
        "sqlite and (receiver_sees or receiver_cannot_see)",
        "-rf",
    )
    failed = _failed(output)
    assert code == 1, output[-3000:]
    for expected in (
        "test_receiver_sees_nothing_before_the_offer[sqlite]",
        "test_receiver_cannot_see_the_transfer_before_it_is_shared[sqlite]",
        "test_receiver_sees_the_transfer_from_the_offer_step_on[sqlite]",
    ):
        assert any(expected in name for name in failed), (
            f"{expected} did not fail:\n{output[-3000:]}"
        )


def test_session_end_tests_fail_without_the_server_side_session_check_on_sqlite():
    """With every server-side session counted as open, a copy of the cookie outlives sign-out
    again (issue 13 item 1), for a caseworker and for the ministry's analyst alike; the endings
    that raise the user's epoch still end every copy, so only sign-out's tests fail."""
    code, output = _rerun(
        "server_sessions", "tests/integration/test_session_end.py", "-k", "sqlite", "-rf"
    )
    failed = _failed(output)
    assert code == 1, output[-3000:]
    prefix = "tests/integration/test_session_end.py::"
    assert failed == {
        f"{prefix}test_a_copied_cookie_reads_and_writes_nothing_after_the_session_ends"
        "[sqlite-sign_out]",
        f"{prefix}test_a_ministry_analysts_copied_cookie_reads_nothing_after_the_session_ends"
        "[sqlite-sign_out]",
    }, output[-3000:]


def test_the_outsiders_reading_of_the_demo_fails_with_the_protector_cut_back_to_declared_sums():
    """With the definitions' relations gone from every draft (issue 12), the protector no longer
    sees a region's families supported tie its prisons, needs and means together; the independent
    reader, told by each document that only declared sums guided suppression, proves small
    prisons present again, as it did on the demo before the relations were modelled."""
    code, output = _rerun(
        "release_relations", "tests/outsider/test_demo_releases.py", "-k", "sqlite", "-rf"
    )
    failed = _failed(output)
    assert code == 1, output[-3000:]
    assert failed == {
        "tests/outsider/test_demo_releases.py::"
        "test_no_reader_can_work_out_a_suppressed_figure_of_the_demos_releases[sqlite]"
    }, output[-3000:]
    assert "prison_activity" in output and "proven present and small" in output, output[-3000:]


def test_the_reader_pins_a_generated_history_with_the_protector_cut_back_to_declared_sums():
    """The same control on the generated histories (no database): two small prisons of a
    region whose 12 families share a need are proven present once the need's 10 is published."""
    code, output = _rerun("release_relations", "tests/outsider/test_protected_histories.py", "-rf")
    assert code == 1, output[-3000:]
    assert _failed(output) == {
        "tests/outsider/test_protected_histories.py::"
        "test_no_reader_pins_a_figure_the_protector_let_out"
    }, output[-3000:]
    assert "proven present and small" in output, output[-3000:]


def test_a_reader_told_what_a_revision_changed_pins_the_revised_release_without_the_links():
    """With a revision's figures tied to nothing it revises (issue 12, "Revisions"), revision 2
    publishes the prison's 10 families, and a reader told that one family was added proves
    revision 1's suppressed 9."""
    code, output = _rerun(
        "revision_links", "tests/outsider/test_revisions.py", "-k", "sqlite", "-rf"
    )
    assert code == 1, output[-3000:]
    assert _failed(output) == {
        "tests/outsider/test_revisions.py::"
        "test_no_reader_told_exactly_what_changed_can_pin_a_figure_of_either_revision[sqlite]"
    }, output[-3000:]
    assert "2026Q3r1" in output and "families_supported" in output, output[-3000:]


def test_concurrent_audited_reads_fail_on_sqlite_without_the_append_lock():
    """Without BEGIN IMMEDIATE before an append reads its chain's last event (issue 13 item 7),
    reads running side by side collide on the chain's unique key again."""
    code, output = _rerun(
        "sqlite_append_lock",
        "tests/integration/test_audit_appends_concurrently.py",
        "-k",
        "sqlite",
        "-rf",
    )
    failed = _failed(output)
    assert code == 1, output[-3000:]
    prefix = "tests/integration/test_audit_appends_concurrently.py::"
    assert failed == {
        f"{prefix}test_caseworkers_reading_cases_at_once_all_succeed_and_every_chain_holds[sqlite]",
        f"{prefix}test_api_case_reads_at_once_never_answer_500_and_every_chain_holds[sqlite]",
    }, output[-3000:]
    assert "UNIQUE constraint failed" in output, output[-3000:]

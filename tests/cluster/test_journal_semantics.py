"""The SQLite journal's own tests (tests/daemon/test_journal.py, test_reconcile.py, the
journal-backed ones of test_status.py), run again on the PostgreSQL journal: same semantics
on both backends. Each test keeps the docstring of the test it re-runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from riskd.daemon.journal import Journal, open_journal
from tests.daemon.conftest import clock, make_exchange
from tests.daemon.test_journal import (
    test_dry_run_intents_are_not_open,
    test_events_since_and_limit,
    test_finish_refuses_open_status,
    test_intent_lifecycle,
    test_pause_state,
    test_rule_state_and_status_roundtrip,
    test_spent_counts_live_non_failed_since,
)
from tests.daemon.test_reconcile import (
    test_flash_repay_by_id,
    test_flash_repay_still_running_is_unknown_not_resent,
    test_flash_repay_without_id_found_by_system_repay,
    test_flash_repay_without_id_uses_debt,
    test_one_record_never_counts_for_two_intents,
    test_reduce_found_by_client_oid,
    test_repay_found_in_records,
    test_repay_not_sent,
    test_unreachable_exchange_keeps_intent_open,
)
from tests.daemon.test_status import (
    test_a_poll_error_keeps_the_trend_samples,
    test_json_is_typed_and_versioned,
    test_rows_carry_reading_distance_and_trend,
    test_rows_name_rules_errors_and_last_action,
    test_stopped_account_keeps_its_line,
    test_trend_needs_spread_samples_and_forgets_old_ones,
    test_unknown_price_leaves_distance_unknown,
)


@pytest.fixture
async def journal(pg_url: str) -> AsyncIterator[Journal]:
    """The journal the re-run tests take: PostgreSQL, in a fresh database."""
    j = await open_journal(pg_url)
    yield j
    await j.close()


__all__ = [
    "clock",
    "make_exchange",
    "test_a_poll_error_keeps_the_trend_samples",
    "test_dry_run_intents_are_not_open",
    "test_events_since_and_limit",
    "test_finish_refuses_open_status",
    "test_flash_repay_by_id",
    "test_flash_repay_still_running_is_unknown_not_resent",
    "test_flash_repay_without_id_found_by_system_repay",
    "test_flash_repay_without_id_uses_debt",
    "test_intent_lifecycle",
    "test_json_is_typed_and_versioned",
    "test_one_record_never_counts_for_two_intents",
    "test_pause_state",
    "test_reduce_found_by_client_oid",
    "test_repay_found_in_records",
    "test_repay_not_sent",
    "test_rows_carry_reading_distance_and_trend",
    "test_rows_name_rules_errors_and_last_action",
    "test_rule_state_and_status_roundtrip",
    "test_spent_counts_live_non_failed_since",
    "test_stopped_account_keeps_its_line",
    "test_trend_needs_spread_samples_and_forgets_old_ones",
    "test_unknown_price_leaves_distance_unknown",
    "test_unreachable_exchange_keeps_intent_open",
]

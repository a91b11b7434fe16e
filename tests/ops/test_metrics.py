"""Prometheus metrics: every series the daemon reports, in a registry of its own."""

from __future__ import annotations

import logging
import os
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from riskd.ops.metrics import ALL_ACCOUNTS, Metrics
from riskd.redact import register_secret


def _samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = metrics.render().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return _samples(metrics).get((name, frozenset(labels.items())))


def test_up_and_build_info() -> None:
    """riskd_up is 1 and build info carries the version given."""
    metrics = Metrics(version="9.9.9", process_collector=False)
    assert _value(metrics, "riskd_up") == 1.0
    info = [k for k in _samples(metrics) if k[0] == "riskd_build_info"]
    assert len(info) == 1
    assert ("version", "9.9.9") in info[0][1]


def test_every_reported_series_appears_with_its_labels() -> None:
    """Each Metrics method produces the series and labels the docs promise."""
    m = Metrics(process_collector=False)
    m.set_live("main", False)
    m.set_paused(ALL_ACCOUNTS, True)
    m.set_risk_rate("main", "isolated:BTCUSDT", Decimal("0.8125"))
    m.set_data_age("main", "cross", 3.5)
    m.set_rule_state("main", "cross", "repay-at-80", "firing")
    m.action("main", "repay", "ok")
    m.action("main", "repay", "ok")
    m.action("main", "flashRepay", "failed")
    m.notification_failed("telegram")
    m.set_budget_use("uid", "isolated_risk_rate", 0.42, account="main")
    m.set_budget_use("ip", "isolated_interest_rate_and_limit", 0.1)
    m.rate_limited_answer("isolated_risk_rate", account="main")
    m.observe_poll("main", 0.3)
    m.missed_tick("poll:main", 2)
    m.tick_ok(1_700_000_123.5)

    assert _value(m, "riskd_live", account="main") == 0.0
    assert _value(m, "riskd_actions_paused", account="*") == 1.0
    assert _value(m, "riskd_risk_rate", account="main", scope="isolated:BTCUSDT") == 0.8125
    assert _value(m, "riskd_data_age_seconds", account="main", scope="cross") == 3.5
    assert (
        _value(
            m, "riskd_rule_state", account="main", scope="cross", rule="repay-at-80", state="firing"
        )
        == 1.0
    )
    assert _value(m, "riskd_actions_total", account="main", kind="repay", outcome="ok") == 2.0
    assert (
        _value(m, "riskd_actions_total", account="main", kind="flashRepay", outcome="failed") == 1.0
    )
    assert _value(m, "riskd_notification_failures_total", route="telegram") == 1.0
    assert (
        _value(
            m,
            "riskd_budget_used_ratio",
            limit_scope="uid",
            endpoint="isolated_risk_rate",
            account="main",
        )
        == 0.42
    )
    assert (
        _value(
            m,
            "riskd_budget_used_ratio",
            limit_scope="ip",
            endpoint="isolated_interest_rate_and_limit",
            account="",
        )
        == 0.1
    )
    assert (
        _value(m, "riskd_rate_limited_total", endpoint="isolated_risk_rate", account="main") == 1.0
    )
    assert _value(m, "riskd_poll_duration_seconds_count", account="main") == 1.0
    assert _value(m, "riskd_poll_duration_seconds_bucket", account="main", le="0.5") == 1.0
    assert _value(m, "riskd_poll_duration_seconds_bucket", account="main", le="0.25") == 0.0
    assert _value(m, "riskd_missed_ticks_total", job="poll:main") == 2.0
    assert _value(m, "riskd_last_tick_timestamp_seconds") == 1_700_000_123.5


def test_rule_state_is_one_hot() -> None:
    """Only the current state is 1; states the rule left (known or new) drop to 0."""
    m = Metrics(process_collector=False)
    m.set_rule_state("main", "cross", "r1", "pending")
    labels = {"account": "main", "scope": "cross", "rule": "r1"}
    assert _value(m, "riskd_rule_state", **labels, state="pending") == 1.0
    assert _value(m, "riskd_rule_state", **labels, state="inactive") == 0.0
    assert _value(m, "riskd_rule_state", **labels, state="firing") == 0.0
    m.set_rule_state("main", "cross", "r1", "escalated")
    assert _value(m, "riskd_rule_state", **labels, state="escalated") == 1.0
    assert _value(m, "riskd_rule_state", **labels, state="pending") == 0.0
    m.set_rule_state("main", "cross", "r1", "firing")
    assert _value(m, "riskd_rule_state", **labels, state="escalated") == 0.0
    assert _value(m, "riskd_rule_state", **labels, state="firing") == 1.0


def test_forget_scope_drops_its_series_only() -> None:
    """A closed isolated position's series disappear; other scopes stay."""
    m = Metrics(process_collector=False)
    for scope in ("cross", "isolated:ETHUSDT"):
        m.set_risk_rate("main", scope, 0.5)
        m.set_data_age("main", scope, 1.0)
        m.set_rule_state("main", scope, "r1", "inactive")
    m.forget_scope("main", "isolated:ETHUSDT")
    m.forget_scope("main", "isolated:NEVERSEEN")
    scopes = {
        dict(labels).get("scope") for (name, labels) in _samples(m) if "scope" in dict(labels)
    }
    assert scopes == {"cross"}


def test_registries_are_private() -> None:
    """Two Metrics live side by side and nothing lands in the global registry."""
    a, b = Metrics(process_collector=False), Metrics(process_collector=False)
    a.set_risk_rate("x", "cross", 0.1)
    b.set_risk_rate("x", "cross", 0.2)
    assert _value(a, "riskd_risk_rate", account="x", scope="cross") == 0.1
    assert _value(b, "riskd_risk_rate", account="x", scope="cross") == 0.2
    assert REGISTRY.get_sample_value("riskd_up") is None


def test_process_collector_is_optional() -> None:
    """process_* series come with the default collector and not without it."""
    with_proc = Metrics().render().decode()
    without = Metrics(process_collector=False).render().decode()
    assert "process_resident_memory_bytes" in with_proc
    assert "process_" not in without


def test_a_secret_label_value_is_masked_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    """Should a secret ever be used as a label, /metrics shows *** and an error is logged once."""
    secret = "label-secret-" + os.urandom(8).hex()
    register_secret(secret)
    m = Metrics(process_collector=False)
    with caplog.at_level(logging.ERROR, logger="riskd.ops.metrics"):
        m.set_risk_rate(secret, "cross", 0.3)
        m.notification_failed(f"tgram://{secret}/1")
    text = m.render().decode()
    assert secret not in text
    assert 'account="***"' in text
    assert 'route="tgram://***/1"' in text
    assert len(caplog.records) == 1


def test_negative_inputs_are_clamped() -> None:
    """Ages, ratios and durations below zero (clock skew) are exported as 0."""
    m = Metrics(process_collector=False)
    m.set_data_age("a", "cross", -2.0)
    m.set_budget_use("uid", "e", -0.1, account="a")
    m.observe_poll("a", -1.0)
    assert _value(m, "riskd_data_age_seconds", account="a", scope="cross") == 0.0
    assert _value(m, "riskd_budget_used_ratio", limit_scope="uid", endpoint="e", account="a") == 0
    assert _value(m, "riskd_poll_duration_seconds_sum", account="a") == 0.0

"""The status rows the daemon writes and the report `riskd status` builds from them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from riskd.daemon.journal import Intent, IntentRecord, Journal
from riskd.daemon.push import PushSources
from riskd.daemon.status import build_report, daemon_info, load_report, status_rows
from riskd.daemon.status_model import SCHEMA_VERSION, LastAction, ScopeRow
from riskd.daemon.status_render import ago, render_rich, render_text
from riskd.daemon.status_report import DaemonState, Liquidation, budget_key
from riskd.risk.snapshot import CoinBalance, ScopeSnapshot
from riskd.rules.state import EngineState, RuleScopeState, Status

T0 = 1_800_000_000.0
_LINE = "k/IP/: 0/9 of 10/1s (polls 0/6), 429s 0, waits 0 (0.00s), exhausted 0"


@dataclass
class FakePoller:
    """The poller's readable state (:class:`riskd.daemon.status.PollerView`)."""

    snapshots: dict[str, ScopeSnapshot] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    next_due: dict[str, float] = field(default_factory=dict)
    stopped: str | None = None


@dataclass
class FakeAccount:
    """One account of the daemon (:class:`riskd.daemon.status.AccountView`)."""

    name: str
    poller: FakePoller
    state: EngineState = field(default_factory=EngineState)
    stale: set[str] = field(default_factory=set)
    dry_run: bool = True


@dataclass
class FakeDaemon:
    """The daemon as the rows see it: its journal and, with the push path on, its sources."""

    journal: Journal
    push_sources: Callable[[str], PushSources] | None = None


def snapshot(rate: str, at: float, *, prices: bool = True) -> ScopeSnapshot:
    """A cross scope holding BTC against a USDT debt."""
    balances = {
        "BTC": CoinBalance("BTC", D("1"), D(0), D(0), D(0)),
        "USDT": CoinBalance("USDT", D(0), D(0), D("20000"), D(0)),
    }
    return ScopeSnapshot(
        account="main",
        scope="cross",
        risk_rate=D(rate),
        balances=balances,
        observed_at=at,
        maintain_margin_rate={"BTC": D("0.1"), "USDT": D("0.1")},
        prices_usdt={"BTC": D("30000")} if prices else {},
        reported_risk_rate=D(rate),
        local_risk_rate=D(rate) + D("1e-20"),
        risk_reading="liabilities/assets",
        reading_checked=True,
    )


async def write_cycle(journal: Journal, acc: FakeAccount, now: float) -> None:
    rows = await status_rows(FakeDaemon(journal), acc, now)
    await journal.write_status(rows, at=now)


@pytest.fixture
async def journal(tmp_path: Path) -> Any:
    j = await Journal.open(tmp_path / "journal.sqlite3")
    yield j
    await j.close()


async def test_rows_carry_reading_distance_and_trend(journal: Journal) -> None:
    """Rows keep the v2 reading fields, the price move to liquidation and a rising trend."""
    acc = FakeAccount("main", FakePoller())
    for i, rate in enumerate(("0.50", "0.55", "0.60")):
        at = T0 + 30 * i
        acc.poller.snapshots["cross"] = snapshot(rate, at)
        await write_cycle(journal, acc, at + 1)
    report = await load_report(journal, T0 + 61, alive=lambda pid: False)
    (row,) = report.accounts[0].scopes
    assert row.risk_rate == D("0.60") and row.risk_reading == "liabilities/assets"
    assert row.reported_risk_rate == D("0.60000000") and row.reading_checked is True
    assert row.local_risk_rate == D("0.60000000")
    assert row.trend_per_min == D("0.10000000")
    assert row.price_move_to_liquidation is not None and row.price_move_to_liquidation < 0
    assert row.headroom_to_liquidation == D("0.40")
    text = render_text(report)
    assert "read as liabilities/assets; own 0.60000000]" in text
    assert "trend rising +0.10000000/min" in text and "% in price" in text


async def test_trend_needs_spread_samples_and_forgets_old_ones(journal: Journal) -> None:
    """A row samples at most every 5 s, keeps 5 minutes, and shows no trend from one sample."""
    acc = FakeAccount("main", FakePoller())
    for i in range(10):  # one per second: only every fifth is kept
        acc.poller.snapshots["cross"] = snapshot("0.5", T0 + i)
        await write_cycle(journal, acc, T0 + i)
    rows = await journal.read_status()
    samples = ScopeRow.from_record("main", "cross", rows[0][3]).risk_samples
    assert [t for t, _ in samples] == [T0, T0 + 5]
    acc.poller.snapshots["cross"] = snapshot("0.7", T0 + 400)
    await write_cycle(journal, acc, T0 + 400)
    row = ScopeRow.from_record("main", "cross", (await journal.read_status())[0][3])
    assert [t for t, _ in row.risk_samples] == [T0 + 400] and row.trend_per_min is None


async def test_unknown_price_leaves_distance_unknown(journal: Journal) -> None:
    """Without an index price the price move is unknown (null), never guessed."""
    acc = FakeAccount("main", FakePoller({"cross": snapshot("0.5", T0, prices=False)}))
    (_, _, record), *_ = await status_rows(FakeDaemon(journal), acc, T0)
    assert record["price_move_to_liquidation"] is None and record["risk_rate"] == "0.5"


async def test_rows_name_rules_errors_and_last_action(journal: Journal) -> None:
    """Firing and pending rules, the poll error and the last intent are in the row."""
    state = EngineState(
        {
            ("main", "cross"): {
                "hot": RuleScopeState(status=Status.FIRING),
                "warm": RuleScopeState(status=Status.PENDING),
            }
        }
    )
    acc = FakeAccount(
        "main",
        FakePoller({"cross": snapshot("0.9", T0)}, {"cross": "HTTP 502"}),
        state=state,
        stale={"cross"},
    )
    await journal.begin_intent(
        Intent(
            "i1",
            T0 - 5,
            "main",
            "cross",
            "repay",
            "hot",
            "a1",
            {"coin": "USDT"},
            "USDT",
            D(5),
            dry_run=True,
        ),
        "repay 5 USDT",
    )
    await write_cycle(journal, acc, T0)
    report = await load_report(journal, T0 + 2, alive=lambda pid: False)
    text = render_text(report)
    assert "firing: hot" in text and "pending: warm" in text
    assert "last error: HTTP 502" in text and "STALE" in text
    assert "last action: repay 5 USDT → dry_run" in text
    assert "main/cross repay 5 USDT → dry_run (dry-run) [hot]" in text


async def test_stopped_account_keeps_its_line(journal: Journal) -> None:
    """A Unified Trading Account writes one `account` row, shown as a STOPPED: line."""
    acc = FakeAccount("uta", FakePoller(stopped="Unified Trading Account (40085)"), dry_run=False)
    rows = await status_rows(FakeDaemon(journal), acc, T0)
    assert rows == [
        ("uta", "account", {"stopped": "Unified Trading Account (40085)", "live": True})
    ]
    await journal.write_status(rows, at=T0)
    report = await load_report(journal, T0, alive=lambda pid: False)
    assert "uta (LIVE)\n  STOPPED: Unified Trading Account (40085)" in render_text(report)
    assert report.to_json()["accounts"][0]["stopped"] == "Unified Trading Account (40085)"  # type: ignore[index]


def _rows() -> list[tuple[str, str, float, dict[str, Any]]]:
    row = ScopeRow("main", "cross", live=True, risk_rate=D("0.5"), data_age_s=1.0)
    return [("main", "cross", T0, row.to_record())]


def _meta(**extra: object) -> dict[str, object]:
    return {"pid": 4242, "started_at": T0 - 100, "last_cycle_at": T0, **extra}


def test_risk_comes_before_actions_and_budget() -> None:
    """The text puts every risk line first, then recent actions, then the budget."""
    budget = [
        f"k{i}/IP/: 0/9 of 10/1s (polls 0/6), 429s 0, waits 0 (0.00s), exhausted 0"
        for i in range(11)
    ]
    meta = _meta(budget=budget, notifier={"healthy": True, "queued": 0, "delivered": 3})
    info = daemon_info(meta, True, T0 + 1, alive=lambda pid: True)
    text = render_text(build_report(_rows(), info, meta, {}, T0 + 1))
    lines = text.splitlines()
    assert lines[0] == "riskd running (pid 4242), last cycle 1s ago"
    risk = next(i for i, line in enumerate(lines) if "riskRate 0.5" in line)
    actions = lines.index("recent actions: none in the last 24h")
    budget_at = lines.index("budget:")
    assert risk < actions < budget_at and len(lines) - budget_at - 1 == 11 + 1
    assert lines[-1].startswith("notifier: healthy, queued 0, delivered 3")


@pytest.mark.parametrize(
    ("running", "alive", "last", "state", "words"),
    [
        (True, True, T0, DaemonState.RUNNING, "riskd running (pid 4242), last cycle 5s ago"),
        (
            False,
            True,
            T0,
            DaemonState.NOT_RUNNING,
            "NOT RUNNING (last seen 5s ago; stopped cleanly)",
        ),
        (True, False, T0 - 600, DaemonState.NOT_RUNNING, "last seen 10m 5s ago; pid 4242 gone"),
        (
            True,
            True,
            T0 - 120,
            DaemonState.NOT_RESPONDING,
            "NOT RESPONDING (pid 4242 alive, last cycle 2m 5s ago)",
        ),
    ],
)
def test_daemon_liveness(
    running: bool, alive: bool, last: float, state: DaemonState, words: str
) -> None:
    """Running needs the flag, a live pid and a recent cycle; otherwise status says which."""
    meta = _meta(last_cycle_at=last)
    info = daemon_info(meta, running, T0 + 5, alive=lambda pid: alive and pid == 4242)
    assert info.state is state
    assert words in render_text(build_report(_rows(), info, meta, {}, T0 + 5))


def test_no_daemon_facts_means_never_ran() -> None:
    """A journal without daemon meta says riskd never ran on it."""
    info = daemon_info(None, None, T0)
    assert info.state is DaemonState.NEVER_RAN
    assert render_text(build_report([], info, None, {}, T0)).startswith("no status yet")


def test_budget_keys_from_lines_and_objects() -> None:
    """Budget keys are read from today's lines and from KeyStatus.to_json objects alike."""
    line = (
        "cross_assets/UID/main: 3/9 of 10/1s (polls 2/6), 429s 1, waits 4 (0.25s), "
        "exhausted 0, backing off 1.5s"
    )
    key = budget_key(line)
    assert key is not None and (key.used, key.capacity, key.http_429) == (3, 9, 1)
    assert key.backoff_remaining_s == 1.5 and key.line() == line
    obj = {
        "key": "k/IP/",
        "used": 1,
        "capacity": 9,
        "reserved": 3,
        "limit": 10,
        "window_s": 1,
        "used_by_polls": 1,
        "http_429": 0,
        "waits": 0,
        "wait_time_s": 0.0,
        "exhausted": 0,
    }
    parsed = budget_key(obj)
    assert parsed is not None and parsed.poll_capacity == 6
    assert budget_key("garbage") is None and budget_key({"key": "x"}) is None


def _walk(value: object, path: str = "") -> list[tuple[str, object]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _walk(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for v in value for p in _walk(v, f"{path}[]")]
    return [(path, value)]


DECIMAL_FIELDS = (
    "risk_rate", "warning_risk_ratio", "liquidation_risk_ratio", "headroom_to_liquidation",
    "price_move_to_liquidation", "trend_per_min", "reported_risk_rate", "local_risk_rate",
    "amount", "value_usdt",
)  # fmt: skip


async def test_json_is_typed_and_versioned(journal: Journal) -> None:
    """--json: schema_version, decimal strings for figures, numbers for times and counts."""
    acc = FakeAccount("main", FakePoller())
    for i, rate in enumerate(("0.50", "0.55")):
        acc.poller.snapshots["cross"] = snapshot(rate, T0 + 30 * i)
        await write_cycle(journal, acc, T0 + 30 * i)
    await journal.begin_intent(
        Intent("i1", T0, "main", "cross", "repay", "r", "a1", {}, "USDT", D("5.5"), D("5.5")),
        "repay",
    )
    await journal.set_meta("daemon", _meta(budget=["nonsense"]))
    await journal.set_meta("running", True)
    doc = (await load_report(journal, T0 + 29, alive=lambda pid: True)).to_json()
    json.dumps(doc)  # plain JSON
    assert doc["schema_version"] == SCHEMA_VERSION == 1
    for path, value in _walk(doc):
        name = path.rsplit(".", 1)[-1]
        if name in DECIMAL_FIELDS and value is not None:
            assert isinstance(value, str) and D(value).is_finite(), path
        elif name.endswith(("_at", "_s")) and value is not None:
            assert isinstance(value, int | float) and not isinstance(value, bool), path
        if isinstance(value, str):
            assert not value.endswith(" ago") and "s old" not in value, path
    assert doc["recent_actions"][0]["amount"] == "5.5"  # type: ignore[index]
    assert doc["daemon"]["state"] == "running"  # type: ignore[index]


def test_rows_of_older_versions_still_read() -> None:
    """A row written before the typed model (numbers, missing fields) reads without error."""
    row = ScopeRow.from_record("a", "cross", {"risk_rate": 0.5, "firing": ["r"], "junk": 1})
    assert row.risk_rate == D("0.5") and row.firing == ("r",) and row.risk_samples == ()
    assert row.to_record()["risk_rate"] == "0.5"


def test_rich_view_has_the_same_lines() -> None:
    """The --watch renderable holds the text lines, with the danger lines styled."""
    meta = _meta()
    info = daemon_info(meta, False, T0 + 5)
    report = build_report(_rows(), info, meta, {"*": True}, T0 + 5)
    rich = render_rich(report)
    assert rich.plain == render_text(report)
    assert any(span.style == "bold red" for span in rich.spans)
    assert "ACTIONS PAUSED for every account" in rich.plain


def test_ago_units() -> None:
    """Durations read as s, m s, h m, d h."""
    assert [ago(x) for x in (4, 303, 7500, 3 * 86400 + 4 * 3600)] == [
        "4s",
        "5m 3s",
        "2h 5m",
        "3d 4h",
    ]


def _record(status: str) -> IntentRecord:
    return IntentRecord(Intent("i", T0, "a", "cross", "repay", "r", "x"), status, None, {}, None)


def test_failed_actions_stand_out() -> None:
    """A failed recent action is styled red in the live view."""
    meta: Mapping[str, object] = _meta()
    report = build_report(
        [], daemon_info(meta, True, T0), meta, {}, T0, intents=[_record("failed")]
    )
    rich = render_rich(report)
    assert "a/cross repay → failed [r]" in rich.plain
    assert any(span.style == "red" for span in rich.spans)


def _shape(value: object) -> object:
    """The keys of a JSON value, recursively (first list item; free-form maps as `{}`)."""
    if isinstance(value, dict):
        return {k: {} if k in ("data", "params") else _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return None


def test_documented_json_matches_the_schema() -> None:
    """The --json example in docs/operations.md has exactly the fields the code writes."""
    page = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
    blocks = re.findall(r"```json\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    (documented,) = [json.loads(b) for b in blocks if '"schema_version"' in b]
    row = ScopeRow(
        "main", "cross", risk_rate=D("0.5"), written_at=T0,
        last_action=LastAction(T0, "repay", "r", "dry_run", True, {"coin": "USDT"}),
    )  # fmt: skip
    meta = _meta(budget=[_LINE], notifier={"healthy": True})
    report = build_report(
        [("main", "cross", T0, row.to_record())],
        daemon_info(meta, True, T0),
        meta,
        {},
        T0,
        intents=[_record("succeeded")],
        liquidations=[Liquidation(T0, "main", "cross", "liquidated")],
    )
    assert _shape(report.to_json()) == _shape(documented)


async def test_a_poll_error_keeps_the_trend_samples(journal: Journal) -> None:
    """A cycle with a poll error and no snapshot keeps the samples for the next reading."""
    acc = FakeAccount("main", FakePoller())
    acc.poller.snapshots["cross"] = snapshot("0.5", T0)
    await write_cycle(journal, acc, T0)
    del acc.poller.snapshots["cross"]
    acc.poller.errors["cross"] = "timeout"
    await write_cycle(journal, acc, T0 + 30)
    acc.poller.errors.clear()
    acc.poller.snapshots["cross"] = snapshot("0.6", T0 + 60)
    await write_cycle(journal, acc, T0 + 60)
    row = ScopeRow.from_record("main", "cross", (await journal.read_status())[0][3])
    assert [t for t, _ in row.risk_samples] == [T0, T0 + 60]
    assert row.trend_per_min == D("0.10000000")


async def test_rows_say_when_each_push_source_last_spoke(journal: Journal) -> None:
    """With the push path on, each row carries when the index prices and the account last
    pushed; the text and the JSON show their ages ("none yet" for a silent source)."""
    acc = FakeAccount("main", FakePoller())
    acc.poller.snapshots["cross"] = snapshot("0.5", T0)
    sources = PushSources(price_push_at=T0 - 2, account_push_at=None, polled_at={})
    rows = await status_rows(FakeDaemon(journal, lambda account: sources), acc, T0)
    await journal.write_status(rows, at=T0)
    report = await load_report(journal, T0 + 1, alive=lambda pid: False)
    (row,) = report.accounts[0].scopes
    assert row.pushes and row.price_push_at == T0 - 2 and row.account_push_at is None
    assert "pushes: index prices 3s ago, account none yet" in render_text(report)
    shown = row.to_json(T0 + 1)
    assert shown["price_push_age_s"] == 3.0 and shown["account_push_age_s"] is None


async def test_without_the_push_path_no_push_line(journal: Journal) -> None:
    """The push path off: no push line (not a misleading "none yet")."""
    acc = FakeAccount("main", FakePoller())
    acc.poller.snapshots["cross"] = snapshot("0.5", T0)
    await write_cycle(journal, acc, T0)
    report = await load_report(journal, T0 + 1, alive=lambda pid: False)
    assert "pushes:" not in render_text(report)


async def test_a_scope_with_a_repay_applied_says_so(journal: Journal) -> None:
    """A snapshot riskd adjusted with a repay's confirmed answer keeps its read's age, and
    the row says when the answer was applied (text and JSON); a plain read says nothing."""
    acc = FakeAccount("main", FakePoller())
    acc.poller.snapshots["cross"] = replace(snapshot("0.4", T0 - 4), adjusted_at=T0 - 1)
    await write_cycle(journal, acc, T0)
    report = await load_report(journal, T0 + 1, alive=lambda pid: False)
    (row,) = report.accounts[0].scopes
    assert row.adjusted_at == T0 - 1
    assert "data 5s old, a repay's answer applied 2s ago" in render_text(report)
    assert row.to_json(T0 + 1)["adjusted_at"] == T0 - 1
    acc.poller.snapshots["cross"] = snapshot("0.4", T0 + 1)
    await write_cycle(journal, acc, T0 + 1)
    report = await load_report(journal, T0 + 2, alive=lambda pid: False)
    assert "applied" not in render_text(report)
    assert report.accounts[0].scopes[0].adjusted_at is None

"""The backtest engine: the conservative path, riskd against no riskd, the figures."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

import riskd
from riskd.backtest.engine import ScopeMismatch, backtest, check_scopes, run_path
from riskd.backtest.snapshot import AccountSnapshot, SnapshotError, load_snapshot
from riskd.candles.read import Candle, CandleSeries, read_candles
from riskd.rules import RuleSet, load, load_texts

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "scenarios/candles/synthetic-btcusdt-1m.csv"
SAMPLE_SNAPSHOT = ROOT / "scenarios/candles/sample-snapshot.toml"
T0 = 1_700_000_040_000
D = Decimal

LONG = """account = "t"
symbol = "BTCUSDT"
[scopes."isolated:BTCUSDT"]
balances.BTC = { available = "0.5" }
balances.USDT = { available = "500", borrow = "10000" }
"""
SHORT = """account = "t"
symbol = "BTCUSDT"
[scopes."isolated:BTCUSDT"]
balances.BTC = { borrow = "0.5" }
balances.USDT = { available = "16500" }
"""


def snapshot(tmp_path: Path, text: str) -> AccountSnapshot:
    p = tmp_path / "snap.toml"
    p.write_text(text)
    return load_snapshot(p)


def series(*ohlc: tuple[int, int, int, int]) -> CandleSeries:
    candles = tuple(
        Candle(T0 + i * 60_000, D(o), D(h), D(lo), D(c)) for i, (o, h, lo, c) in enumerate(ohlc)
    )
    return CandleSeries("test", 60_000, candles)


def rules(text: str) -> RuleSet:
    loaded = load_texts([("test.toml", text)])
    assert loaded.ruleset is not None, loaded.problems
    return loaded.ruleset


def shipped() -> RuleSet:
    loaded = load([Path(riskd.__file__).parent / "shipped_rules"])
    assert loaded.ruleset is not None
    return loaded.ruleset


def test_long_meets_the_low_first(tmp_path: Path) -> None:
    """A long is liquidated on the way to the low, in the candle's first third, at the price
    where its rate reaches 1 — even though the candle closes far higher."""
    # 0.5 BTC + 500 USDT against 10,000 USDT at mmr 0.05: rate 1 at 0.5 p + 500 − 10,000 = 500.
    s = series((30000, 31000, 30000, 30500), (30500, 36000, 19900, 35000))
    r = run_path(s, snapshot(tmp_path, LONG), None)
    assert len(r.liquidations) == 1
    liq = r.liquidations[0]
    assert liq.price == D(20000)
    t1 = (T0 + 60_000) / 1000
    assert t1 < liq.at <= t1 + 20  # open → low takes the first third: before the high


def test_short_meets_the_high_first(tmp_path: Path) -> None:
    """A short is liquidated on the way to the high, in the candle's first third."""
    # 0.5 BTC owed, 16,500 USDT held, mmr 0.05: rate 1 at 0.025 p = 16,500 − 0.5 p.
    s = series((30000, 30000, 29000, 29500), (29500, 33500, 20000, 21000))
    r = run_path(s, snapshot(tmp_path, SHORT), None)
    liq = r.liquidations[0]  # (the rise goes on past it: liquidated again further up)
    assert liq.price == (D(16500) / D("0.525")).quantize(D("0.00000001"), rounding="ROUND_CEILING")
    t1 = (T0 + 60_000) / 1000
    assert t1 < liq.at <= t1 + 20


def test_liquidation_does_not_depend_on_the_poll_cadence(tmp_path: Path) -> None:
    """The same path liquidates at the same price and instant whether or not rules poll."""
    s = series((30000, 31000, 30000, 30500), (30500, 36000, 19900, 35000))
    never = rules(REPAY_100.replace("0.3", "5"))
    a = run_path(s, snapshot(tmp_path, LONG), None)
    b = run_path(s, snapshot(tmp_path, LONG), never, quiet_below=D(0))
    assert b.polls > 0
    assert [(x.price, x.at) for x in a.liquidations] == [(x.price, x.at) for x in b.liquidations]
    assert a.end_equity == b.end_equity


def test_no_liquidation_when_the_path_stays_above(tmp_path: Path) -> None:
    """A fall that stops short of the liquidation price liquidates nothing."""
    s = series((30000, 30000, 25000, 26000), (26000, 27000, 21000, 22000))
    r = run_path(s, snapshot(tmp_path, LONG), None)
    assert r.liquidations == [] and r.max_rate < 1


def test_shipped_rules_avoid_the_sample_crash() -> None:
    """The sample crash liquidates the sample account with no riskd, not with the ladder."""
    bt = backtest(read_candles(SAMPLE), load_snapshot(SAMPLE_SNAPSHOT), shipped())
    assert len(bt.baseline.liquidations) >= 1
    assert bt.riskd.liquidations == []
    assert bt.liquidations_avoided == len(bt.baseline.liquidations)
    assert bt.riskd.capital_moved > 0
    assert bt.riskd.max_rate < 1 <= bt.baseline.max_rate


REPAY_100 = """
[[rule]]
name = "repay-100"
scope = "isolated:*"
when = "riskRate >= 0.3"
cooldown = "10m"
then = [{ action = "repay", coin = "USDT", amount = "100" }]
"""


def test_capital_moved_counts_each_action(tmp_path: Path) -> None:
    """Each firing repays exactly 100 USDT; the rule's figures and the total agree."""
    # risk rate 10,000 × 0.05 / (0.5 × price + 500 − 10,000): 0.09 at 30,000, 0.33 at 22,000.
    s = series(*[(30000, 30000, 30000, 30000)] * 2, *[(22000, 22000, 22000, 22000)] * 30)
    bt = backtest(s, snapshot(tmp_path, LONG), rules(REPAY_100))
    fig = bt.riskd.rules["repay-100"]
    repays = [a for a in bt.riskd.actions if a.legs]
    assert fig.actions == len(repays) >= 2  # the cooldown of 10 min lets it act again
    assert all(a.capital == D(100) for a in repays)
    assert fig.capital_moved == bt.riskd.capital_moved == D(100) * len(repays)


def test_snapshot_scope_the_rules_cannot_see_is_refused(tmp_path: Path) -> None:
    """A cross scope with only isolated rules is refused before the run, naming the scope."""
    text = LONG + '[scopes.cross]\nbalances.USDT = { available = "10" }\n'
    with pytest.raises(ScopeMismatch, match="cross"):
        check_scopes(rules(REPAY_100), snapshot(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (LONG.replace('"0.5"', "0.5"), "scopes.isolated:BTCUSDT.balances.BTC.available"),
        (LONG.replace("BTC = {", "ETH = {"), "no price for ETH"),
        (LONG.replace('account = "t"\n', ""), "account"),
        (LONG.replace("isolated:BTCUSDT", "isolated:ETHUSDT"), "isolated:ETHUSDT"),
        (LONG + "extra = 1\n", "extra"),
    ],
)
def test_bad_snapshot_names_the_field(tmp_path: Path, text: str, words: str) -> None:
    """Floats, unknown coins, missing or extra fields: the error names the field."""
    with pytest.raises(SnapshotError, match=words.replace(".", r"\.")):
        snapshot(tmp_path, text)


def test_nothing_is_polled_inside_a_gap(tmp_path: Path) -> None:
    """A gap of missing candles is not polled: the rules see only the candles present."""
    s = CandleSeries(
        "gap",
        60_000,
        (
            Candle(T0, D(22000), D(22000), D(22000), D(22000)),
            Candle(T0 + 600_000, D(22000), D(22000), D(22000), D(22000)),
        ),
    )
    never = rules(REPAY_100.replace("0.3", "0.99"))
    r = run_path(s, snapshot(tmp_path, LONG), never, quiet_below=D(0))  # no quiet skip
    # rate 1/3: polled every 5 s (poll.interval): two candles of 60 s give 24 polls at most,
    # not the 132 of the 11 minutes the file spans.
    assert 12 <= r.polls <= 24


def test_quiet_candles_skip_changes_nothing_on_the_sample_crash() -> None:
    """Polling every candle at the daemon's cadence gives the same actions and outcome as the
    quiet-candle skip, on the sample's crash, with the shipped rules."""
    full = read_candles(SAMPLE)
    crash = CandleSeries(full.path, full.granularity_ms, full.candles[1950:2150])
    snap = load_snapshot(SAMPLE_SNAPSHOT)
    skip = backtest(crash, snap, shipped())
    dense = backtest(crash, snap, shipped(), quiet_below=D(0))
    assert dense.riskd.polls > skip.riskd.polls
    assert skip.riskd.capital_moved == dense.riskd.capital_moved > 0
    assert skip.riskd.end_equity == dense.riskd.end_equity
    assert skip.riskd.liquidations == dense.riskd.liquidations == []

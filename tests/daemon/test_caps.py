"""Caps: per-action and per-day limits in USDT and coin units, checked before a call."""

from __future__ import annotations

from decimal import Decimal as D

from riskd.daemon.caps import apply_caps
from riskd.settings import CapsSettings, CoinCap

PRICES = {"BTC": D(20000)}


def test_no_caps_allows_everything() -> None:
    """Without caps the action passes unchanged and its value is computed."""
    d = apply_caps(
        CapsSettings(), {"BTC": D(1)}, PRICES, spent_usdt=D(0), spent_coins={}, adjustable=True
    )
    assert d.blocked is None and d.capped is None and d.value_usdt == D(20000)


def test_adjustable_action_reduced_to_usdt_cap() -> None:
    """A repay over the per-action USDT cap is reduced to the cap, not blocked."""
    caps = CapsSettings(max_action_usdt=D(1000))
    d = apply_caps(caps, {"BTC": D(1)}, PRICES, spent_usdt=D(0), spent_coins={}, adjustable=True)
    assert d.blocked is None
    assert d.legs["BTC"] == D("0.05") and d.value_usdt == D(1000)
    assert "max_action_usdt" in (d.capped or "")


def test_fixed_action_blocked_over_cap() -> None:
    """A flash repay worth more than the cap is blocked with the cap named."""
    caps = CapsSettings(max_action_usdt=D(1000))
    d = apply_caps(
        caps, {"BTC": D(1), "USDT": D(5)}, PRICES, spent_usdt=D(0), spent_coins={}, adjustable=False
    )
    assert d.blocked is not None and "caps.max_action_usdt" in d.blocked


def test_day_cap_counts_spent() -> None:
    """The daily cap leaves only what was not spent in the last 24 hours."""
    caps = CapsSettings(max_day_usdt=D(1000))
    d = apply_caps(caps, {"USDT": D(600)}, {}, spent_usdt=D(700), spent_coins={}, adjustable=True)
    assert d.legs["USDT"] == D(300)
    d = apply_caps(caps, {"USDT": D(600)}, {}, spent_usdt=D(1000), spent_coins={}, adjustable=True)
    assert d.blocked is not None and "0 left" in d.blocked


def test_coin_caps() -> None:
    """Coin caps apply in coin units, per action and per day."""
    caps = CapsSettings(coins={"BTC": CoinCap(max_action=D("0.1"), max_day=D("0.15"))})
    d = apply_caps(
        caps, {"BTC": D(1)}, {}, spent_usdt=D(0), spent_coins={"BTC": D("0.1")}, adjustable=True
    )
    assert d.legs["BTC"] == D("0.05")
    d = apply_caps(caps, {"BTC": D(1)}, {}, spent_usdt=D(0), spent_coins={}, adjustable=False)
    assert d.blocked is not None and "caps.coins.BTC.max_action" in d.blocked


def test_usdt_cap_without_price_blocks_unless_coin_cap() -> None:
    """USDT caps cannot be checked without a price: blocked, unless a coin cap covers it."""
    caps = CapsSettings(max_action_usdt=D(1000))
    d = apply_caps(caps, {"BTC": D(1)}, {}, spent_usdt=D(0), spent_coins={}, adjustable=True)
    assert d.blocked is not None and "no USDT price for BTC" in d.blocked
    caps = CapsSettings(max_action_usdt=D(1000), coins={"BTC": CoinCap(max_action=D(2))})
    d = apply_caps(caps, {"BTC": D(1)}, {}, spent_usdt=D(0), spent_coins={}, adjustable=True)
    assert d.blocked is None and d.legs["BTC"] == D(1)

"""The demo's lowest distance moves one coin at a time, and its modules import no cycle."""

from __future__ import annotations

import ast
from decimal import Decimal as D
from pathlib import Path

from riskd.risk import math as riskmath
from riskd.risk.snapshot import CoinBalance

MMR = {"BTC": D("0.1"), "ETH": D("0.1"), "USDT": D("0.1")}
PRICES = {"BTC": D(30000), "ETH": D(2000)}


def _balances() -> list[CoinBalance]:
    """Long 1 BTC, short 10 ETH, 5 000 USDT: the coins hedge each other when moved together."""
    return [
        CoinBalance("BTC", D(1), D(0), D(0), D(0)),
        CoinBalance("ETH", D(0), D(0), D(10), D(0)),
        CoinBalance("USDT", D(5000), D(0), D(0), D(0)),
    ]


def test_lowest_distance_is_the_nearest_single_coin_move() -> None:
    """A long BTC / short ETH account is nearer liquidation by one coin's own move than by
    every coin moving together (which the hedge hides)."""
    alone = riskmath.lowest_coin_distance(_balances(), PRICES, MMR, D(1))
    btc = riskmath.coin_distance_to_liquidation(_balances(), PRICES, MMR, D(1), "BTC")
    eth = riskmath.coin_distance_to_liquidation(_balances(), PRICES, MMR, D(1), "ETH")
    together = riskmath.distance_to_liquidation(_balances(), PRICES, MMR, D(1))
    assert btc is not None and eth is not None and btc < 0 < eth
    assert alone == min(-btc, eth)
    assert together is None or alone < abs(together)


def test_results_and_runner_do_not_import_each_other() -> None:
    """riskd.demo.results no longer imports riskd.demo.runner (the options live apart)."""
    source = (Path(__file__).parents[2] / "riskd" / "demo" / "results.py").read_text()
    imported = {
        n.module
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.ImportFrom) and n.module is not None
    }
    assert "riskd.demo.runner" not in imported

"""UTA accounts in the simulator: liquidation at the configured mgnRatio level, scenario keys."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from riskd.sim.scenario import ScenarioError, load_scenario, parse_scenario, scenario_names
from riskd.sim.uta import DEFAULT_LIQUIDATION_LEVEL, liquidation_level, uta_book, uta_figures
from tests.uta.conftest import Env


def _ratio(env: Env, account: str) -> D:
    ex = env.sim.exchange
    return uta_figures(ex.ledger, uta_book(ex.account(account)), ex.now()).mgn_ratio


def _liquidated(env: Env, account: str) -> bool:
    return bool(env.sim.exchange.account(account).records.all("liquidation"))


def test_levels_come_from_the_scenario_with_default_one() -> None:
    """uta_low is liquidated at 0.5 (its scenario key); uta at the default 1."""
    env = Env()
    ex = env.sim.exchange
    assert liquidation_level(ex.account("uta_low")) == D("0.5")
    assert liquidation_level(ex.account("uta")) == DEFAULT_LIQUIDATION_LEVEL == 1


def test_liquidation_happens_at_the_configured_level_not_before() -> None:
    """At BTC 21500 (ratio just under 0.5) nothing happens; at 20500 (over) uta_low alone goes."""
    env = Env()
    env.sim.control.set_price("BTCUSDT", D(21500))
    below = _ratio(env, "uta_low")
    assert D("0.4") < below < D("0.5") and not _liquidated(env, "uta_low")
    env.sim.control.set_price("BTCUSDT", D(20500))
    assert _liquidated(env, "uta_low")
    assert _ratio(env, "uta_low") < D("0.5")
    assert not _liquidated(env, "uta") and D("0.5") < _ratio(env, "uta") < 1
    assert not _liquidated(env, "classic")


def test_default_level_liquidates_at_a_ratio_of_one() -> None:
    """The default-level UTA account survives a ratio of 0.9 and is liquidated past 1."""
    env = Env()
    env.sim.control.set_price("BTCUSDT", D(18500))
    assert D("0.85") < _ratio(env, "uta") < 1 and not _liquidated(env, "uta")
    env.sim.control.set_price("BTCUSDT", D(17800))
    assert _liquidated(env, "uta") and _ratio(env, "uta") < 1


_BASE = """
name = "t"
[markets]
BTCUSDT = "30000"
"""


@pytest.mark.parametrize(
    ("account", "problem"),
    [
        (
            'name = "a"\nunified = true\n'
            'positions = [{ scope = "isolated:BTCUSDT", side = "long", leverage = "2" }]',
            "accounts[0].positions[0].scope: a Unified Trading Account has no isolated",
        ),
        (
            'name = "a"\nunified = true\nfunding = { isolated.BTCUSDT = { USDT = "5" } }',
            "accounts[0].funding.isolated:BTCUSDT: a Unified Trading Account has no isolated",
        ),
        (
            'name = "a"\nuta_liquidation_level = "0.9"',
            "accounts[0].uta_liquidation_level: only a Unified Trading Account",
        ),
        (
            'name = "a"\nunified = true\nuta_liquidation_level = "-1"',
            "accounts[0].uta_liquidation_level: '-1' must be a number > 0",
        ),
    ],
)
def test_bad_uta_accounts_are_refused_naming_the_key(account: str, problem: str) -> None:
    """Isolated scopes on a UTA account and a misplaced or bad level name the key at fault."""
    with pytest.raises(ScenarioError) as info:
        parse_scenario(f"{_BASE}\n[[accounts]]\n{account}\n")
    assert problem in str(info.value)


def test_every_shipped_scenario_still_loads() -> None:
    """The new keys leave the shipped scenarios valid."""
    for name in scenario_names():
        assert load_scenario(name).name

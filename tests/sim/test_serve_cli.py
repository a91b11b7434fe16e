"""`riskd sim serve`: accounts from RISKD_API_* or new keys printed once; real HTTP serving."""

from __future__ import annotations

import httpx
from click.testing import CliRunner

from riskd.cli.main import cli
from riskd.cli.sim import banner, prepare
from riskd.clock import LoopClock, WallClock
from riskd.sim.serve import serve_in_thread

ENV = {
    "RISKD_API_KEY": "k-env",
    "RISKD_API_SECRET": "s-env-secret",
    "RISKD_API_PASSPHRASE": "p-env",
}


def test_environment_credentials_are_used_and_not_printed() -> None:
    """With RISKD_API_* set, the scenario's first account uses them; the banner hides them."""
    prepared = prepare("default", None, ENV)
    keys = prepared.accounts["main"]
    assert (keys.api_key, keys.secret, keys.passphrase) == ("k-env", "s-env-secret", "p-env")
    assert prepared.created == ()
    text = banner(prepared, "127.0.0.1", 8765)
    assert "s-env-secret" not in text and "p-env" not in text
    assert isinstance(prepared.sim.clock, WallClock)


def test_new_keys_are_created_and_printed_once() -> None:
    """Without credentials new keys are made and printed (the user asked for them)."""
    prepared = prepare("default", 60.0, {"RISKD_API_KEY": "only-the-key"})
    keys = prepared.accounts["main"]
    text = banner(prepared, "127.0.0.1", 8765)
    assert prepared.created == ("main",)
    assert text.count(keys.secret) == 1 and text.count(keys.passphrase) == 1
    assert f"export RISKD_API_KEY={keys.api_key}" in text
    assert isinstance(prepared.sim.clock, LoopClock)


def test_non_loopback_host_is_warned_about() -> None:
    """Binding elsewhere than loopback is called out."""
    assert "warning" in banner(prepare("default", None, ENV), "0.0.0.0", 1)


def test_cli_help_and_bad_scenario() -> None:
    """`riskd sim serve --help` documents the options; a bad scenario is a clean CLI error."""
    runner = CliRunner()
    result = runner.invoke(cli, ["sim", "serve", "--help"])
    assert result.exit_code == 0
    for option in ("--scenario", "--port", "--host", "--speed"):
        assert option in result.output
    result = runner.invoke(cli, ["sim", "serve", "--scenario", "nope_nothing"])
    assert result.exit_code != 0 and "no scenario of that name" in result.output


def test_served_over_real_http() -> None:
    """serve_in_thread answers the public endpoints on a free loopback port."""
    prepared = prepare("default", None, ENV)
    with serve_in_thread(prepared.sim) as server:
        assert server.host == "127.0.0.1" and server.port > 0
        resp = httpx.get(server.url + "/api/margin/v1/public/currencies", timeout=5)
        assert resp.status_code == 200 and resp.json()["code"] == "00000"

"""The suite's machine calibration: measured, clamped at 1, overridable, and applied."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskd.demo import calibrate


@pytest.fixture(autouse=True)
def _fresh() -> None:
    calibrate.forget()
    yield
    calibrate.forget()


async def test_request_time_is_a_plausible_measurement() -> None:
    """A signed request through the client and the in-process simulator takes 10 µs–1 s."""
    t = await calibrate.request_time(n=5, rounds=2)
    assert 1e-5 < t < 1.0


async def test_slowdown_is_never_below_one_and_is_measured_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fast machine never speeds the suite up; the figure is kept for the process."""
    monkeypatch.delenv(calibrate.ENV, raising=False)
    first = await calibrate.slowdown()
    assert first >= 1.0
    assert await calibrate.slowdown() == first


async def test_the_environment_overrides_the_measurement(monkeypatch: pytest.MonkeyPatch) -> None:
    """RISKD_SUITE_SLOWDOWN=3 slows the suite threefold; a bad value names the variable."""
    monkeypatch.setenv(calibrate.ENV, "3")
    assert await calibrate.slowdown() == 3.0
    calibrate.forget()
    monkeypatch.setenv(calibrate.ENV, "fast")
    with pytest.raises(ValueError, match="RISKD_SUITE_SLOWDOWN"):
        await calibrate.slowdown()


async def test_the_suite_divides_its_speed_by_the_slowdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With RISKD_SUITE_SLOWDOWN=2 a scenario tuned for ×20 runs at ×10."""
    from riskd.demo.suite import run_checked
    from riskd.sim.scenario import load_scenario

    monkeypatch.setenv(calibrate.ENV, "2")
    path = tmp_path / "calm.toml"
    path.write_text(CALM)
    rules = tmp_path / "rules"
    rules.mkdir()
    result = await run_checked(load_scenario(path), rules, out_dir=None)
    assert result.summary.speed == 10.0
    assert result.ok, result.report()


CALM = """
name = "calm"
description = "nothing happens for 10 s"
duration_s = 10

[markets]
BTCUSDT = "30000"

[[accounts]]
name = "main"
funding = { isolated.BTCUSDT = { USDT = "1000" } }
positions = [{ scope = "isolated:BTCUSDT", side = "long", leverage = "2" }]

[expect]
no_liquidation = true

[expect.demo]
suite_speed = 20
"""

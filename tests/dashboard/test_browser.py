"""The dashboard in a real headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
driven by selenium) beside a daemon on the simulator during a crash: the gauges show the
simulator's risk rates and the daemon's actions appear on the timeline.

Skipped when Chromium, its driver or selenium is missing. ``DASHBOARD_SCREENSHOTS=1`` saves
docs/img/dashboard-*.png.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from riskd.dashboard.app import make_dashboard
from riskd.dashboard.daemon_view import providers_for
from riskd.dashboard.demo import serve_for_demo
from riskd.dashboard.settings import DashboardSettings
from riskd.ops.health import HealthState
from riskd.ops.metrics import Metrics
from riskd.ops.server import start_ops_server

from ..daemon.harness import crash, make_world
from .conftest import TOKEN

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
ACTION_ITEMS = "#timeline-events li.tl-action"
IMG = Path(__file__).resolve().parents[2] / "docs" / "img"

#: .ci/run sets this: there the browser test must run, never be skipped.
REQUIRED = os.environ.get("CI_REQUIRE_BROWSER") == "1"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        (CHROMIUM is None or DRIVER is None) and not REQUIRED,
        reason="needs Chromium and its driver: apt-get install chromium chromium-driver",
    ),
]
webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium (pip install)")
By = pytest.importorskip("selenium.webdriver.common.by", reason="needs selenium").By


def _driver() -> Any:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,1500",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(arg)
    service = webdriver.ChromeService(executable_path=DRIVER)
    return webdriver.Chrome(options=options, service=service)


async def _until(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """Poll ``check`` (run in a thread: selenium blocks) until it returns something truthy."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        result = await asyncio.to_thread(check)
        if result:
            return result
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def _texts(driver: Any, css: str, attr: str | None = None) -> list[str]:
    """Texts (or an attribute) of the elements matching ``css``, read in one go (the page
    redraws them as data arrives)."""
    script = (
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".map(e => arguments[1] ? (e.getAttribute(arguments[1]) || '') : e.textContent);"
    )
    return list(driver.execute_script(script, css, attr))


def _gauges(driver: Any) -> dict[str, str]:
    scopes = _texts(driver, ".gauge[data-scope]", "data-scope")
    rates = _texts(driver, ".gauge[data-scope]", "data-rate")
    return dict(zip(scopes, rates, strict=False))


async def test_gauges_and_actions_in_chromium_during_a_crash(tmp_path: Path) -> None:
    """Opened before a BTC crash, the page's gauges end on the simulator's risk rates and the
    daemon's actions, pushed over SSE, appear on the timeline."""
    world = await make_world(tmp_path, live=True)
    server = None
    driver = None
    try:
        await world.daemon.run_cycle()
        server = await serve_for_demo(
            world.daemon, clock=world.clock, port=0, settings=DashboardSettings(refresh=0.2)
        )
        driver = await asyncio.to_thread(_driver)
        await asyncio.to_thread(driver.get, server.url + "/dashboard/")
        live = driver.find_element(By.ID, "stream-state")
        await _until(lambda: live.text == "live", "the event stream")
        assert driver.find_element(By.ID, "daemon-line").text == "running"

        await crash(world, "BTCUSDT", D(30000), D(21000), D(100), 2.0)
        for _ in range(5):  # settle: a cycle that does nothing leaves rows = simulator
            report = await world.daemon.run_cycle(force_poll=True)
            if not report.reports:
                break
        sim = world.sim.control.state("alice")
        expected = {s: sim.scope(s).risk_rate for s in ("cross", "isolated:BTCUSDT")}

        def gauges_match() -> bool:
            shown = _gauges(driver)
            return set(shown) == set(expected) and all(
                shown[s] and abs(D(shown[s]) - r) <= D("0.0001") for s, r in expected.items()
            )

        await _until(gauges_match, f"gauges showing {expected}")
        actions = await _until(
            lambda: [
                t for t in _texts(driver, "#timeline-events li.tl-action") if " outcome " in t
            ],
            "an action outcome on the timeline",
        )
        assert any("alice/isolated:BTCUSDT" in text for text in actions), actions
        assert _texts(driver, "#chart line.marker-action", "class")
        assert _texts(driver, "#chart polyline.risk-line", "class")
        assert _texts(driver, "#rules tbody tr[data-rule]"), "the rule states are listed"
        logs = await asyncio.to_thread(driver.get_log, "browser")
        assert not [e for e in logs if e.get("level") == "SEVERE"], logs
        if os.environ.get("DASHBOARD_SCREENSHOTS") == "1":
            IMG.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(driver.save_screenshot, str(IMG / "dashboard-crash.png"))
            panel = driver.find_element(By.ID, "timeline-panel")
            await asyncio.to_thread(panel.screenshot, str(IMG / "dashboard-timeline.png"))
    finally:
        if driver is not None:
            await asyncio.to_thread(driver.quit)
        if server is not None:
            await server.stop()
        await world.close()


async def test_pause_and_resume_from_the_page(tmp_path: Path) -> None:
    """With a write token, the page's pause button (Chromium's own same-origin POST) pauses
    the account and journals it; a wrong token is refused and changes nothing."""
    world = await make_world(tmp_path, live=True)
    server = None
    driver = None
    try:
        await world.daemon.run_cycle()
        providers = providers_for(
            world.daemon,
            clock=world.clock,
            settings=DashboardSettings(refresh=0.2),
            write_token=TOKEN,
            stale_after=1e9,
            bound_host="127.0.0.1",
        )
        server = await start_ops_server(
            Metrics(), HealthState(), "127.0.0.1", 0, dashboard=make_dashboard(providers)
        )
        driver = await asyncio.to_thread(_driver)
        await asyncio.to_thread(driver.get, server.url + "/dashboard/")
        await _until(
            lambda: _texts(driver, "#control-panel:not(.hidden)", "id"), "the control panel"
        )
        token = driver.find_element(By.ID, "c-token")
        result = driver.find_element(By.ID, "c-result")
        await asyncio.to_thread(token.send_keys, "wrong-token-0123456789")
        await asyncio.to_thread(driver.find_element(By.ID, "c-pause").click)
        await _until(lambda: "wrong or missing token" in result.text, "the refusal")
        assert not (await world.daemon.journal.pause_state()).global_paused
        await asyncio.to_thread(token.clear)
        await asyncio.to_thread(token.send_keys, TOKEN)
        await asyncio.to_thread(driver.find_element(By.ID, "c-pause").click)
        await _until(lambda: result.text == "actions paused for every account", "the pause")
        assert (await world.daemon.journal.pause_state()).global_paused
        await _until(lambda: "PAUSED" in driver.find_element(By.ID, "paused").text, "badge")
        await asyncio.to_thread(driver.find_element(By.ID, "c-resume").click)
        await _until(lambda: result.text == "actions resumed for every account", "the resume")
        assert not (await world.daemon.journal.pause_state()).global_paused
        assert TOKEN not in await asyncio.to_thread(lambda: driver.page_source)
    finally:
        if driver is not None:
            await asyncio.to_thread(driver.quit)
        if server is not None:
            await server.stop()
        await world.close()

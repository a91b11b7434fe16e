"""The dashboard's JSON endpoints, page and stream over ASGI, with a daemon on the simulator."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import httpx
import pytest

from riskd.daemon.events import DaemonEvent, EventKind
from riskd.dashboard.app import DashboardProviders, make_dashboard
from riskd.dashboard.state import when
from riskd.dashboard.stream import EventFanout

from ..daemon.harness import crash
from .conftest import Dash, dashboard_for, sse_events


async def test_state_has_the_daemons_risk_rates(dash: Dash) -> None:
    """/api/state gives each scope's risk rate and ratios as the daemon's status rows hold them."""
    r = await dash.client.get("/dashboard/api/state")
    assert r.status_code == 200
    doc = r.json()
    rows = {s: d for _, s, _, d in await dash.world.daemon.journal.read_status()}
    scopes = {s["scope"]: s for a in doc["accounts"] for s in a["scopes"]}
    assert set(scopes) == set(rows) == {"cross", "isolated:BTCUSDT"}
    for scope, row in rows.items():
        assert scopes[scope]["risk_rate"] == row["risk_rate"]
        assert scopes[scope]["liquidation_risk_ratio"] == row["liquidation_risk_ratio"]
    assert doc["daemon_line"]["running"] is True
    assert doc["writes"] is True


@pytest.mark.slow
async def test_rule_states_and_index_prices(dash: Dash) -> None:
    """Rule states list the loaded rules per scope (inactive when calm) and the index prices
    are the simulator's."""
    doc = (await dash.client.get("/dashboard/api/state")).json()
    states = {(r["scope"], r["rule"]): r["status"] for r in doc["rules"]}
    assert states, "the shipped rules are listed"
    assert set(states.values()) == {"inactive"}
    assert D(doc["index_prices"]["BTC"]) == D(30000)
    await crash(dash.world, "BTCUSDT", D(30000), D(21000), D(100), 2.0)
    doc = (await dash.client.get("/dashboard/api/state")).json()
    snaps = dash.world.daemon.accounts["alice"].poller.snapshots.values()
    newest = max((s for s in snaps if "BTC" in s.prices_usdt), key=lambda s: s.observed_at)
    assert D(doc["index_prices"]["BTC"]) == newest.prices_usdt["BTC"] < D(30000)
    assert doc["recent_actions"], "the crash made the daemon act"


@pytest.mark.slow
async def test_journal_filters(dash: Dash) -> None:
    """The journal endpoint filters by kind, account and since, and refuses bad filters."""
    await crash(dash.world, "BTCUSDT", D(30000), D(21000), D(100), 2.0)
    all_events = (await dash.client.get("/dashboard/api/journal")).json()["events"]
    assert {e["kind"] for e in all_events} >= {"lifecycle", "intent"}
    intents = (await dash.client.get("/dashboard/api/journal?kind=intent")).json()["events"]
    assert intents and {e["kind"] for e in intents} == {"intent"}
    alice = (await dash.client.get("/dashboard/api/journal?account=alice")).json()["events"]
    assert alice and {e["account"] for e in alice} == {"alice"}
    recent = (await dash.client.get("/dashboard/api/journal?since=10s")).json()["events"]
    now = dash.world.clock.now()
    assert all(e["at"] >= now - 10 for e in recent) and len(recent) < len(all_events)
    for bad in ("kind=nope", "since=yesterday", "limit=0", "account=Bad%20Name"):
        r = await dash.client.get(f"/dashboard/api/journal?{bad}")
        assert r.status_code == 400, bad
        assert r.json()["error"].split(" ")[0] == bad.split("=")[0]


async def test_page_assets_and_unknown_paths(dash: Dash) -> None:
    """The page, its script and style are served with a strict CSP; unknown paths get 404."""
    page = await dash.client.get("/dashboard/")
    assert page.status_code == 200 and "riskd dashboard" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert ">running<" in page.text
    js = await dash.client.get("/dashboard/static/app.js")
    assert js.status_code == 200 and "EventSource" in js.text
    assert (await dash.client.get("/dashboard/static/app.css")).status_code == 200
    for path in ("/dashboard/nope", "/dashboard/static/../app.py", "/dashboard/api/"):
        assert (await dash.client.get(path)).status_code == 404, path
    assert (await dash.client.delete("/dashboard/api/state")).status_code == 405


async def test_other_host_names_are_refused(dash: Dash) -> None:
    """A request naming another host (a DNS-rebinding page) is refused."""
    r = await dash.client.get("/dashboard/api/state", headers={"host": "evil.example:9464"})
    assert r.status_code == 403
    r = await dash.client.get("/dashboard/api/state", headers={"host": "localhost:9464"})
    assert r.status_code == 200


@pytest.mark.slow
async def test_stream_sends_state_then_the_daemons_events(dash: Dash) -> None:
    """The stream opens with hello and the state, then hands on the daemon's events."""
    world = dash.world

    async def act() -> None:
        await crash(world, "BTCUSDT", D(30000), D(21000), D(100), 2.0)

    # A long refresh: after the first state, only the daemon's events come.
    events = await sse_events(dashboard_for(world, refresh=60), 8, during=act)
    assert events[0][0] == "hello" and events[1][0] == "state"
    assert events[1][1]["accounts"][0]["name"] == "alice"
    daemon = [d for name, d in events[2:] if name == "daemon"]
    assert daemon, events
    assert {"kind", "category", "at", "summary"} <= set(daemon[0])


async def test_slow_page_drops_oldest_and_counts(tmp_path: Path) -> None:
    """A page that reads nothing keeps only its newest events; the drops are counted and the
    publisher never waits."""
    fanout = EventFanout(queue_size=8)
    client = fanout.open()
    for i in range(20):
        await fanout.publish(DaemonEvent(EventKind.DECISION, float(i), f"event {i}"))
    kept = client.take()
    assert [e["summary"] for e in kept] == [f"event {i}" for i in range(12, 20)]
    assert client.dropped == 12 and fanout.dropped == 12


async def test_missing_journal_says_not_running(tmp_path: Path) -> None:
    """With no readable journal, page and state say "not running (last seen …)"; no trace."""
    app = make_dashboard(DashboardProviders(journal_path=tmp_path / "none" / "j.sqlite3"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:9464"
    ) as client:
        page = await client.get("/dashboard/")
        assert page.status_code == 200
        assert "not running (last seen never)" in page.text
        doc = (await client.get("/dashboard/api/state")).json()
        assert doc["daemon_line"] == {
            "running": False,
            "text": "not running (last seen never)",
            "last_seen": None,
        }
        assert (await client.get("/dashboard/api/journal")).json()["events"] == []
    assert not (tmp_path / "none").exists(), "the dashboard never creates a journal"


async def test_journal_gone_during_restart_remembers_last_seen(dash: Dash) -> None:
    """While the daemon restarts and its journal is away, the page and the state say when the
    daemon was last seen; no stack trace."""
    ok = (await dash.client.get("/dashboard/api/state")).json()["daemon_line"]
    assert ok["running"] and ok["last_seen"] is not None
    await dash.world.built.aclose()  # the daemon stops
    path = dash.world.settings.journal_path
    path.rename(path.with_name("moved.sqlite3"))
    page = await dash.client.get("/dashboard/")
    assert page.status_code == 200
    assert f"not running (last seen {when(ok['last_seen'])})" in page.text
    assert "Traceback" not in page.text
    doc = (await dash.client.get("/dashboard/api/state")).json()
    assert doc["daemon_line"]["last_seen"] == ok["last_seen"]
    assert doc["daemon_line"]["running"] is False

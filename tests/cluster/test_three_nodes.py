"""Acceptance of issue 19 with real processes: ``riskd sim serve`` (30 accounts), ``riskd run``
nodes, PostgreSQL and Redis (tests/cluster/harness.py).

- fast, in process: the 30 accounts are all liquidated by the crash when nobody acts; the
  simulator's recorder lists protective calls and 429s; the nodes' settings load;
- slow: one node protects the 30 accounts through the crash (0 liquidations, 0 duplicates,
  no 429);
- slow, cluster: three nodes on PostgreSQL and Redis, two runs of the crash (times from the
  crash start, :data:`TIMELINE`):

  * the kill run: ``kill -9`` of node1 while the rates climb; once its accounts are taken
    over, Redis is stopped for the rest of the crash, when the protective actions go out;
  * the freeze run: node2 frozen with SIGSTOP past its lease right after one of its
    protective calls was accepted (mid-step, the next leg to come), then resumed.

  * the combined run: the three faults in one crash (Redis down, then ``kill -9`` of node1,
    then node2 frozen): the survivor takes over a frozen node's accounts mid-crash while
    counting 33 % of every limit. It lost accounts until a node read the public reference
    data (symbol list, tier data) once for all its accounts instead of once per account.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from riskd.bitget.endpoints import endpoint
from riskd.cli.sim import banner, prepare
from riskd.clock import ManualClock
from riskd.settings import load_settings
from riskd.sim.crash import CrashRequest
from riskd.sim.introspect import CallLog, recorded_app
from riskd.sim.scenario import ScenarioError, load_scenario
from riskd.sim.simulator import SimKeys, Simulator
from tests.cluster.harness import (
    CONTINUED,
    CRASH_CHANGE,
    CRASH_OVER_S,
    N_ACCOUNTS,
    Duplicate,
    Harness,
    IntentRow,
    NodeConfig,
    SimCall,
    account_specs,
    new_credentials,
    node_settings,
    scenario_toml,
)
from tests.cluster.harness_records import attribute, find_duplicates
from tests.realservers import Postgres, Redis, start_redis

#: Seconds after the crash starts at which each fault happens (kill run, freeze run), and
#: when the freeze run stops watching.
TIMELINE = {
    "kill9": 22.0,
    "redis_stop": 30.0,
    "sigstop": 28.0,  # from then on, node2 is frozen right after one of its calls is accepted
    "sigstop_by": 40.0,  # or at this time if none was
    "freeze_end": 52.0,
}
#: Seconds the frozen node stays frozen beyond its lease and one poll interval.
FROZEN_EXTRA_S = 2.0
LEASE = "3s"
#: After the crash ends, time for the last actions and their outcomes.
SETTLE_S = 6.0


# ---------------------------------------------------------------------------- fast
def test_unprotected_crash_liquidates_every_account(tmp_path: Path) -> None:
    """Without riskd the harness's crash liquidates all 30 accounts (so 0 is riskd's doing)."""
    path = tmp_path / "scenario.toml"
    path.write_text(scenario_toml(account_specs()), encoding="utf-8")
    sim = Simulator(clock=ManualClock(start=1_700_000_000.0), scenario=load_scenario(path))
    sim.add_scenario_accounts()
    sim.control.crash(CrashRequest(change=Decimal(CRASH_CHANGE), over_s=CRASH_OVER_S))
    sim.control.advance(CRASH_OVER_S + 5)
    liquidated = {n for n in sim.control.accounts() if sim.control.state(n).liquidations}
    assert liquidated == {a.name for a in account_specs()}


def _signed(
    keys: SimKeys, name: str, params: dict[str, object]
) -> tuple[str, bytes, dict[str, str]]:
    ep = endpoint(name, "v2")
    body = json.dumps(params, separators=(",", ":"))
    stamp = str(int(time.time() * 1000))
    prehash = (stamp + ep.method + ep.path + body).encode()
    sign = base64.b64encode(hmac.new(keys.secret.encode(), prehash, hashlib.sha256).digest())
    headers = {
        "ACCESS-KEY": keys.api_key,
        "ACCESS-SIGN": sign.decode(),
        "ACCESS-TIMESTAMP": stamp,
        "ACCESS-PASSPHRASE": keys.passphrase,
        "Content-Type": "application/json",
    }
    return ep.path, body.encode(), headers


async def test_recorder_lists_protective_calls_and_429s(tmp_path: Path) -> None:
    """GET /_sim/calls shows each protective call (account, clientOid, id, code) and each 429."""
    path = tmp_path / "scenario.toml"
    path.write_text(scenario_toml(account_specs(5)), encoding="utf-8")
    sim = Simulator(clock=ManualClock(start=1_700_000_000.0), scenario=load_scenario(path))
    keys = sim.add_scenario_accounts()
    app = recorded_app(sim, keys, CallLog())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        order = {
            "symbol": "BTCUSDT",
            "side": "sell",
            "orderType": "market",
            "loanType": "autoRepay",
            "force": "gtc",
            "baseSize": "0.001",
        }
        answers = []
        for n in range(7):  # isolated place order: 5 per second per UID
            oid = f"riskd-{n:032x}"
            p, body, headers = _signed(
                keys["acc00"], "isolated_place_order", {**order, "clientOid": oid}
            )
            answers.append((await client.post(p, content=body, headers=headers)).status_code)
        p, body, headers = _signed(keys["acc01"], "cross_flash_repay", {"coin": "USDT"})
        await client.post(p, content=body, headers=headers)
        calls = (await client.get("/_sim/calls")).json()
        liqs = (await client.get("/_sim/liquidations")).json()
    placed = [c for c in calls["calls"] if c["endpoint"] == "v2:isolated_place_order"]
    assert answers.count(429) == len(calls["rateLimited"]) >= 1
    assert {r["account"] for r in calls["rateLimited"]} == {"acc00"}
    accepted = [c for c in placed if c["accepted"]]
    assert len(accepted) == answers.count(200) and len(placed) == len(answers)
    assert [c["code"] for c in placed if not c["accepted"]] == ["429"] * answers.count(429)
    assert accepted and all(c["ref"] and c["client_oids"][0].startswith("riskd-") for c in accepted)
    flash = [c for c in calls["calls"] if c["endpoint"] == "v2:cross_flash_repay"]
    assert [(c["account"], c["accepted"]) for c in flash] == [("acc01", True)]
    assert flash[0]["ref"] and flash[0]["client_oids"] == []
    assert set(liqs["accounts"]) == {a.name for a in account_specs(5)}


def test_sim_serve_takes_the_harness_keys_and_never_prints_them(tmp_path: Path) -> None:
    """`riskd sim serve --credentials`: the accounts get those keys; the banner shows none."""
    accounts = account_specs(4)
    creds = new_credentials(accounts)
    path = tmp_path / "scenario.toml"
    path.write_text(scenario_toml(accounts), encoding="utf-8")
    given = {n: (c.api_key, c.secret, c.passphrase) for n, c in creds.items()}
    prepared = prepare(str(path), None, {}, given)
    assert {n: k.api_key for n, k in prepared.accounts.items()} == {
        n: c.api_key for n, c in creds.items()
    }
    text = banner(prepared, "127.0.0.1", 8765)
    assert prepared.created == () and "/_sim/calls" in text
    assert not any(c.secret in text or c.passphrase in text for c in creds.values())
    with pytest.raises(ScenarioError, match="nobody"):
        prepare(str(path), None, {}, {"nobody": ("k", "s", "p")})


def test_node_settings_load_as_riskd_settings(tmp_path: Path) -> None:
    """A node's settings file loads: 30 live accounts with keys, shipped rules, 1 s polls."""
    accounts = account_specs()
    creds = new_credentials(accounts)
    node = NodeConfig("node1", tmp_path, 19464, "http://127.0.0.1:1")
    path = tmp_path / "riskd.toml"
    path.write_text(node_settings(node, accounts, creds), encoding="utf-8")
    s = load_settings(path)
    assert len(s.accounts) == N_ACCOUNTS and all(s.account_live(a) for a in s.accounts)
    assert s.credentials("acc07").api_key.get_secret_value() == creds["acc07"].api_key
    assert s.poll.interval == s.poll.fast_interval == s.poll.slow_interval == 1.0
    assert s.rules_dir.name == "rules" and s.accounts["acc00"].isolated == ("BTCUSDT",)
    assert s.accounts["acc01"].cross and not s.accounts["acc00"].cross


def test_cluster_settings_load_when_riskd_has_them(tmp_path: Path) -> None:
    """With journal_url, [cluster] and a Redis budget the settings file loads with those keys."""
    accounts = account_specs(3)
    node = NodeConfig(
        "node2",
        tmp_path,
        19465,
        "http://127.0.0.1:1",
        pg_url="postgresql://riskd@127.0.0.1:5/x",
        redis_url="redis://127.0.0.1:6/0",
        lease="3s",
        max_accounts=20,
    )
    path = tmp_path / "riskd.toml"
    path.write_text(node_settings(node, accounts, new_credentials(accounts)), encoding="utf-8")
    s = load_settings(path)
    assert s.journal_url == "postgresql://riskd@127.0.0.1:5/x"
    assert (s.cluster.node_id, s.cluster.lease, s.cluster.max_accounts) == ("node2", 3.0, 20)
    assert s.budget.storage_uri == "redis://127.0.0.1:6/0"


def _call(seq: int, account: str, oid: str | None, ref: str) -> SimCall:
    return SimCall(
        seq, float(seq), account, "v2:isolated_repay", True, "00000", (oid,) if oid else (), ref, {}
    )


def _row(iid: str, node: str, fence: int, action: str, at: float, done: float) -> IntentRow:
    return IntentRow(
        iid,
        at,
        "acc00",
        "isolated:BTCUSDT",
        "repay",
        "r",
        action,
        "succeeded",
        f"ref-{iid}",
        False,
        node,
        fence,
        done,
    )


def test_duplicate_rules_find_each_kind() -> None:
    """Rules a (clientOid twice), b (lower fence after a higher one), c (blind) and c+."""
    intents = [
        _row("i1", "node1", 1, "s#1.1.2", at=10.0, done=11.0),
        _row("i2", "node2", 2, "s#1.1.2", at=10.5, done=12.0),  # before i1's outcome: c
        _row("i3", "node1", 1, "s#2.1.2", at=20.0, done=21.0),  # token 1 after token 2: b
        _row("i4", "node2", 2, "s#3.1.2", at=30.0, done=31.0),
        _row("i5", "node3", 3, "s#3.1.2", at=33.0, done=34.0),  # after i4's outcome: c+
    ]
    calls = [
        _call(1, "acc00", "riskd-i1", "x"),
        _call(2, "acc00", None, "ref-i2"),
        _call(3, "acc00", "riskd-i3", "y"),
        _call(4, "acc00", "riskd-i3", "z"),  # the same clientOid accepted again: a
        _call(5, "acc00", "riskd-i4", "v"),
        _call(6, "acc00", "riskd-i5", "w"),
    ]
    pairs = attribute(calls, intents)
    assert [i.intent_id if i else None for _, i in pairs] == ["i1", "i2", "i3", "i3", "i4", "i5"]
    rules = sorted(d.rule for d in find_duplicates(pairs, intents))
    assert rules == ["a", "b", "b", "c", CONTINUED]


# ---------------------------------------------------------------------------- slow: one node
def _run_crash(h: Harness) -> None:
    h.crash()
    time.sleep(CRASH_OVER_S + SETTLE_S)


@pytest.mark.slow
def test_one_node_protects_thirty_accounts(tmp_path: Path) -> None:
    """One riskd node, 30 accounts, 1 s polls, -30 % in 60 s: 0 liquidations, 0 duplicates."""
    with Harness(tmp_path, nodes=1) as h:
        h.start()
        _run_crash(h)
        h.stop_nodes()
        summary = h.summary()
        print(f"one node, {N_ACCOUNTS} accounts: {json.dumps(summary, sort_keys=True)}")
        assert h.liquidations() == {}
        assert h.duplicate_actions() == []
        assert h.rate_limited() == []
        assert summary["accepted"] > 0 and summary["by_node"].get("unattributed", 0) == 0


# ---------------------------------------------------------------------------- slow: cluster
@dataclass
class ClusterRun:
    """The outcome of a cluster run (the simulator still answers; the nodes are stopped)."""

    h: Harness
    crash_at: float
    marks: dict[str, float] = field(default_factory=dict)
    fenced_after_resume: int = 0


def _explain(h: Harness, duplicates: list[Duplicate]) -> str:
    """The duplicates, and for a rule (c) one every accepted intent of that action."""
    lines = [f"({d.rule}) {d.account}: {d.detail}" for d in duplicates]
    actions = {d.detail.split()[1] for d in duplicates if d.rule in ("c", CONTINUED)}
    for call, intent in h.attributed():
        if intent is not None and intent.action_id in actions:
            lines.append(
                f"  {intent.action_id} {intent.node} fence {intent.fence}: {call.endpoint}"
                f" {dict(call.params)} at {call.at:.2f} (intent {intent.status})"
            )
    return "\n".join(lines)


def _sleep_until(at: float) -> None:
    time.sleep(max(0.0, at - time.time()))


@contextmanager
def _cluster(
    postgres: Postgres, tmp_path_factory: pytest.TempPathFactory, name: str
) -> Iterator[tuple[Harness, Redis]]:
    redis = start_redis(tmp_path_factory.mktemp(f"{name}-redis"))
    h = Harness(
        tmp_path_factory.mktemp(name),
        nodes=3,
        pg_url=postgres.new_database(),
        redis_url=redis.url,
        lease=LEASE,
        max_accounts=N_ACCOUNTS,
    )
    try:
        h.start()
        yield h, redis
    finally:
        h.stop_all()
        redis.stop()


@pytest.fixture(scope="module")
def kill_run(postgres: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterRun]:
    """Three nodes through the crash: kill -9 of node1, then Redis stopped (module doc)."""
    with _cluster(postgres, tmp_path_factory, "kill") as (h, redis):
        h.crash()
        run = ClusterRun(h, time.time())
        _sleep_until(run.crash_at + TIMELINE["kill9"])
        h.kill9("node1")
        _sleep_until(run.crash_at + TIMELINE["redis_stop"])
        redis.stop()
        run.marks["redis_stop"] = time.time()
        _sleep_until(run.crash_at + CRASH_OVER_S + SETTLE_S)
        h.stop_nodes()
        print(f"kill run: {json.dumps(h.summary(), sort_keys=True)}")
        yield run


@pytest.fixture(scope="module")
def freeze_run(
    postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ClusterRun]:
    """Three nodes through the crash: node2 frozen past its lease, then resumed."""
    with _cluster(postgres, tmp_path_factory, "freeze") as (h, _):
        h.crash()
        run = ClusterRun(h, time.time())
        _sleep_until(run.crash_at + TIMELINE["sigstop"])
        caught = h.sigstop_on_action("node2", TIMELINE["sigstop_by"] - TIMELINE["sigstop"])
        run.marks["caught_acting"] = float(caught)
        time.sleep(h.lease_s + h.poll_s + FROZEN_EXTRA_S)
        h.sigcont("node2")
        _sleep_until(run.crash_at + TIMELINE["freeze_end"])
        h.stop_nodes()
        resumed = h.conts["node2"]
        run.fenced_after_resume = len(h.fenced_attempts("node2", resumed))
        print(f"freeze run: {json.dumps(h.summary(), sort_keys=True)}")
        yield run


@pytest.mark.slow
def test_kill9_mid_crash_is_taken_over_without_duplicates_or_liquidations(
    kill_run: ClusterRun,
) -> None:
    """kill -9 of a node mid-crash: its accounts get new owners within lease + one poll
    (+1 s of observation slack), no action twice, no account liquidated."""
    h = kill_run.h
    held = h.kills["node1"].held
    took = h.takeover_time("node1")
    print(f"takeover of {len(held)} accounts: {took:.2f} s (bound {h.takeover_bound:.1f} s)")
    assert held, "node1 owned no account when it was killed: the spread did not happen"
    assert took <= h.takeover_bound + 1.0
    continued = h.continued_steps()
    print(f"steps continued by a new owner (rule c+):\n{_explain(h, continued)}")
    duplicates = h.duplicate_actions()
    assert duplicates == [], _explain(h, duplicates)
    assert h.liquidations() == {}


@pytest.mark.slow
def test_redis_down_keeps_protecting_without_429(kill_run: ClusterRun) -> None:
    """Redis stopped mid-run: the simulator sends no 429 and protective calls still go out."""
    h = kill_run.h
    stopped = kill_run.marks["redis_stop"]
    after = [c for c, _ in h.attributed() if c.at >= stopped]
    print(f"protective calls accepted after Redis stopped: {len(after)}")
    assert h.rate_limited() == []
    assert after, "no protective call was accepted after Redis stopped"


@pytest.mark.slow
def test_frozen_node_sends_nothing_for_accounts_it_lost(freeze_run: ClusterRun) -> None:
    """A node frozen past its lease and resumed sends no call under a lease it lost (and no
    action goes out twice); its refused (fenced) attempts are counted."""
    h = freeze_run.h
    mark = h.stops["node2"]
    assert mark.held, "node2 owned no account when it was frozen"
    tokens_now = {lease.account: lease.token for lease in h.leases()}
    assert all(tokens_now[a] > t for a, t in mark.held.items()), "no takeover while frozen"
    stale = [
        (c.endpoint, c.account, i.fence)
        for c, i in h.calls_after("node2", h.conts["node2"])
        if c.account in mark.held and (i.fence is None or i.fence <= mark.held[c.account])
    ]
    print(
        f"node2 held {len(mark.held)} accounts when frozen (caught acting: "
        f"{bool(freeze_run.marks['caught_acting'])}); fenced attempts after resuming: "
        f"{freeze_run.fenced_after_resume}; liquidated: {sorted(h.liquidations())}"
    )
    assert stale == []
    continued = h.continued_steps()
    print(f"steps continued by a new owner (rule c+):\n{_explain(h, continued)}")
    duplicates = h.duplicate_actions()
    assert duplicates == [], _explain(h, duplicates)


#: The three faults in one crash (Redis down, then kill -9, then SIGSTOP).
COMBINED = {"redis_stop": 12.0, "kill9": 33.0, "sigstop": 41.0}


@pytest.mark.slow
def test_combined_faults_in_one_crash(
    postgres: Postgres, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Redis down, then kill -9 of node1, then node2 frozen: still 0 liquidations, 0 duplicates
    (the survivor takes over node2's accounts mid-crash at 33 % of every limit)."""
    with _cluster(postgres, tmp_path_factory, "combined") as (h, redis):
        h.crash()
        at = time.time()
        _sleep_until(at + COMBINED["redis_stop"])
        redis.stop()
        _sleep_until(at + COMBINED["kill9"])
        h.kill9("node1")
        _sleep_until(at + COMBINED["sigstop"])
        h.sigstop("node2")
        time.sleep(h.lease_s + h.poll_s + FROZEN_EXTRA_S)
        h.sigcont("node2")
        _sleep_until(at + CRASH_OVER_S + SETTLE_S)
        h.stop_nodes()
        print(f"combined run: {json.dumps(h.summary(), sort_keys=True)}")
        print(f"takeover after kill -9: {h.takeover_time('node1'):.2f} s")
        liquidated = {a: [x["timeMs"] / 1000 - at for x in v] for a, v in h.liquidations().items()}
        print(f"liquidated (s after the crash start): {liquidated}")
        for account in liquidated:
            print(f"{account}:", *h.account_story(account, at), sep="\n  ")
        assert h.duplicate_actions() == []
        assert liquidated == {}

"""The multi-process acceptance harness: ``riskd sim serve`` + N ``riskd run`` nodes on loopback.

One :class:`Harness` runs, as real processes in a private work directory:

- ``riskd sim serve`` with :data:`N_ACCOUNTS` accounts (:func:`scenario_toml`: a mix of
  isolated and cross longs on BTC, ETH and SOL, 2.9x to 5x, each one liquidated by a -30 %
  crash when nobody acts — ``tests/cluster/test_three_nodes.py`` proves that in process), the keys
  given with ``--credentials`` (generated here), prices held until :meth:`Harness.crash`;
- N nodes ``.venv/bin/riskd run --config nodeK/riskd.toml`` (:func:`node_settings`): every
  node has ALL accounts with their simulator keys, ``live = true``, the shipped rules
  (``rules/``), every poll interval 1 s, its own state directory and metrics port; with
  ``pg_url`` also ``journal_url`` and ``[cluster]`` (``node_id``, ``lease``,
  ``max_accounts``), with ``redis_url`` also ``[budget] storage_uri``.

Levers: :meth:`Harness.kill9`, :meth:`Harness.sigstop` (or
:meth:`Harness.sigstop_on_action`), :meth:`Harness.sigcont`,
:meth:`Harness.stop_all` (also on ``with`` exit). Readers: the simulator's test-only
``GET /_sim/calls`` and ``GET /_sim/liquidations`` (:mod:`riskd.sim.introspect`), the journal
(PostgreSQL ``intents`` with ``node`` and ``fence`` columns when clustered, else each node's
SQLite file), the leases (``riskd_leases``) and each node's ``/metrics``.

Checks: :meth:`Harness.liquidations`, :meth:`Harness.duplicate_actions` (and
:meth:`Harness.continued_steps`), :meth:`Harness.takeover_time`, :meth:`Harness.fenced_attempts`
(see their docstrings, and :func:`~tests.cluster.harness_records.find_duplicates`, for the
exact definitions). Set-up: :mod:`tests.cluster.harness_setup`; records, readers and rules:
:mod:`tests.cluster.harness_records`.

Everything is synchronous (subprocesses, ``httpx`` and ``asyncio.run`` around asyncpg): use it
from plain (non-async) tests and scripts.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.cluster.harness_records import (
    CONTINUED,
    Duplicate,
    IntentRow,
    JournalReader,
    Lease,
    SimCall,
    _iso_ts,
    _json_obj,
    _seconds,
    attribute,
    find_duplicates,
    metric_values,
)
from tests.cluster.harness_setup import (
    CRASH_CHANGE,
    CRASH_OVER_S,
    N_ACCOUNTS,
    RISKD,
    START_TIMEOUT_S,
    AccountSpec,
    NodeConfig,
    SimCredentials,
    account_specs,
    free_port,
    new_credentials,
    node_settings,
    scenario_toml,
)
from tests.cluster.harness_setup import _env as _env

__all__ = [
    "CONTINUED",
    "CRASH_CHANGE",
    "CRASH_OVER_S",
    "N_ACCOUNTS",
    "AccountSpec",
    "Duplicate",
    "Harness",
    "IntentRow",
    "Lease",
    "NodeConfig",
    "SimCall",
    "SimCredentials",
    "account_specs",
    "harness",
    "metric_values",
    "new_credentials",
    "node_settings",
    "scenario_toml",
]

#: The refusals of a node for want of the lease (riskd.daemon.actions), in its log.
_FENCED_DETAIL = re.compile(r"no longer owns it|lease ran out")


@dataclass
class Node:
    config: NodeConfig
    config_path: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    stopped: bool = False

    @property
    def name(self) -> str:
        return self.config.node_id

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@dataclass
class FaultMark:
    """When a lever was pulled, and the leases the node held just before (clustered)."""

    at: float
    held: dict[str, int]
    done_at: float | None = None
    thread: threading.Thread | None = None


# ---------------------------------------------------------------------------- harness
class Harness:
    """The simulator and the nodes (module doc). Use as a context manager."""

    def __init__(
        self,
        workdir: Path,
        *,
        nodes: int = 1,
        accounts: int = N_ACCOUNTS,
        pg_url: str | None = None,
        redis_url: str | None = None,
        lease: str = "3s",
        poll: str = "1s",
        max_accounts: int | None = None,
    ) -> None:
        self.workdir = workdir
        self.accounts = account_specs(accounts)
        self.creds = new_credentials(self.accounts)
        self.pg_url = pg_url
        self.redis_url = redis_url
        self.lease_s = _seconds(lease)
        self.poll_s = _seconds(poll)
        self.sim_port = free_port()
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.sim_proc: subprocess.Popen[bytes] | None = None
        self.crash_at: float | None = None
        self.kills: dict[str, FaultMark] = {}
        self.stops: dict[str, FaultMark] = {}
        self.conts: dict[str, float] = {}
        self.nodes: dict[str, Node] = {}
        for k in range(1, nodes + 1):
            name = f"node{k}"
            state = workdir / name
            state.mkdir(parents=True, exist_ok=True)
            cfg = NodeConfig(
                node_id=name,
                state_dir=state,
                metrics_port=free_port(),
                base_url=self.sim_url,
                poll=poll,
                pg_url=pg_url,
                redis_url=redis_url,
                lease=lease,
                max_accounts=max_accounts or accounts,
            )
            path = state / "riskd.toml"
            path.write_text(node_settings(cfg, self.accounts, self.creds), encoding="utf-8")
            path.chmod(0o600)
            self.nodes[name] = Node(cfg, path, state / "riskd.log")
        self._http = httpx.Client(timeout=10)
        self.journal = JournalReader(
            pg_url,
            {n: node.config.state_dir / "journal.sqlite3" for n, node in self.nodes.items()},
        )

    # -- life cycle ----------------------------------------------------------------------
    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_all()

    def start_sim(self) -> None:
        """``riskd sim serve`` with the scenario and keys; returns once it answers."""
        scenario = self.workdir / "scenario.toml"
        scenario.write_text(scenario_toml(self.accounts), encoding="utf-8")
        keys = self.workdir / "sim-credentials.json"
        keys.write_text(
            json.dumps(
                {
                    n: {"api_key": c.api_key, "secret": c.secret, "passphrase": c.passphrase}
                    for n, c in self.creds.items()
                }
            ),
            encoding="utf-8",
        )
        keys.chmod(0o600)
        log = open(self.workdir / "sim.log", "ab")  # noqa: SIM115 - the child keeps it
        self.sim_proc = subprocess.Popen(
            [
                str(RISKD),
                "sim",
                "serve",
                "--scenario",
                str(scenario),
                "--port",
                str(self.sim_port),
                "--credentials",
                str(keys),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(),
            cwd=self.workdir,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.sim_proc.poll() is not None:
                raise RuntimeError(f"riskd sim serve exited:\n{self._tail('sim.log')}")
            with contextlib.suppress(httpx.HTTPError):
                if self._http.get(f"{self.sim_url}/_sim/calls").status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"riskd sim serve did not answer:\n{self._tail('sim.log')}")
            time.sleep(0.1)

    def start_node(self, name: str) -> None:
        node = self.nodes[name]
        log = open(node.log_path, "ab")  # noqa: SIM115 - the child keeps it
        node.proc = subprocess.Popen(
            [str(RISKD), "run", "--config", str(node.config_path), "--log-format", "json"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_env(),
            cwd=node.config.state_dir,
            start_new_session=True,
        )
        log.close()
        node.stopped = False

    def start(self, ready_timeout_s: float = START_TIMEOUT_S) -> float:
        """Start the simulator and every node; wait until every account has been polled at
        least once (by some node); returns the seconds that took from the nodes' start."""
        self.start_sim()
        t0 = time.monotonic()
        for name in self.nodes:
            self.start_node(name)
        self.wait_polled(ready_timeout_s)
        return time.monotonic() - t0

    def wait_polled(self, timeout_s: float) -> None:
        """Until every account has a poll counted in some live node's metrics."""
        deadline = time.monotonic() + timeout_s
        want = {a.name for a in self.accounts}
        while True:
            seen: set[str] = set()
            for node in self.nodes.values():
                if not node.alive:
                    continue
                for account, count in self.poll_counts(node.name).items():
                    if count > 0:
                        seen.add(account)
            if want <= seen:
                return
            dead = [n.name for n in self.nodes.values() if n.proc is not None and not n.alive]
            if dead or time.monotonic() > deadline:
                tails = "\n".join(f"--- {n}\n{self.node_log_tail(n)}" for n in self.nodes)
                why = f"nodes exited: {dead}" if dead else f"accounts never polled: {want - seen}"
                raise RuntimeError(f"{why}\n{tails}")
            time.sleep(0.5)

    def crash(self, change: str = CRASH_CHANGE, over_s: float = CRASH_OVER_S) -> dict[str, Any]:
        """Every symbol moves by ``change`` over ``over_s`` seconds from now."""
        resp = self._http.post(
            f"{self.sim_url}/_sim/crash", json={"change": change, "over_s": over_s}
        )
        resp.raise_for_status()
        self.crash_at = time.time()
        payload: dict[str, Any] = resp.json()
        return payload

    # -- levers --------------------------------------------------------------------------
    def _proc(self, name: str) -> subprocess.Popen[bytes]:
        proc = self.nodes[name].proc
        if proc is None:
            raise RuntimeError(f"{name} was never started")
        return proc

    def kill9(self, node: str) -> None:
        """SIGKILL ``node`` (its leases are snapshot just before, for :meth:`takeover_time`,
        whose watch starts at once in a thread)."""
        held = self._held_by(node)
        proc = self._proc(node)
        mark = FaultMark(time.time(), held)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.kills[node] = mark
        if self.pg_url is not None:
            mark.thread = threading.Thread(target=self._watch_takeover, args=(node, mark))
            mark.thread.start()

    def sigstop(self, node: str) -> None:
        """Freeze ``node`` (SIGSTOP); its leases are snapshot just before."""
        held = self._held_by(node)
        self._proc(node).send_signal(signal.SIGSTOP)
        self.nodes[node].stopped = True
        self.stops[node] = FaultMark(time.time(), held)

    def sigstop_on_action(self, node: str, timeout_s: float) -> bool:
        """Freeze ``node`` right after the simulator accepts a protective call for an account
        it owns (it is then mid-step: re-polling, about to send the next leg). Watches for
        ``timeout_s``; then freezes it anyway. True when it was caught acting."""
        deadline = time.time() + timeout_s
        seen = max((c.seq for c in self.sim_calls()), default=0)
        while time.time() < deadline:
            resp = self._http.get(f"{self.sim_url}/_sim/calls", params={"since": seen})
            calls = resp.json()["calls"]
            if calls:
                seen = max(int(c["seq"]) for c in calls)
                owners = self.owners()
                if any(c["accepted"] and owners.get(c["account"]) == node for c in calls):
                    self.sigstop(node)
                    return True
            time.sleep(0.05)
        self.sigstop(node)
        return False

    def sigcont(self, node: str) -> None:
        """Resume ``node`` (SIGCONT)."""
        self._proc(node).send_signal(signal.SIGCONT)
        self.nodes[node].stopped = False
        self.conts[node] = time.time()

    def stop_all(self) -> None:
        """:meth:`stop_nodes`, then the simulator. Safe to call twice."""
        self.stop_nodes()
        if self.sim_proc is not None and self.sim_proc.poll() is None:
            self.sim_proc.terminate()
            try:
                self.sim_proc.wait(10)
            except subprocess.TimeoutExpired:
                self.sim_proc.kill()
                self.sim_proc.wait(5)
        self._http.close()

    def stop_nodes(self) -> None:
        """SIGTERM every node (resumed first if frozen), SIGKILL after 15 s. The simulator
        keeps answering: the outcome can be read, frozen."""
        for node in self.nodes.values():
            if node.alive and node.proc is not None:
                if node.stopped:
                    node.proc.send_signal(signal.SIGCONT)
                    node.stopped = False
                node.proc.send_signal(signal.SIGTERM)
        for node in self.nodes.values():
            if node.proc is not None and node.proc.poll() is None:
                try:
                    node.proc.wait(15)
                except subprocess.TimeoutExpired:
                    node.proc.kill()
                    node.proc.wait(5)
        for mark in self.kills.values():
            if mark.thread is not None:
                mark.thread.join(30)

    # -- readers: simulator --------------------------------------------------------------
    def _calls_json(self) -> dict[str, Any]:
        resp = self._http.get(f"{self.sim_url}/_sim/calls")
        resp.raise_for_status()
        payload: dict[str, Any] = resp.json()
        return payload

    def sim_calls(self) -> list[SimCall]:
        """Every protective call the simulator answered, in order."""
        return [
            SimCall(
                seq=int(c["seq"]),
                at=float(c["at"]),
                account=c["account"],
                endpoint=str(c["endpoint"]),
                accepted=bool(c["accepted"]),
                code=str(c["code"]),
                client_oids=tuple(c["client_oids"]),
                ref=c["ref"],
                params=dict(c["params"]),
            )
            for c in self._calls_json()["calls"]
        ]

    def account_story(self, account: str, since: float) -> list[str]:
        """What happened to ``account`` (printed when a test loses it): its intents (node,
        kind, status) and the simulator's answers to its protective calls, seconds after
        ``since``, in order."""
        lines = [
            (i.at, f"intent {i.kind} {i.scope} by {i.node} fence {i.fence}: {i.status}")
            for i in self.intents()
            if i.account == account
        ]
        lines += [
            (c.at, f"call {c.endpoint}: {'accepted' if c.accepted else 'refused ' + c.code}")
            for c in self.sim_calls()
            if c.account == account
        ]
        return [f"{at - since:7.2f}s {text}" for at, text in sorted(lines)]

    def rate_limited(self) -> list[dict[str, Any]]:
        """Every HTTP 429 the simulator sent: ``{seq, at, endpoint, account}``."""
        limited: list[dict[str, Any]] = self._calls_json()["rateLimited"]
        return limited

    def sim_liquidations(self) -> dict[str, list[dict[str, Any]]]:
        resp = self._http.get(f"{self.sim_url}/_sim/liquidations")
        resp.raise_for_status()
        accounts: dict[str, list[dict[str, Any]]] = resp.json()["accounts"]
        return accounts

    def sim_stats(self) -> dict[str, Any]:
        resp = self._http.get(f"{self.sim_url}/_sim/stats")
        resp.raise_for_status()
        stats: dict[str, Any] = resp.json()
        return stats

    def risk_rates(self) -> dict[str, dict[str, str]]:
        """Each account's true risk rate per scope now (``/_sim/state``)."""
        out: dict[str, dict[str, str]] = {}
        for a in self.accounts:
            resp = self._http.get(f"{self.sim_url}/_sim/state", params={"account": a.name})
            resp.raise_for_status()
            scopes = resp.json()["scopes"]
            out[a.name] = {sid: s["riskRate"] for sid, s in scopes.items()}
        return out

    # -- readers: nodes ------------------------------------------------------------------
    def metrics(self, node: str) -> str:
        """The node's ``/metrics`` text ('' when it does not answer)."""
        port = self.nodes[node].config.metrics_port
        try:
            resp = self._http.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
        except httpx.HTTPError:
            return ""
        return resp.text if resp.status_code == 200 else ""

    def poll_counts(self, node: str) -> dict[str, float]:
        """Polls per account so far (``riskd_poll_duration_seconds_count``)."""
        return metric_values(self.metrics(node), "riskd_poll_duration_seconds_count", "account")

    def node_log_tail(self, node: str, chars: int = 3000) -> str:
        path = self.nodes[node].log_path
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def _tail(self, name: str, chars: int = 3000) -> str:
        path = self.workdir / name
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    # -- readers: journal and leases (harness_records.JournalReader) --------------------
    def intents(self) -> list[IntentRow]:
        """Every journaled intent (PostgreSQL when clustered, else the nodes' SQLite files)."""
        return self.journal.intents()

    def events(self, kind: str, node: str | None = None) -> list[dict[str, Any]]:
        """Journal events of ``kind`` (of one node when given)."""
        return self.journal.events(kind, node)

    def leases(self) -> list[Lease]:
        """``riskd_leases`` now (clustered only)."""
        return self.journal.leases()

    def owners(self) -> dict[str, str | None]:
        """Account → owner of an unexpired lease (None: nobody), by PostgreSQL's clock."""
        return self.journal.owners()

    def fenced_attempts(self, node: str, since: float = 0.0) -> list[dict[str, Any]]:
        """The protective calls ``node`` refused to send because it no longer held the
        account's lease (fenced at the intent's write, or the lease ran out before the call),
        from its own log (JSON lines), logged at or after ``since`` (POSIX seconds)."""
        path = self.nodes[node].log_path
        out: list[dict[str, Any]] = []
        if not path.exists():
            return out
        for line in path.read_text(errors="replace").splitlines():
            if "action not sent" not in line:
                continue
            entry = _json_obj(line)
            detail = str(entry.get("detail", ""))
            if entry.get("event") != "action not sent" or not _FENCED_DETAIL.search(detail):
                continue
            at = _iso_ts(str(entry.get("timestamp", "")))
            if at >= since:
                out.append(entry)
        return out

    def _held_by(self, node: str) -> dict[str, int]:
        if self.pg_url is None:
            return {}
        return {
            lease.account: lease.token
            for lease in self.leases()
            if lease.owner == node and lease.expires_at > time.time()
        }

    def _watch_takeover(self, node: str, mark: FaultMark, timeout_s: float = 60.0) -> None:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            owners = self.owners()
            if all(owners.get(a) not in (None, node) for a in mark.held):
                mark.done_at = time.time()
                return
            time.sleep(0.1)

    # -- checks --------------------------------------------------------------------------
    def liquidations(self) -> dict[str, list[dict[str, Any]]]:
        """The accounts the simulator liquidated (account → its liquidations); {} is success."""
        return {a: liqs for a, liqs in self.sim_liquidations().items() if liqs}

    def takeover_time(self, node: str) -> float:
        """Seconds from :meth:`kill9` of ``node`` to the moment every account it held (its
        unexpired leases just before the kill) has an unexpired lease of another node in
        ``riskd_leases`` (watched every 0.1 s from the kill: an upper bound within 0.1 s).
        The issue's bound is ``lease`` + one poll interval (:attr:`takeover_bound`).
        ``inf`` when not all were taken over within 60 s."""
        mark = self.kills[node]
        if mark.thread is not None:
            mark.thread.join(70)
        if not mark.held:
            return 0.0
        return float("inf") if mark.done_at is None else mark.done_at - mark.at

    @property
    def takeover_bound(self) -> float:
        return self.lease_s + self.poll_s

    def attributed(self) -> list[tuple[SimCall, IntentRow | None]]:
        """Each accepted protective call with its intent (:func:`attribute`)."""
        return attribute(self.sim_calls(), self.intents())

    def duplicate_actions(self) -> list[Duplicate]:
        """Every duplicate protective action; [] is success (rules (a), (b), (c) of
        :func:`~tests.cluster.harness_records.find_duplicates`): (a) a clientOid accepted
        twice; (b) for one account, an accepted call whose intent's fence token is lower
        than a token that already acted on that account earlier; (c) two nodes' accepted
        intents for one account and one rule action id, the later one journaled before the
        earlier one's outcome."""
        return [d for d in self._duplicates() if d.rule != CONTINUED]

    def continued_steps(self) -> list[Duplicate]:
        """Multi-leg steps that a new owner went on with after the old owner's leg had its
        outcome (rule ``c+``): the brief's literal rule (c), reported apart."""
        return [d for d in self._duplicates() if d.rule == CONTINUED]

    def _duplicates(self) -> list[Duplicate]:
        return find_duplicates(self.attributed(), self.intents())

    def calls_after(self, node: str, since: float) -> list[tuple[SimCall, IntentRow]]:
        """Accepted protective calls attributed to ``node``'s intents, accepted after ``since``."""
        return [
            (c, i)
            for c, i in self.attributed()
            if i is not None and i.node == node and c.at >= since
        ]

    def summary(self) -> dict[str, Any]:
        """Figures for a report: calls accepted (by endpoint, by node), unattributed calls,
        liquidations, 429s, refused calls."""
        pairs = self.attributed()
        by_endpoint: dict[str, int] = defaultdict(int)
        by_node: dict[str, int] = defaultdict(int)
        for call, intent in pairs:
            by_endpoint[call.endpoint] += 1
            by_node[(intent.node or "?") if intent is not None else "unattributed"] += 1
        refused = [c for c in self.sim_calls() if not c.accepted]
        return {
            "accepted": len(pairs),
            "by_endpoint": dict(by_endpoint),
            "by_node": dict(by_node),
            "refused": len(refused),
            "refused_codes": sorted({c.code for c in refused}),
            "liquidated": sorted(self.liquidations()),
            "rate_limited": len(self.rate_limited()),
        }


@contextlib.contextmanager
def harness(workdir: Path, **kwargs: Any) -> Iterator[Harness]:
    """A :class:`Harness` stopped on exit whatever happens."""
    h = Harness(workdir, **kwargs)
    try:
        yield h
    finally:
        h.stop_all()

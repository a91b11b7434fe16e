"""Assembling a :class:`~riskd.daemon.app.Daemon` from :class:`~riskd.settings.Settings`.

One :class:`RateBudget` for the process; per account a :class:`BitgetClient` whose gate is
the budget's view for that account, a :class:`ClientExchange`, a poller, the executor chosen
by the account's ``live`` flag (:class:`LiveExecutor` or :class:`DryRunExecutor`) and an
:class:`ActionRunner`. A dry-run account's poller and executor see the exchange through its
shadow ledger (:class:`ShadowExchange`, :mod:`riskd.daemon.shadow_book`: the would-be actions'
effects on top of every read, so dry-run decides once; every account has one, empty while it
is LIVE, so a reload to dry-run starts one); reconciliation reads the real one.
Fakes enter through the keyword arguments (an ``httpx.AsyncClient`` over the simulator's ASGI
app, a ManualClock, a price source, an alert sink). Without a price source given,
``[prices] enabled`` builds a :class:`BitgetIndexPriceFeed` (``Built.feed``;
:meth:`Built.start_feed` starts it), otherwise :class:`NoPrices`. The feed speaks v2
(``index-price`` on ``/v2/ws/public``) when any account speaks v2, else v1.

The push path (:mod:`riskd.daemon.push`, ``[push] enabled`` and at least one v2 account):
one :class:`PushReactor` (``Built.push``) watches every v2 account's poller; it listens to
the feed's prices, and — built with the feed, i.e. when no price source is given — one
:class:`AccountPushClient` per v2 account (``Built.account_pushes``, ``[push]
account_pushes``) logs in on the private socket and reports balance and order changes to it.
The service runs a cycle as soon as ``Built.push.wake`` is set.

Each account's client speaks the account's API version (``api``, default ``v2``); nothing
past the client knows which. Each account is built in its configured mode (``auto``: classic)
without touching the network; :meth:`Built.decide_modes` (first thing in
:meth:`Built.start_feed`; the demo calls it itself) asks the exchange
(:mod:`riskd.daemon.account_mode`) and rebuilds an account found in the other mode: a Unified
Trading Account gets a :class:`UtaExchange` (one ``uta`` scope, API v3, estimated from index-price
pushes and polled at once on its v3 ``account`` pushes, :mod:`riskd.daemon.push_uta`; read
through its dry-run shadow like a classic one; no liquidation-history watch: v3 documents no
such list), a
classic one a :class:`ClientExchange`, side by side.
The poller's notices (risk figures that disagree, an answer in
an unexpected shape, a Unified Trading Account) become critical alerts and journal entries
(:func:`notice_hook`).

The clients retry a failed read twice (:data:`READ_RETRY`), quickly: the poller polls a scope
whose read failed again at the fast interval, on the next cycle, so a longer retry inside
one read would only hold the cycle up.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import httpx

from riskd.bitget.client import BitgetClient
from riskd.bitget.client_core import RetryPolicy
from riskd.bitget.endpoints import endpoint
from riskd.bitget.server_clock import ServerClock
from riskd.budget import AccountGate, BudgetConfig, RateBudget
from riskd.clock import Clock
from riskd.daemon import account_mode
from riskd.daemon.account_push import AccountPushClient, Margin
from riskd.daemon.actions import ActionRunner
from riskd.daemon.alerts import AlertSink, LoggingSink
from riskd.daemon.app import AccountRuntime, Daemon
from riskd.daemon.client_exchange import ClientExchange
from riskd.daemon.events import EventKind
from riskd.daemon.exchange import BatchOrders, Exchange, RiskFigure
from riskd.daemon.executor import DryRunExecutor, Executor, LiveExecutor
from riskd.daemon.journal import Journal
from riskd.daemon.liquidations import ClientLiquidations, LiquidationWatch
from riskd.daemon.order_slots import OrderSlots
from riskd.daemon.poll_notices import Notice, NoticeHook
from riskd.daemon.poll_reference import SharedReads
from riskd.daemon.poller import AccountPoller
from riskd.daemon.prices import BitgetIndexPriceFeed, NoPrices, PriceSource
from riskd.daemon.push import PushReactor
from riskd.daemon.push_uta import UtaAccountPushClient, uta_account_push
from riskd.daemon.reconcile import Reconciler
from riskd.daemon.shadow_book import ShadowBook, discard_saved
from riskd.daemon.shadow_exchange import ShadowExchange, ShadowUtaExchange
from riskd.daemon.uta_exchange import UtaExchange
from riskd.notify.alert import Alert, AlertKind
from riskd.ops.metrics import Metrics
from riskd.redact import redact
from riskd.rules import loader
from riskd.rules.model import RuleSet
from riskd.settings import AccountSettings, ConfigError, Settings
from riskd.severity import Severity

#: The daemon's reads retry twice, after at most 0.5 s each (plus any 429 pause of the budget).
READ_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.25, max_delay_s=0.5)
#: Wraps an account's executor (tests: simulate a crash mid-call).
ExecutorWrapper = Callable[[str, Executor], Executor]
#: Opens the journal (tests: a journal that "dies" at a chosen write).
JournalOpener = Callable[[Path], Awaitable[Journal]]


@dataclass
class Built:
    daemon: Daemon
    budget: RateBudget
    clients: dict[str, BitgetClient] = field(default_factory=dict)
    #: The WebSocket index price feed ``riskd run`` starts (None: prices came from elsewhere).
    feed: BitgetIndexPriceFeed | None = None
    #: The push path (None: ``[push] enabled = false`` or no v2 account).
    push: PushReactor | None = None
    #: One private socket per v2 account, v3 for a UTA one (built with the feed).
    account_pushes: list[AccountPushClient | UtaAccountPushClient] = field(default_factory=list)
    #: Closed with the rest, before the journal (the notifier's journal stores).
    closers: list[tuple[str, Callable[[], Awaitable[None]]]] = field(default_factory=list)
    #: Asks each account's mode and switches the accounts built in the other one
    #: (:meth:`decide_modes`).
    modes: Callable[[], Awaitable[None]] | None = None
    modes_decided: bool = False

    async def decide_modes(self) -> None:
        """Ask the exchange each account's mode (:mod:`riskd.daemon.account_mode`, at most
        :data:`~riskd.daemon.account_mode.PROBE_TIMEOUT`), say which adapter each uses, and
        rebuild an account built in the other mode. Once; :meth:`start_feed` calls it first.
        Not done in :func:`build_daemon`: building touches no network, so a bad setting met
        later at start (a busy metrics port) is still the one line the start prints."""
        if self.modes is None or self.modes_decided:
            return
        self.modes_decided = True
        await self.modes()

    async def start_feed(self) -> None:
        """Decide the accounts' modes, then start the WebSocket clients: the price feed and
        the account pushes."""
        await self.decide_modes()
        if self.feed is not None:
            await self.feed.start()
        for client in self.account_pushes:
            await client.start()

    async def aclose(self) -> None:
        for client in self.account_pushes:
            await client.stop()
        if self.feed is not None:
            await self.feed.stop()
        for c in self.clients.values():
            await c.aclose()
        for _, close in self.closers:
            await close()
        await self.budget.aclose()
        await self.daemon.journal.close()


def load_rules(settings: Settings, name: str) -> loader.LoadResult:
    return loader.load([settings.account_rules_dir(name)])


def rules_or_error(settings: Settings, name: str) -> RuleSet:
    result = load_rules(settings, name)
    if result.ruleset is None:
        lines = [
            f"  {p.file}:{p.line or '-'}: {p.rule + ': ' if p.rule else ''}{p.message}"
            for p in result.errors
        ]
        raise ConfigError(
            f"rules of account {name!r} ({settings.account_rules_dir(name)}) do not load:\n"
            + "\n".join(lines)
        )
    return result.ruleset


def notice_hook(journal: Journal, sink: AlertSink, clock: Clock) -> NoticeHook:
    """The poller's notices as critical alerts (one incident per kind and scope) and
    journal entries of the same kind."""

    async def notice(n: Notice) -> None:
        at = clock.now()
        message = redact(n.message)
        await journal.record(
            n.kind, f"{n.title}: {message}", at=at, account=n.account, scope=n.scope
        )
        sink.submit(
            Alert(
                kind=AlertKind.ERROR,
                severity=Severity.CRITICAL,
                title=n.title,
                at=at,
                account=n.account,
                scope=n.scope,
                incident=f"{n.kind}:{n.account}:{n.scope or '*'}",
                message=message,
            )
        )

    return notice


def _bad_answer_hook(notice: NoticeHook, account: str) -> Callable[[str], Awaitable[None]]:
    """An unexpected answer met while settling an intent: the same loud notice as a poll's."""

    async def hook(text: str) -> None:
        await notice(
            Notice(
                EventKind.BAD_ANSWER,
                account,
                None,
                f"unexpected answer from Bitget for {account}",
                f"{text}; the intent it would settle stays open and its scope takes no new"
                " action until a good answer comes",
            )
        )

    return hook


def _shadow_book(
    name: str,
    journal: Journal,
    clock: Clock,
    runtimes: Mapping[str, AccountRuntime],
    exchange: Exchange | None = None,
) -> ShadowBook:
    """Account ``name``'s dry-run shadow ledger (:mod:`riskd.daemon.shadow`): its poller
    reads, and its :class:`DryRunExecutor` records, through it. The book clears itself once
    the account is LIVE (a reload), after which the reads pass through as they are."""

    def dry_run() -> bool:
        runtime = runtimes.get(name)
        return runtime is None or runtime.dry_run

    return ShadowBook(
        name,
        journal,
        clock,
        dry_run=dry_run,
        contested=lambda: isinstance(exchange, RiskFigure) and exchange.risk_rate_contested,
    )


def _pacing(
    gate: AccountGate, fast: float, api: Literal["v1", "v2"]
) -> Callable[[Mapping[str, int]], float]:
    """The poller's pacing: its calls (by endpoint name) counted against the limits of the
    account's API version (the budget keys them by ``Endpoint.key``)."""

    def pace(calls: Mapping[str, int]) -> float:
        keyed = {endpoint(name, api).key: n for name, n in calls.items()}
        return gate.suggest_interval(fast, keyed) if keyed else 0.0

    return pace


def _uta_pacing(gate: AccountGate, fast: float) -> Callable[[Mapping[str, int]], float]:
    """The pacing of a UTA account's poller: its calls are v3 endpoints."""

    def pace(calls: Mapping[str, int]) -> float:
        keyed = {endpoint(name, "v3").key: n for name, n in calls.items()}
        return gate.suggest_interval(fast, keyed) if keyed else 0.0

    return pace


async def build_daemon(
    settings: Settings,
    *,
    clock: Clock,
    http: httpx.AsyncClient | None = None,
    prices: PriceSource | None = None,
    sink: AlertSink | None = None,
    metrics: Metrics | None = None,
    budget: RateBudget | None = None,
    wrap_executor: ExecutorWrapper | None = None,
    sync_clock: bool = True,
    open_journal: JournalOpener | None = None,
    rng_for: Callable[[str], random.Random] | None = None,
) -> Built:
    """Everything ``riskd run`` runs, not started yet (call ``daemon.start()``).

    ``rng_for(account)`` gives each client its retry-jitter RNG (default: seeded by the OS);
    the demo passes seeded ones so that two runs retry at the same instants."""
    feed: BitgetIndexPriceFeed | None = None
    price_source: PriceSource
    v2_accounts = [name for name, acc in settings.accounts.items() if acc.api == "v2"]
    feed_api: Literal["v1", "v2"] = "v2" if v2_accounts else "v1"
    if prices is not None:
        price_source = prices
    elif settings.prices.enabled:
        try:
            url = settings.price_ws_url(feed_api)
        except ValueError as exc:
            raise ConfigError(f"prices.ws_url: {exc}; set prices.ws_url") from None
        feed = BitgetIndexPriceFeed(clock, url=url, api=feed_api, max_age=settings.prices.max_age)
        price_source = feed
    else:
        price_source = NoPrices()
    rulesets = {name: rules_or_error(settings, name) for name in settings.accounts}
    creds = {name: settings.credentials(name) for name in settings.accounts}
    if budget is None:
        budget = RateBudget(clock, BudgetConfig.from_settings(settings.budget))
    journal = await (
        open_journal(settings.journal_path)
        if open_journal is not None
        # SQLite at journal_path, or the cluster's PostgreSQL (meta keys per node there).
        else Journal.open_target(
            settings.journal_target, namespace=settings.node_id() if settings.clustered else None
        )
    )
    clients: dict[str, BitgetClient] = {}
    exchanges: dict[str, Exchange] = {}
    runtimes: dict[str, AccountRuntime] = {}
    alert_sink: AlertSink = sink if sink is not None else LoggingSink()
    notice = notice_hook(journal, alert_sink, clock)
    reconciler = Reconciler(
        journal,
        lambda account: exchanges[account],
        clock,
        flash_timeout=settings.poll.flash_repay_timeout,
    )
    push = PushReactor(clock, settings.push) if settings.push.enabled and v2_accounts else None
    if push is not None and feed is not None:
        feed.add_listener(push.on_prices)
    account_pushes: list[AccountPushClient | UtaAccountPushClient] = []
    gates = {name: budget.for_account(name) for name in settings.accounts}
    # Reads that are the same for every account (the symbol list, tier data): once a node.
    shared_reads = SharedReads()
    # One server-time offset for the node: the first client measures it, the others share it.
    server_clock: ServerClock | None = None
    for name, acc in settings.accounts.items():
        clients[name] = BitgetClient(
            creds[name],
            http=http,
            base_url=settings.base_url,
            gate=gates[name],
            clock=clock,
            sync_clock=sync_clock,
            timeout_s=settings.poll.request_timeout,
            retry=READ_RETRY,
            api=acc.api,
            rng=rng_for(name) if rng_for is not None else None,
            server_clock=server_clock,
        )
        server_clock = clients[name].server_clock
    pushes_by_name: dict[str, AccountPushClient | UtaAccountPushClient] = {}

    async def make(name: str, acc: AccountSettings, uta: bool) -> AccountRuntime:
        """Build (or rebuild, in the other mode) account ``name``'s runtime."""
        gate = gates[name]
        client = clients[name]
        # Every account reads through its shadow: empty and passed through while LIVE, so a
        # reload that turns an account to dry-run finds its ledger ready.
        exchange: Exchange
        book: ShadowBook
        if uta:
            book = _shadow_book(name, journal, clock, runtimes)
            exchange = exchanges[name] = ShadowUtaExchange(
                client,
                liquidation_level=acc.uta_liquidation_level,
                book=book,
                on_bad_answer=_bad_answer_hook(notice, name),
            )  # its reconciliation and orders read the real figures
        else:
            real = ClientExchange(client, on_bad_answer=_bad_answer_hook(notice, name))
            exchanges[name] = real  # reconciliation reads the real account
            book = _shadow_book(name, journal, clock, runtimes, real)
            exchange = ShadowExchange(real, book)
        live = settings.account_live(name)
        if live:
            await discard_saved(journal, name, clock.now())
        poller = AccountPoller(
            name,
            acc,
            settings.poll,
            exchange,
            price_source,
            clock,
            pacing=_uta_pacing(gate, settings.poll.fast_interval)
            if uta
            else _pacing(gate, settings.poll.fast_interval, acc.api),
            notice=notice,
            shared_reads=None if uta else shared_reads,
        )
        book.attach(poller)
        executor: Executor = LiveExecutor(exchange) if live else DryRunExecutor(exchange)
        if wrap_executor is not None:
            executor = wrap_executor(name, executor)
        runner = ActionRunner(
            account=name,
            executor=executor,
            journal=journal,
            clock=clock,
            caps=acc.caps,
            stale_after=settings.poll.stale_after,
            repoll=poller.repoll,
            reconcile=reconciler.status_of,
            prices=lambda p=poller: p.last_prices,  # type: ignore[misc]
            # an order takes its budget slot first, then is sized on the latest snapshot
            slots=OrderSlots(gate, "v3" if uta else acc.api, clock),
            latest=poller.snapshots.get,
            batch_orders=isinstance(exchanges[name], BatchOrders),
            # a confirmed repayment is applied from its answer, not read again
            keep=poller.keep_applied,
        )
        runtime = runtimes[name] = AccountRuntime(
            name=name,
            exchange=exchange,
            poller=poller,
            runner=runner,
            rules=rulesets[name],
            rules_dir=settings.account_rules_dir(name),
            liquidations=None
            if uta
            else LiquidationWatch(
                name,
                ClientLiquidations(client),
                interval=settings.poll.liquidation_check,
                started_at=clock.now(),
            ),
        )
        if push is not None and acc.api == "v2":
            # A UTA account's scope is estimated from index-price pushes (its own formula,
            # riskd.daemon.push_uta) and listens to the v3 ``account`` topic.
            push.watch(name, poller, lambda rt=runtime: rt.rules)  # type: ignore[misc]
            pushes_by_name.pop(name, None)
            if feed is not None and settings.push.account_pushes:
                pushes_by_name[name] = (
                    uta_account_push(settings, name, client, push.on_uta_push)
                    if uta
                    else _account_push(settings, name, client, poller, push)
                )
            account_pushes[:] = list(pushes_by_name.values())
        return runtime

    for name, acc in settings.accounts.items():
        # Built as configured (auto: classic); :meth:`Built.decide_modes` asks the exchange.
        await make(name, acc, acc.mode == "uta" and acc.api == "v2")
    daemon = Daemon(
        settings,
        journal=journal,
        clock=clock,
        accounts=runtimes,
        reconciler=reconciler,
        sink=alert_sink,
        metrics=metrics,
    )

    async def decide_all() -> None:
        accounts = list(settings.accounts.items())
        decisions = await asyncio.gather(
            *(account_mode.decide(name, acc, clients[name], notice) for name, acc in accounts)
        )
        for (name, acc), decision in zip(accounts, decisions, strict=True):
            await account_mode.announce(name, acc, decision, journal, alert_sink, clock)
            if (decision.adapter == "uta") != isinstance(exchanges[name], UtaExchange):
                daemon.accounts[name] = await make(name, acc, decision.adapter == "uta")

    budget.add_storage_listener(lambda ev: daemon.on_budget_storage(ev.degraded, ev.message()))
    if push is not None:
        daemon.push_sources = push.sources
    return Built(daemon, budget, clients, feed, push, account_pushes, modes=decide_all)


def _account_push(
    settings: Settings, name: str, client: BitgetClient, poller: AccountPoller, push: PushReactor
) -> AccountPushClient:
    return AccountPushClient(
        name,
        settings.credentials(name),
        url=settings.push_ws_url(),
        timestamp_s=lambda: client.server_clock.now_ms() // 1000,
        on_push=push.on_account_push,
        symbols=lambda: order_symbols(poller),
    )


def order_symbols(poller: AccountPoller) -> list[tuple[Margin, str]]:
    """The symbols whose order pushes matter to ``poller``'s account: ``<COIN>USDT`` of each
    coin the cross account holds or owes, and each isolated symbol."""
    out: list[tuple[Margin, str]] = []
    for scope, snap in poller.snapshots.items():
        if scope == "cross":
            out += [("cross", f"{c}USDT") for c in snap.balances if c != "USDT"]
        elif snap.symbol is not None:
            out.append(("isolated", snap.symbol))
    return out

"""The dashboard: an ASGI app the ops server mounts under ``/dashboard``.

Routes (below the prefix):

- ``/`` — the page (HTML; its script and style under ``/static/``);
- ``/api/state`` — the ``riskd status --json`` document plus rule states, index prices and a
  ``daemon_line`` (``running`` / ``not running (last seen …)``);
- ``/api/journal?kind=…&account=…&since=…&limit=…`` — journal events, oldest first;
- ``/api/stream`` — server-sent events: ``hello``, then ``state`` every ``refresh`` seconds and
  ``daemon`` for each event the daemon publishes (bounded per page, oldest dropped);
- ``POST /api/pause``, ``POST /api/resume`` — only with a write token configured, the token in
  the ``X-Riskd-Token`` header, a same-origin ``Origin`` and a JSON body
  (docs/dashboard.md#pause-and-resume).

Every answer passes through :func:`riskd.redact.redact`; a request whose ``Host`` is not this
server is refused (DNS rebinding), unknown paths get 404, and an unreadable journal gives
``not running (last seen …)``, never a stack trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import json
import logging
import re
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs

from riskd.clock import Clock, WallClock
from riskd.daemon.events import EventBroker
from riskd.daemon.journal import Journal
from riskd.daemon.status import DEFAULT_STALE_AFTER
from riskd.dashboard.http import (
    Receive,
    Scope,
    Send,
    header,
    host_allowed,
    read_body,
    respond,
    respond_json,
    same_origin,
)
from riskd.dashboard.settings import DashboardSettings
from riskd.dashboard.state import (
    EVENT_KINDS,
    READ_ERRORS,
    JournalReader,
    PricesProvider,
    RulesProvider,
)
from riskd.dashboard.stream import EventFanout, sse
from riskd.durations import DurationError, parse_duration

log = logging.getLogger(__name__)

PREFIX = "/dashboard"
TOKEN_HEADER = b"x-riskd-token"
_ACCOUNT = re.compile(r"^[a-z0-9_-]{1,64}$")
_STATIC = {
    "/static/app.js": (b"text/javascript; charset=utf-8", "app.js"),
    "/static/app.css": (b"text/css; charset=utf-8", "app.css"),
}
_BANNER = "<!--daemon-line-->"
#: After this many wrong tokens within :data:`GUESS_WINDOW_S` seconds, every write is
#: refused (429) until the window has passed: guessing the token takes forever. Only
#: same-origin requests count, so another site cannot lock the owner out.
GUESS_LIMIT = 10
GUESS_WINDOW_S = 60.0


@dataclass(frozen=True)
class DashboardProviders:
    """What the dashboard reads: the journal (always), and from the running daemon its
    event broker, rule sets, index prices and account names (each optional)."""

    #: The journal's file, or the cluster's ``postgresql://`` URL.
    journal_path: Path | str
    clock: Clock = field(default_factory=WallClock)
    settings: DashboardSettings = field(default_factory=DashboardSettings)
    broker: EventBroker | None = None
    rules: RulesProvider | None = None
    prices: PricesProvider | None = None
    accounts: Callable[[], Collection[str]] | None = None
    #: The resolved write token (:meth:`DashboardSettings.resolve_token`); None: read-only.
    write_token: str | None = field(default=None, repr=False)
    stale_after: float = DEFAULT_STALE_AFTER
    #: The ops server's host: requests naming another host are refused.
    bound_host: str = "127.0.0.1"


def _asset(name: str) -> bytes:
    return resources.files("riskd.dashboard").joinpath("static", name).read_bytes()


class DashboardApp:
    """The dashboard's ASGI app; mount it with :func:`make_dashboard`."""

    def __init__(self, providers: DashboardProviders, *, prefix: str = PREFIX) -> None:
        self.p = providers
        self.prefix = prefix
        self.reader = JournalReader(providers.journal_path, stale_after=providers.stale_after)
        self.fanout = EventFanout(providers.settings.stream_queue)
        if providers.broker is not None:
            self.fanout.attach(providers.broker)
        self._index = _asset("index.html").decode()
        #: Writes refused (no token, wrong token, wrong origin): the log says why.
        self.refused_writes = 0
        self._wrong_tokens: deque[float] = deque()

    def handles(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = str(scope.get("path", ""))[len(self.prefix) :] or "/"
        method = str(scope.get("method", "GET"))
        if not host_allowed(header(scope, b"host"), self.p.bound_host):
            await respond(send, 403, b"this server does not answer for that host name\n")
            return
        if path in ("/api/pause", "/api/resume"):
            if method != "POST":
                await respond(send, 405, b"use POST\n", extra=[(b"allow", b"POST")])
                return
            await self._write(scope, receive, send, paused=path == "/api/pause")
            return
        allowed = "GET" if path == "/api/stream" else "GET, HEAD"
        if method not in allowed.split(", "):
            await respond(send, 405, b"method not allowed\n", extra=[(b"allow", allowed.encode())])
            return
        if path == "/":
            await self._page(send)
        elif path in _STATIC:
            content_type, name = _STATIC[path]
            await respond(send, 200, _asset(name), content_type)
        elif path == "/api/state":
            await self._state(send)
        elif path == "/api/journal":
            await self._journal(scope, send)
        elif path == "/api/stream":
            await self._stream(receive, send)
        else:
            await respond(send, 404, b"not found\n")

    # --- reads --------------------------------------------------------------------------
    async def state_doc(self) -> dict[str, object]:
        line, doc = await self.reader.report(
            self.p.clock.now(), rules=self.p.rules, prices=self.p.prices
        )
        out: dict[str, object] = doc if doc is not None else {"daemon_line": line.to_json()}
        out["writes"] = self.p.write_token is not None
        out["dropped"] = self.fanout.dropped
        out["now"] = self.p.clock.now()
        return out

    async def _page(self, send: Send) -> None:
        line, _ = await self.reader.report(self.p.clock.now())
        banner = html.escape(line.text)
        page = self._index.replace(_BANNER, banner)
        await respond(send, 200, page.encode(), b"text/html; charset=utf-8")

    async def _state(self, send: Send) -> None:
        await respond_json(send, 200, await self.state_doc())

    async def _journal(self, scope: Scope, send: Send) -> None:
        query = parse_qs(bytes(scope.get("query_string") or b"").decode("latin-1"))
        try:
            kinds, account, since, limit = self._filters(query)
        except ValueError as exc:
            await respond_json(send, 400, {"error": str(exc)})
            return
        events = await self.reader.events(since=since, kinds=kinds, account=account, limit=limit)
        if events is None:
            line, _ = await self.reader.report(self.p.clock.now())
            await respond_json(send, 200, {"events": [], "daemon_line": line.to_json()})
            return
        await respond_json(send, 200, {"events": events})

    def _filters(
        self, query: dict[str, list[str]]
    ) -> tuple[list[str], str | None, float | None, int]:
        kinds = [k for v in query.get("kind", []) for k in v.split(",") if k]
        unknown = sorted(set(kinds) - set(EVENT_KINDS))
        if unknown:
            raise ValueError(f"kind {', '.join(unknown)}: not one of {', '.join(EVENT_KINDS)}")
        account = (query.get("account") or [""])[0].strip() or None
        if account is not None and not _ACCOUNT.match(account):
            raise ValueError(f"account {account[:64]!r}: letters, digits, '_' or '-'")
        since = _since((query.get("since") or [""])[0].strip(), self.p.clock.now())
        raw = (query.get("limit") or [""])[0].strip()
        most = self.p.settings.journal_limit
        if not raw:
            return kinds, account, since, most
        if not raw.isdigit() or not 1 <= int(raw) <= most:
            raise ValueError(f"limit {raw[:20]!r}: a whole number from 1 to {most}")
        return kinds, account, since, int(raw)

    async def _stream(self, receive: Receive, send: Send) -> None:
        client = self.fanout.open()
        gone = asyncio.Event()
        watcher = asyncio.create_task(
            _watch(receive, gone, client.wake), name="riskd-dashboard-sse"
        )
        headers = [
            (b"content-type", b"text/event-stream; charset=utf-8"),
            (b"cache-control", b"no-store"),
            (b"x-accel-buffering", b"no"),
        ]
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            hello = {"refresh_s": self.p.settings.refresh, "writes": self.p.write_token is not None}
            await _body(send, b"retry: 2000\n" + sse("hello", hello))
            await _body(send, sse("state", await self.state_doc()))
            loop = asyncio.get_running_loop()
            next_state = loop.time() + self.p.settings.refresh
            while not gone.is_set():
                timeout = max(0.0, next_state - loop.time())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(client.wake.wait(), timeout)
                if gone.is_set():
                    break
                for item in client.take():
                    await _body(send, sse("daemon", item))
                if loop.time() >= next_state:
                    doc = await self.state_doc()
                    doc["page_dropped"] = client.dropped
                    await _body(send, sse("state", doc))
                    next_state = loop.time() + self.p.settings.refresh
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.fanout.close(client)
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    # --- writes -------------------------------------------------------------------------
    async def _write(self, scope: Scope, receive: Receive, send: Send, *, paused: bool) -> None:
        what = "pause" if paused else "resume"
        peer = _peer(scope)
        token = self.p.write_token
        if token is None:
            await self._refuse(send, 403, f"{what} refused: the dashboard is read-only", peer)
            return
        if not same_origin(header(scope, b"origin"), header(scope, b"host")):
            await self._refuse(
                send, 403, f"{what} refused: the request's Origin is not this dashboard", peer
            )
            return
        now = self.p.clock.now()
        while self._wrong_tokens and self._wrong_tokens[0] <= now - GUESS_WINDOW_S:
            self._wrong_tokens.popleft()
        if len(self._wrong_tokens) >= GUESS_LIMIT:
            wait = max(1, round(self._wrong_tokens[0] + GUESS_WINDOW_S - now))
            text = f"{what} refused: too many wrong tokens; try again in {wait} s"
            await self._refuse(send, 429, text, peer)
            return
        given = header(scope, TOKEN_HEADER) or ""
        if not hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8")):
            self._wrong_tokens.append(now)
            await self._refuse(send, 403, f"{what} refused: wrong or missing token", peer)
            return
        content_type = (header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            await respond_json(send, 415, {"error": "send a JSON body (application/json)"})
            return
        body = await read_body(receive)
        try:
            doc = json.loads(body or b"{}") if body is not None else None
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            await respond_json(send, 400, {"error": 'body: a JSON object like {"account": null}'})
            return
        account = doc.get("account")
        if account is not None and (not isinstance(account, str) or not _ACCOUNT.match(account)):
            await respond_json(send, 400, {"error": "account: an account name, or null for all"})
            return
        known = await self._accounts()
        if account is not None and account not in known:
            listed = ", ".join(sorted(known)) or "none yet"
            await respond_json(
                send, 400, {"error": f"no account {account!r}; the accounts are: {listed}"}
            )
            return
        target = self.p.journal_path
        if isinstance(target, Path) and not target.is_file():
            await respond_json(send, 503, {"error": "the journal does not exist yet"})
            return
        try:
            journal = await Journal.open_target(target)
            try:
                ok = await journal.set_paused(
                    account, paused, at=self.p.clock.now(), reason=f"dashboard ({peer})"
                )
            finally:
                await journal.close()
        except READ_ERRORS as exc:
            log.error("dashboard %s could not be written to the journal: %s", what, exc)
            await respond_json(send, 503, {"error": f"{what} not recorded: journal unavailable"})
            return
        if not ok:
            await respond_json(send, 503, {"error": f"{what} not recorded: journal refused it"})
            return
        target = f"account {account}" if account else "every account"
        done = "paused" if paused else "resumed"
        log.warning("dashboard (%s): actions %s for %s", peer, done, target)
        await respond_json(send, 200, {"ok": True, "text": f"actions {done} for {target}"})

    async def _refuse(self, send: Send, status: int, text: str, peer: str) -> None:
        self.refused_writes += 1
        log.warning("dashboard write from %s: %s", peer, text)
        await respond_json(send, status, {"error": text})

    async def _accounts(self) -> set[str]:
        if self.p.accounts is not None:
            return set(self.p.accounts())
        doc = await self.state_doc()
        accounts = doc.get("accounts")
        if not isinstance(accounts, list):
            return set()
        return {str(a.get("name")) for a in accounts if isinstance(a, dict)}


def _since(raw: str, now: float) -> float | None:
    """``since``: a duration back from now (``15m``, ``2h``) or an ISO 8601 time (UTC)."""
    if not raw:
        return None
    try:
        return now - parse_duration(raw, where="since", bare_seconds=False)
    except DurationError:
        pass
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(
            f"since {raw[:40]!r}: a duration back from now (e.g. 15m, 2h) or an ISO 8601 "
            "time (e.g. 2026-12-05T10:00)"
        ) from None
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)).timestamp()


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    if isinstance(client, (list, tuple)) and client:
        return str(client[0])
    return "unknown"


async def _body(send: Send, data: bytes) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": True})


async def _watch(receive: Receive, gone: asyncio.Event, wake: asyncio.Event) -> None:
    """Set ``gone`` (and wake the stream) when the page goes away."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            wake.set()
            return


def make_dashboard(providers: DashboardProviders) -> DashboardApp:
    """The dashboard for the ops server (:func:`riskd.ops.server.start_ops_server`)."""
    return DashboardApp(providers)


__all__ = ["PREFIX", "TOKEN_HEADER", "DashboardApp", "DashboardProviders", "make_dashboard"]

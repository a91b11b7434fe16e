"""The configuration's sections: frozen models for ``[accounts.*]``, ``[caps]``, ``[poll]``,
``[budget]``, ``[metrics]``, ``[prices]`` and ``[push]`` (docs/configuration.md).

:mod:`riskd.settings` assembles them into :class:`~riskd.settings.Settings` and loads the file,
the environment and the credential files; it re-exports every name here.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from riskd.durations import PositiveDuration

SYMBOL = re.compile(r"^[A-Z0-9]{2,20}$")

NonNegDecimal = Annotated[Decimal, Field(ge=0)]
PositiveDecimal = Annotated[Decimal, Field(gt=0)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CoinCap(_Frozen):
    """Caps in units of one coin (used when no USDT price is known, and always checked)."""

    max_action: NonNegDecimal | None = None
    max_day: NonNegDecimal | None = None


class CapsSettings(_Frozen):
    """Limits on what protective actions may move, enforced before any call."""

    #: Largest value of one action, in USDT (``None``: no limit).
    max_action_usdt: NonNegDecimal | None = None
    #: Largest total value of actions in any rolling 24 hours, in USDT.
    max_day_usdt: NonNegDecimal | None = None
    #: Per-coin limits in coin units, e.g. ``BTC = { max_action = 0.5, max_day = 2 }``. Coin
    #: names are upper-cased (environment variable names arrive lower-case: ``btc``).
    coins: dict[str, CoinCap] = Field(default_factory=dict)

    @field_validator("coins")
    @classmethod
    def _upper_coins(cls, value: dict[str, CoinCap]) -> dict[str, CoinCap]:
        out: dict[str, CoinCap] = {}
        for coin, cap in value.items():
            key = coin.strip().upper()
            if key in out:
                raise ValueError(f"coin {key} is given twice (coin names ignore case)")
            out[key] = cap
        return out


#: Documented default of ``uta_liquidation_level`` (1 = 100 %, by analogy with futures).
DEFAULT_UTA_LIQUIDATION_LEVEL = Decimal(1)


class AccountSettings(_Frozen):
    """One Bitget account (one API key)."""

    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    api_passphrase: SecretStr | None = None
    api_rsa_key: SecretStr | None = None
    api_rsa_key_file: Path | None = None
    #: Watch the cross account.
    cross: bool = True
    #: Isolated symbols to watch; with ``discover_isolated`` every held symbol is added.
    isolated: tuple[str, ...] = ()
    discover_isolated: bool = True
    #: Rule files for this account (default: the top-level ``rules_dir``).
    rules_dir: Path | None = None
    #: ``None``: follow the top-level ``live``.
    live: bool | None = None
    #: Bitget margin API version spoken for this account. ``v1`` was switched off upstream on
    #: 2025-11-28 and stays for the simulator and the seed document only.
    api: Literal["v1", "v2"] = "v2"
    #: Classic margin or Unified Trading Account: ``auto`` asks the exchange at start.
    mode: Literal["auto", "classic", "uta"] = "auto"
    #: The ``mgnRatio`` at which a UTA account is liquidated (UNCONFIRMED upstream; riskd says
    #: so at start while it is not set). The ``uta`` scope's riskRate is mgnRatio ÷ this.
    uta_liquidation_level: PositiveDecimal = DEFAULT_UTA_LIQUIDATION_LEVEL
    caps: CapsSettings = Field(default_factory=CapsSettings)

    @field_validator("isolated")
    @classmethod
    def _symbols(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for s in value:
            if not SYMBOL.match(s):
                raise ValueError(f"{s!r} is not a symbol like 'BTCUSDT'")
        return value


class PollSettings(_Frozen):
    """How often scopes are polled; the interval adapts to how close a scope is to danger."""

    #: Normal interval (a crash can take a 5x long from calm to liquidation in ~30 s).
    interval: PositiveDuration = 5.0
    #: Used when a scope's risk rate is within ``near_margin`` of its warning ratio or above,
    #: or when its last change would bring it there within a couple of intervals.
    fast_interval: PositiveDuration = 1.0
    #: Used when every scope is calm (no debt, or risk rate below ``calm_below`` and at least
    #: twice ``near_distance`` from liquidation).
    slow_interval: PositiveDuration = 10.0
    near_margin: NonNegDecimal = Decimal("0.15")
    #: Also used when a scope is closer to liquidation than this move against it (0.05 = a
    #: 5 % adverse move liquidates it; ``minDistanceToLiquidation``): the risk rate alone
    #: misses how near a high-leverage scope is (a 7x isolated short 4 % from liquidation
    #: reads about 0.56). 0 turns it off.
    near_distance: NonNegDecimal = Decimal("0.05")
    calm_below: NonNegDecimal = Decimal("0.3")
    #: A scope is polled at the next tick, whatever its interval, once the index price of a
    #: coin it holds or owes has moved this much (0.005 = 0.5 %) since its last poll: a flash
    #: crash is seen within a tick. 0 turns it off. Needs a price source (``[prices]``).
    price_move: NonNegDecimal = Decimal("0.005")
    #: Data older than this is stale: critical alert, no action on that scope. Keep it well
    #: above ``slow_interval`` + ``fast_interval`` (one missed poll is not staleness).
    stale_after: PositiveDuration = 30.0
    #: Tier data, currencies and interest rates are refreshed this often.
    reference_ttl: PositiveDuration = 300.0
    #: Give up waiting for a flash repay to reach FINISH after this long.
    flash_repay_timeout: PositiveDuration = 10.0
    #: The account's liquidation history is read this often (and at once while a scope is
    #: at or above its warning ratio, or when a debt vanished without an action of riskd).
    liquidation_check: PositiveDuration = 30.0
    #: Give up on one HTTP request after this long. A request that hangs in a crash blinds
    #: the daemon for its whole timeout; a lost answer to a POST is reconciled, never resent.
    request_timeout: PositiveDuration = 2.0

    @model_validator(mode="after")
    def _order(self) -> PollSettings:
        if not self.fast_interval <= self.interval <= self.slow_interval:
            raise ValueError("need fast_interval <= interval <= slow_interval")
        return self


class BudgetSettings(_Frozen):
    """The client-side rate budget (see riskd.budget)."""

    #: Share of every documented limit left unused, as a margin for clock skew (0–0.5).
    safety_margin: Annotated[float, Field(ge=0, le=0.5)] = 0.1
    #: Share of each limit kept for protective calls (0–0.9).
    reserved_share: Annotated[float, Field(ge=0, le=0.9)] = 0.3
    #: ``limits`` storage URI: ``memory://`` or ``redis://host:6379`` when daemons share an IP.
    storage_uri: str = "memory://"
    #: With a Redis ``storage_uri``: the share of every limit this node counts with while
    #: Redis is unreachable — 1 / the number of nodes sharing the limits (docs/budget-redis.md).
    fallback_share: Annotated[float, Field(gt=0, le=1)] = 0.33


class ClusterSettings(_Frozen):
    """Several riskd nodes sharing the accounts (docs/cluster.md). Used only when
    ``journal_url`` names a PostgreSQL database: each account is then owned by one node at a
    time, under a lease with a fencing token."""

    #: This node's id, unique in the cluster; a second node started with the same id refuses
    #: to start. Default: the host name.
    node_id: str | None = None
    #: Each owned account's lease. A node that stops renewing (dead, frozen, cut off from
    #: PostgreSQL) loses its accounts when it runs out; another node takes them over within
    #: ``lease`` plus one poll interval.
    lease: PositiveDuration = 10.0
    #: The most accounts this node owns at once; accounts are spread evenly over the live
    #: nodes within these maxima.
    max_accounts: Annotated[int, Field(ge=1)] = 100

    @field_validator("node_id")
    @classmethod
    def _node_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", value):
            raise ValueError(
                f"{value!r}: use 1-63 letters, digits, '.', '_' or '-', starting with a "
                "letter or digit"
            )
        return value


class MetricsSettings(_Frozen):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 9464


class PricesSettings(_Frozen):
    """USDT index prices from the exchange's WebSocket (v2 ``index-price``; v1 ``indexPrice``)."""

    #: Subscribe to the index price feed (off: no prices, as in ``riskd test`` without rows).
    enabled: bool = True
    #: WebSocket URL; default derived from ``base_url`` and the accounts' API (v2 when any
    #: account speaks v2): ``https://api.bitget.com`` → ``wss://ws.bitget.com/v2/ws/public``
    #: (v1: ``/spot/v1/stream``), otherwise http→ws, https→wss plus that path, which
    #: ``riskd sim serve`` answers.
    ws_url: str | None = None
    #: A coin's price received longer ago than this is dropped (never acted on).
    max_age: PositiveDuration = 30.0

    @field_validator("ws_url")
    @classmethod
    def _ws_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError(f"{value!r} is not a ws:// or wss:// URL")
        return value


class PushSettings(_Frozen):
    """Push-speed reaction on v2 accounts (riskd.daemon.push): WebSocket pushes make a scope
    be polled at once instead of at its next poll; REST stays the truth."""

    #: Use the pushes: index prices estimate every scope's risk rate (needs ``[prices]``),
    #: account and order pushes mark their scope. Off: the poll schedule alone decides.
    enabled: bool = True
    #: Log in on the v2 private WebSocket with each v2 account's key and subscribe to its
    #: account and order channels (a change of balance or order polls its scope at once).
    account_pushes: bool = True
    #: Risk-rate lines besides the rules' own ``riskRate`` thresholds: an estimate reaching
    #: one that the last polled rate was below polls the scope at once.
    lines: tuple[NonNegDecimal, ...] = ()
    #: The lowest threshold of an acting rule, less this, is a line too (0: no such line).
    near: NonNegDecimal = Decimal("0.1")
    #: An estimate this much above the last polled rate polls the scope at once (0: off).
    rise: NonNegDecimal = Decimal("0.05")
    #: An account or order push polls its scope at most once per this.
    account_min_gap: PositiveDuration = 1.0
    #: The private WebSocket URL; default derived from ``base_url`` (``/v2/ws/private``).
    private_ws_url: str | None = None

    @field_validator("private_ws_url")
    @classmethod
    def _ws_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError(f"{value!r} is not a ws:// or wss:// URL")
        return value

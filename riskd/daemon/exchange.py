"""The daemon's narrow view of the exchange: the few calls it makes, as plain values.

The poller, the executors and reconciliation talk to an :class:`Exchange` — one per account.
:class:`riskd.daemon.client_exchange.ClientExchange` implements it over
:class:`riskd.bitget.client.BitgetClient`; unit tests hand in small fakes.

Errors are split by what they mean for a protective call:

- :class:`CallRejected`: the exchange answered and did not execute it (a code such as 50042,
  insufficient funds, a 429, maintenance). Safe to decide again.
- :class:`CallUncertain`: no usable answer (timeout, connection lost, 5xx): the call may
  have been executed. The intent stays open until reconciliation settles it.

Reads raise the same two classes; for a read both simply mean "no data this time". Two
refusals say more: :class:`AccountModeError` (the account is a Unified Trading Account, which
the classic margin API cannot serve: the account is stopped) and :class:`MalformedAnswer` (an
answer in a shape the document does not describe: no action on that scope, a loud alert).

Which API version is spoken is the implementation's business. Two optional capabilities,
checked with ``isinstance``, let the daemon use what a version offers without knowing it:
:class:`BatchRiskRates` (every isolated symbol's risk rate in one call) and
:class:`IdempotentRepay` (a repay sent with a client id derived from the intent, answering
with the exchange's repay id), :class:`BatchOrders` (several orders of one symbol in one
call: an order split at ``maxTradeAmount``). :class:`RiskFigure` says whether the exchange's
risk figure points a documented way (v1) or must be checked (v2: :mod:`riskd.risk.reading`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol, runtime_checkable

Margin = Literal["cross", "isolated"]
Side = Literal["buy", "sell"]


class ExchangeError(Exception):
    """A call that did not give a usable answer.

    ``transient``: worth trying again soon (rate limited, maintenance, a server error, the
    rate budget's wait ran out) — as opposed to a refusal of the request itself.
    """

    def __init__(self, message: str, *, code: str | None = None, transient: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.transient = transient


class CallRejected(ExchangeError):
    """The exchange answered: the call was not executed."""


class CallUncertain(ExchangeError):
    """No answer: the call may or may not have been executed."""


class AccountModeError(CallRejected):
    """The account is in a mode riskd's client cannot serve (a Unified Trading Account
    answers the classic margin API with 40085): stop protecting it, say so once."""


class MalformedAnswer(CallRejected):
    """The exchange answered in a shape the document does not describe; the message names
    the endpoint and the field. Nothing is decided on it."""


@dataclass(frozen=True, slots=True)
class RepayOutcome:
    """What a repay answered: the debt left and the exchange's id (when it gave them)."""

    remain: Decimal | None
    repay_id: str | None = None


@dataclass(frozen=True, slots=True)
class AssetRow:
    coin: str
    available: Decimal
    frozen: Decimal
    borrow: Decimal
    interest: Decimal
    symbol: str | None = None


@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """From ``/public/currencies`` (order rules: ``None`` when the exchange did not say)."""

    symbol: str
    base_coin: str
    quote_coin: str
    warning_risk_ratio: Decimal
    liquidation_risk_ratio: Decimal
    #: Decimals of a base quantity / of a price (and a market buy's quote amount).
    quantity_scale: int | None = None
    price_scale: int | None = None
    #: Smallest / largest order in the base coin; smallest order value (USDT).
    min_trade_amount: Decimal | None = None
    max_trade_amount: Decimal | None = None
    min_trade_usdt: Decimal | None = None
    taker_fee_rate: Decimal | None = None


@dataclass(frozen=True, slots=True)
class TierInfo:
    """Tier 1 of a coin (cross) or a symbol (isolated)."""

    maintain_margin_rate: Decimal
    leverage: Decimal | None
    #: coin → max borrowable at this tier
    max_borrowable: dict[str, Decimal]
    #: coin → daily interest rate (from ``*_interest_rate_and_limit``; empty if unknown)
    daily_interest_rate: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RepayRecord:
    repay_id: str
    coin: str
    amount: Decimal
    total_amount: Decimal
    ctime_ms: int
    type: str
    symbol: str | None = None


@dataclass(frozen=True, slots=True)
class OrderInfo:
    order_id: str
    client_oid: str | None
    status: str
    symbol: str


@dataclass(frozen=True, slots=True)
class CancelResult:
    cancelled: tuple[str, ...]
    failed: tuple[str, ...]


@runtime_checkable
class BatchRiskRates(Protocol):
    """Reads many isolated symbols' risk figures at once (v2: one paged call for all)."""

    async def isolated_risk_rates(self, symbols: Sequence[str]) -> dict[str, Decimal]:
        """symbol → risk figure, for the symbols asked for that the exchange listed."""
        ...


@runtime_checkable
class RiskFigure(Protocol):
    """Says whether the risk figure's direction is contested (check it before use)."""

    @property
    def risk_rate_contested(self) -> bool: ...


@runtime_checkable
class IdempotentRepay(Protocol):
    """A repay that carries ``client_oid`` where the exchange takes one (v2 isolated)."""

    async def repay_once(
        self,
        margin: Margin,
        *,
        coin: str,
        amount: Decimal,
        symbol: str | None,
        client_oid: str,
    ) -> RepayOutcome: ...


@dataclass(frozen=True, slots=True)
class BatchPlaced:
    """What a batch of market orders answered: the orders accepted (their ids) and, for
    each one refused, ``"clientOid: code message"``."""

    order_ids: tuple[str, ...]
    refused: tuple[str, ...] = ()


@runtime_checkable
class BatchOrders(Protocol):
    """Several market orders of one symbol in one call (v1, v2: ``batch-place-order``)."""

    async def place_market_autorepay_batch(
        self,
        margin: Margin,
        *,
        symbol: str,
        side: Side,
        amounts: Sequence[Decimal],
        client_oids: Sequence[str],
    ) -> BatchPlaced: ...


class Exchange(Protocol):
    """One account's access to the exchange."""

    # --- reads
    async def assets(self, margin: Margin) -> list[AssetRow]: ...

    async def cross_risk_rate(self) -> Decimal: ...

    async def isolated_risk_rate(self, symbol: str) -> Decimal: ...

    async def symbols(self) -> list[SymbolInfo]: ...

    async def tier(self, margin: Margin, key: str) -> TierInfo: ...

    async def open_orders(
        self, margin: Margin, symbol: str, *, client_oid: str | None = None
    ) -> list[OrderInfo]: ...

    async def order_history(
        self, margin: Margin, symbol: str, *, start_ms: int, client_oid: str
    ) -> list[OrderInfo]: ...

    async def repays(
        self, margin: Margin, *, symbol: str | None, coin: str | None, start_ms: int
    ) -> list[RepayRecord]: ...

    async def flash_repay_status(self, margin: Margin, flash_id: str) -> str: ...

    # --- protective calls
    async def repay(
        self, margin: Margin, *, coin: str, amount: Decimal, symbol: str | None
    ) -> Decimal | None:
        """Repay; returns the remaining debt when the exchange says it."""
        ...

    async def flash_repay(self, margin: Margin, *, coin: str | None, symbol: str | None) -> str:
        """Start a flash repay; returns its id."""
        ...

    async def batch_cancel(
        self, margin: Margin, symbol: str, order_ids: list[str]
    ) -> CancelResult: ...

    async def place_market_autorepay(
        self,
        margin: Margin,
        *,
        symbol: str,
        side: Side,
        amount: Decimal,
        client_oid: str,
    ) -> str:
        """Market order with ``loanType=autoRepay``: ``amount`` is the base quantity for a
        sell and the quote amount for a buy. Returns the order id."""
        ...

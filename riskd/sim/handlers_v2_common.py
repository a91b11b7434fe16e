"""What the v2 handlers share: ``riskRateRatio`` in the scenario's reading, v2 list paging
(``limit`` + ``idLessThan``, replies ``{<items>, maxId, minId}``) and v2 row formats.

**riskRateRatio.** ENDPOINTS-v2.md §2.1: the sources disagree on its direction. The scenario
key ``risk_rate_reading`` picks what the simulator serves:

- ``liabilities_over_assets`` (default, the help centre's reading): the simulator's risk rate
  itself (:func:`riskd.risk.math.value`, the same figure v1 serves as ``riskRate``): higher is
  riskier, liquidation at 1;
- ``assets_over_liabilities`` (the v2 doc text's reading): its reciprocal: lower is riskier,
  liquidation at 1; an account without debt answers the cap ``99999999``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from riskd.amounts import fmt8
from riskd.risk.math import INFINITE
from riskd.sim.book import Balance, Order
from riskd.sim.errors import SimError, param_error
from riskd.sim.handlers_common import NINETY_DAYS_MS, RISK_CAP, Ctx, id_param
from riskd.sim.records import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, T
from riskd.sim.scenario import RiskRateReading

ZERO = Decimal(0)
ONE = Decimal(1)

#: Internal order status → the v2 REST spelling (§1c; WS spells partial fills the same).
ORDER_STATUS_V2 = {
    "init": "live",
    "new": "live",
    "partial_fill": "partially_filled",
    "full_fill": "filled",
    "cancelled": "cancelled",
}
#: v1 loan types → v2 ``borrowType``.
BORROW_TYPE_V2 = {"manualLoan": "manual_loan", "autoLoan": "auto_loan"}
#: v1 repay types → v2 ``repayType`` (cross spelling; the isolated page uses hyphens).
REPAY_TYPE_V2 = {
    "manualRepay": "manual_repay",
    "autoRepay": "auto_repay",
    "liqRepay": "liq_repay",
    "forceRepay": "force_repay",
}


def risk_rate_ratio(rate: Decimal, reading: RiskRateReading) -> Decimal:
    """The ``riskRateRatio`` served for the risk rate ``rate`` in ``reading`` (capped)."""
    if reading == "assets_over_liabilities":
        if rate == INFINITE:
            return ZERO
        return RISK_CAP if rate <= 0 else min(ONE / rate, RISK_CAP)
    return RISK_CAP if rate == INFINITE else min(rate, RISK_CAP)


def ratio_text(ctx: Ctx, rate: Decimal) -> str:
    return fmt8(risk_rate_ratio(rate, ctx.ex.scenario.risk_rate_reading))


@dataclass(frozen=True, slots=True)
class ListQueryV2:
    """``startTime`` / ``endTime`` (≤ 90 days), ``limit`` (1..500, default 100), ``idLessThan``."""

    start_ms: int | None
    end_ms: int | None
    limit: int
    id_less_than: int | None


def list_query_v2(ctx: Ctx) -> ListQueryV2:
    p = ctx.params
    start = p.integer("startTime")
    end = p.integer("endTime")
    limit = p.integer("limit", DEFAULT_PAGE_SIZE)
    assert limit is not None
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise param_error("limit", f"must be within 1..{MAX_PAGE_SIZE}")
    if start is not None and end is not None:
        if end < start:
            raise SimError("40707")
        if end - start > NINETY_DAYS_MS:
            raise SimError("40705")
    below = id_param(ctx, "idLessThan") if ctx.endpoint.param("idLessThan") else None
    return ListQueryV2(start, end, limit, below)


def wrap(items_key: str, rows: list[dict[str, object]], page: Page[T]) -> dict[str, object]:
    """``{items_key: rows, maxId, minId}`` (ids as strings, ``null`` for an empty page)."""
    return {items_key: rows, "maxId": page.max_id, "minId": page.min_id}


def asset_row(bal: Balance, now_ms: int, symbol: str | None = None) -> dict[str, str]:
    """One coin of ``…/account/assets`` (§1 #6): net = available + frozen − borrow − interest."""
    row = {"symbol": symbol} if symbol else {}
    row.update(
        coin=bal.coin,
        totalAmount=fmt8(bal.total),
        available=fmt8(bal.available),
        frozen=fmt8(bal.frozen),
        borrow=fmt8(bal.borrow),
        interest=fmt8(bal.interest),
        net=fmt8(bal.total - bal.liability),
        coupon=fmt8(ZERO),
        cTime=str(bal.ctime_ms),
        uTime=str(now_ms),
    )
    return row


def order_row_v2(o: Order) -> dict[str, object]:
    """One order of open-orders / history-orders (§1 #30); the simulator keeps no update time."""
    size = o.base_quantity if o.base_quantity is not None else ZERO
    quote = o.quote_amount if o.quote_amount is not None else ZERO
    return {
        "orderId": str(o.id),
        "symbol": o.symbol,
        "orderType": o.order_type,
        "enterPointSource": o.source,
        "clientOid": o.client_oid,
        "loanType": o.loan_type,
        "price": fmt8(o.price if o.price is not None else ZERO),
        "side": o.side,
        "status": ORDER_STATUS_V2.get(o.status, o.status),
        "baseSize": fmt8(size),
        "quoteSize": fmt8(quote),
        "priceAvg": fmt8(o.fill_price),
        "size": fmt8(o.fill_quantity),
        "amount": fmt8(o.fill_total),
        "force": o.time_in_force,
        "cTime": str(o.ctime_ms),
        "uTime": str(o.ctime_ms),
    }

"""v2 configuration endpoints (ENDPOINTS-v2.md §1a, §1e): server time, currencies, interest
rates and limits, tier data, interest-rate record. All but the first two are signed on v2.

And the public spot candle endpoints (``candles``, ``history_candles``), served from the
market's price history (:mod:`riskd.sim.candles`): an unknown symbol is ``40034 Parameter
<symbol> does not exist`` (as the exchange answers it), an unknown granularity or a ``limit``
outside ``1..max`` is ``40020 Parameter … error``, a start after the end ``40707``. Month
lines (``1M``, ``1Mutc``) are not simulated (``40020``)."""

from __future__ import annotations

from decimal import Decimal

from riskd.amounts import fmt8
from riskd.bitget.endpoint_types import CandleGranularity
from riskd.bitget.endpoints_v2 import CANDLE_GRANULARITIES, CANDLE_PAGE_DEFAULT, CANDLE_PAGE_MAX
from riskd.sim.candles import candle_rows
from riskd.sim.catalog import CoinSpec, SymbolSpec
from riskd.sim.errors import SimError, param_error
from riskd.sim.handlers_common import Ctx, Handler

ONE = Decimal(1)
YEAR = 365


def _vip_list(daily: Decimal, limit: Decimal) -> list[dict[str, str]]:
    return [
        {
            "level": "0",
            "limit": fmt8(limit),
            "dailyInterestRate": fmt8(daily),
            "annualInterestRate": fmt8(daily * YEAR),
            "discountRate": fmt8(ONE),
        }
    ]


def server_time(ctx: Ctx) -> object:
    """``data.serverTime`` as a string of milliseconds (v1: a bare number)."""
    return {"serverTime": str(ctx.server_ms)}


def currencies(ctx: Ctx) -> object:
    cat = ctx.ex.catalog
    return [
        {
            "symbol": s.symbol,
            "baseCoin": s.base,
            "quoteCoin": s.quote,
            "maxCrossedLeverage": str(s.max_cross_leverage),
            "maxIsolatedLeverage": str(s.leverage),
            "warningRiskRatio": fmt8(cat.warning_risk_ratio),
            "liquidationRiskRatio": fmt8(cat.liquidation_risk_ratio),
            "minTradeAmount": fmt8(s.min_trade_amount),
            "maxTradeAmount": fmt8(s.max_trade_amount),
            "takerFeeRate": fmt8(s.taker_fee_rate),
            "makerFeeRate": fmt8(s.maker_fee_rate),
            "pricePrecision": str(s.price_scale),
            "quantityPrecision": str(s.quantity_scale),
            "minTradeUSDT": fmt8(s.min_trade_usdt),
            "isBorrowable": True,
            "userMinBorrow": fmt8(s.user_min_borrow),
            "status": "1",
            "isIsolatedBaseBorrowable": True,
            "isIsolatedQuoteBorrowable": True,
            "isCrossBorrowable": cat.coin(s.base).borrowable,
        }
        for s in cat.symbols.values()
    ]


def _coin(ctx: Ctx) -> CoinSpec:
    return ctx.ex.catalog.coin(ctx.params.req("coin"))


def _symbol(ctx: Ctx) -> SymbolSpec:
    return ctx.ex.catalog.symbol(ctx.params.req("symbol"))


def cross_interest_rate_and_limit(ctx: Ctx) -> object:
    c = _coin(ctx)
    return [
        {
            "coin": c.coin,
            "leverage": str(c.cross_leverage),
            "transferable": c.transfer_in_able,
            "borrowable": c.borrowable,
            "dailyInterestRate": fmt8(c.daily_interest_rate),
            "annualInterestRate": fmt8(c.yearly_interest_rate),
            "maxBorrowableAmount": fmt8(c.cross_max_borrowable),
            "vipList": _vip_list(c.daily_interest_rate, c.cross_max_borrowable),
        }
    ]


def isolated_interest_rate_and_limit(ctx: Ctx) -> object:
    s = _symbol(ctx)
    base_rate, quote_rate = s.base_daily_interest_rate, s.quote_daily_interest_rate
    return [
        {
            "symbol": s.symbol,
            "leverage": str(s.leverage),
            "baseCoin": s.base,
            "baseTransferable": True,
            "baseBorrowable": True,
            "baseDailyInterestRate": fmt8(base_rate),
            "baseAnnuallyInterestRate": fmt8(base_rate * YEAR),
            "baseMaxBorrowableAmount": fmt8(s.base_max_borrowable),
            "baseVipList": _vip_list(base_rate, s.base_max_borrowable),
            "quoteCoin": s.quote,
            "quoteTransferable": True,
            "quoteBorrowable": True,
            "quoteDailyInterestRate": fmt8(quote_rate),
            "quoteAnnuallyInterestRate": fmt8(quote_rate * YEAR),
            "quoteMaxBorrowableAmount": fmt8(s.quote_max_borrowable),
            "quoteList": _vip_list(quote_rate, s.quote_max_borrowable),
        }
    ]


def cross_tier_data(ctx: Ctx) -> object:
    c = _coin(ctx)
    return [
        {
            "tier": "1",
            "leverage": str(c.cross_leverage),
            "coin": c.coin,
            "maxBorrowableAmount": fmt8(c.cross_max_borrowable),
            "maintainMarginRate": fmt8(c.cross_mmr),
        }
    ]


def isolated_tier_data(ctx: Ctx) -> object:
    s = _symbol(ctx)
    return [
        {
            "tier": "1",
            "symbol": s.symbol,
            "leverage": str(s.leverage),
            "baseCoin": s.base,
            "quoteCoin": s.quote,
            "baseMaxBorrowableAmount": fmt8(s.base_max_borrowable),
            "quoteMaxBorrowableAmount": fmt8(s.quote_max_borrowable),
            "maintainMarginRate": fmt8(s.mmr),
            "initRate": fmt8(s.init_rate),
        }
    ]


def interest_rate_record(ctx: Ctx) -> object:
    c = _coin(ctx)
    return {
        "coin": c.coin,
        "dailyInterestRate": fmt8(c.daily_interest_rate),
        "annualInterestRate": fmt8(c.yearly_interest_rate),
        "updatedTime": str(round(ctx.ex.start_s * 1000)),
    }


def _granularity(ctx: Ctx) -> CandleGranularity:
    name = ctx.params.req("granularity")
    gran = CANDLE_GRANULARITIES.get(name)
    if gran is None:
        known = ", ".join(g for g, v in CANDLE_GRANULARITIES.items() if v.seconds is not None)
        raise param_error("granularity", f"{name!r} is not one of {known}")
    if gran.seconds is None:
        raise param_error("granularity", f"month candles ({name}) are not simulated")
    return gran


def candles(ctx: Ctx) -> object:
    """Rows ``[ts, open, high, low, close, baseVolume, usdtVolume, quoteVolume]``."""
    symbol = ctx.params.req("symbol")
    if symbol not in ctx.ex.market.symbols:
        raise SimError("40034", symbol)
    gran = _granularity(ctx)
    most = CANDLE_PAGE_MAX[ctx.endpoint.name]
    limit = ctx.params.integer("limit", CANDLE_PAGE_DEFAULT)
    assert limit is not None
    if not 1 <= limit <= most:
        raise param_error("limit", f"must be within 1..{most}")
    start = ctx.params.integer("startTime")
    end = ctx.params.integer("endTime")
    if start is not None and end is not None and start > end:
        raise SimError("40707")
    return candle_rows(
        ctx.ex.market, symbol, gran, start_ms=start, end_ms=end, limit=limit, now_s=ctx.now_s
    )


HANDLERS: dict[str, Handler] = {
    "server_time": server_time,
    "currencies": currencies,
    "cross_interest_rate_and_limit": cross_interest_rate_and_limit,
    "isolated_interest_rate_and_limit": isolated_interest_rate_and_limit,
    "cross_tier_data": cross_tier_data,
    "isolated_tier_data": isolated_tier_data,
    "interest_rate_record": interest_rate_record,
    "candles": candles,
    "history_candles": candles,
}

"""Public endpoints: server time, currencies, interest rates and limits, tier data."""

from __future__ import annotations

from decimal import Decimal

from riskd.amounts import fmt8
from riskd.sim.catalog import CoinSpec
from riskd.sim.handlers_common import Ctx, Handler

ONE = Decimal(1)


def _vips(daily: Decimal) -> list[dict[str, str]]:
    return [
        {
            "level": "0",
            "dailyInterestRate": fmt8(daily),
            "yearlyInterestRate": fmt8(daily * 365),
            "discountRate": fmt8(ONE),
        }
    ]


def server_time(ctx: Ctx) -> object:
    return ctx.server_ms


def currencies(ctx: Ctx) -> object:
    cat = ctx.ex.catalog
    return [
        {
            "symbol": s.symbol,
            "baseCoin": s.base,
            "quoteCoin": s.quote,
            "maxCrossLeverage": str(s.max_cross_leverage),
            "maxIsolatedLeverage": str(s.leverage),
            "warningRiskRatio": fmt8(cat.warning_risk_ratio),
            "liquidationRiskRatio": fmt8(cat.liquidation_risk_ratio),
            "minTradeAmount": fmt8(s.min_trade_amount),
            "maxTradeAmount": fmt8(s.max_trade_amount),
            "takerFeeRate": fmt8(s.taker_fee_rate),
            "makerFeeRate": fmt8(s.maker_fee_rate),
            "priceScale": str(s.price_scale),
            "quantityScale": str(s.quantity_scale),
            "minTradeUSDT": fmt8(s.min_trade_usdt),
            "isBorrowable": True,
            "userMinBorrow": fmt8(s.user_min_borrow),
            "status": "1",
        }
        for s in cat.symbols.values()
    ]


def _coin(ctx: Ctx) -> CoinSpec:
    return ctx.ex.catalog.coin(ctx.params.req("coin"))


def cross_interest_rate_and_limit(ctx: Ctx) -> object:
    c = _coin(ctx)
    return [
        {
            "coin": c.coin,
            "leverage": fmt8(c.cross_leverage),
            "transferInAble": c.transfer_in_able,
            "borrowAble": c.borrowable,
            "dailyInterestRate": fmt8(c.daily_interest_rate),
            "yearlyInterestRate": fmt8(c.yearly_interest_rate),
            "maxBorrowableAmount": fmt8(c.cross_max_borrowable),
            "vips": _vips(c.daily_interest_rate),
        }
    ]


def isolated_interest_rate_and_limit(ctx: Ctx) -> object:
    s = ctx.ex.catalog.symbol(ctx.params.req("symbol"))
    return [
        {
            "symbol": s.symbol,
            "leverage": fmt8(s.leverage),
            "baseCoin": s.base,
            "baseTransferInAble": True,
            "baseBorrowAble": True,
            "baseDailyInterestRate": fmt8(s.base_daily_interest_rate),
            "baseYearlyInterestRate": fmt8(s.base_daily_interest_rate * 365),
            "baseMaxBorrowableAmount": fmt8(s.base_max_borrowable),
            "baseVips": _vips(s.base_daily_interest_rate),
            "quoteCoin": s.quote,
            "quoteTransferInAble": True,
            "quoteBorrowAble": True,
            "quoteDailyInterestRate": fmt8(s.quote_daily_interest_rate),
            "quoteYearlyInterestRate": fmt8(s.quote_daily_interest_rate * 365),
            "quoteMaxBorrowableAmount": fmt8(s.quote_max_borrowable),
            "quoteVips": _vips(s.quote_daily_interest_rate),
        }
    ]


def cross_tier_data(ctx: Ctx) -> object:
    c = _coin(ctx)
    return [
        {
            "tier": "1",
            "leverage": fmt8(c.cross_leverage),
            "coin": c.coin,
            "maxBorrowableAmount": fmt8(c.cross_max_borrowable),
            "maintainMarginRate": fmt8(c.cross_mmr),
        }
    ]


def isolated_tier_data(ctx: Ctx) -> object:
    s = ctx.ex.catalog.symbol(ctx.params.req("symbol"))
    return [
        {
            "tier": "1",
            "symbol": s.symbol,
            "leverage": fmt8(s.leverage),
            "baseCoin": s.base,
            "quoteCoin": s.quote,
            "baseMaxBorrowableAmount": fmt8(s.base_max_borrowable),
            "quoteMaxBorrowableAmount": fmt8(s.quote_max_borrowable),
            "maintainMarginRate": fmt8(s.mmr),
            "initRate": fmt8(s.init_rate),
        }
    ]


HANDLERS: dict[str, Handler] = {
    "server_time": server_time,
    "currencies": currencies,
    "cross_interest_rate_and_limit": cross_interest_rate_and_limit,
    "isolated_interest_rate_and_limit": isolated_interest_rate_and_limit,
    "cross_tier_data": cross_tier_data,
    "isolated_tier_data": isolated_tier_data,
}

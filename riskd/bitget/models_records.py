"""Typed records of the loan, repay, interest, liquidation and finance-flow lists.

``symbol`` is present in the isolated lists and absent in the cross lists, so it is optional.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field

from riskd.bitget.models import Amount, OptAmount, OptMs, WireModel


class LoanRecord(WireModel):
    loan_id: str
    symbol: str | None = None
    coin: str
    amount: Amount
    type: str | None = None
    c_time: OptMs = None


class RepayRecord(WireModel):
    repay_id: str
    symbol: str | None = None
    coin: str
    amount: Amount
    total_amount: OptAmount = None
    interest: OptAmount = None
    type: str | None = None
    c_time: OptMs = None


class InterestRecord(WireModel):
    interest_id: str
    symbol: str | None = None
    interest_coin: str | None = None
    loan_coin: str | None = None
    amount: Amount
    interest_rate: OptAmount = None
    type: str | None = None
    c_time: OptMs = None


class LiquidationRecord(WireModel):
    """A forced liquidation. The document spells the fee ``LiqFee``; ``liqFee`` is accepted."""

    liq_id: str
    symbol: str | None = None
    liq_start_time: OptMs = None
    liq_end_time: OptMs = None
    liq_risk: OptAmount = None
    total_assets: OptAmount = None
    total_debt: OptAmount = None
    liq_fee: OptAmount = Field(default=None, validation_alias=AliasChoices("LiqFee", "liqFee"))
    c_time: OptMs = None


class FinFlowRecord(WireModel):
    """A finance-flow entry; ``margin_type`` as sent (``transfer_in``, ``borrow``, ...)."""

    margin_id: str
    symbol: str | None = None
    coin: str
    margin_type: str | None = None
    amount: Amount
    fee: OptAmount = None
    balance: OptAmount = None
    c_time: OptMs = None

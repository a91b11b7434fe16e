"""Typed records of the loan, repay, interest, liquidation and finance-flow lists.

``symbol`` is present in the isolated lists and absent in the cross lists, so it is optional.
One model serves both API versions: v2's names (``borrowAmount``, ``repayAmount`` /
``repayPrincipal`` / ``repayInterest``, ``interestAmount``, ``liqRiskRatio``...) are accepted
and its snake_case or hyphenated types (``auto_repay``, ``auto-repay``) are read as v1's
camelCase words (``autoRepay``), so reconciliation compares one vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import AliasChoices, Field, field_validator, model_validator

from riskd.bitget.models import Amount, OptAmount, OptMs, WireModel, either, either_opt


def camel_type(value: object) -> object:
    """``auto_repay`` / ``auto-repay`` → ``autoRepay``; other values unchanged."""
    if not isinstance(value, str) or not ("_" in value or "-" in value):
        return value
    head, *rest = value.replace("-", "_").split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


class LoanRecord(WireModel):
    loan_id: str
    symbol: str | None = None
    coin: str
    amount: Amount = either("amount", "borrowAmount")
    type: str | None = either_opt("type", "borrowType")
    c_time: OptMs = None

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: object) -> object:
        return camel_type(value)


class RepayRecord(WireModel):
    """v1: ``totalAmount`` = ``amount`` (principal) + ``interest``. v2: ``repayAmount`` is the
    total, ``repayPrincipal`` and ``repayInterest`` its parts."""

    repay_id: str
    symbol: str | None = None
    coin: str
    amount: Amount
    total_amount: OptAmount = None
    interest: OptAmount = None
    type: str | None = None
    c_time: OptMs = None

    @model_validator(mode="before")
    @classmethod
    def _v2(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "repayAmount" in data and "amount" not in data:
            principal = data.get("repayPrincipal")
            data = {
                **data,
                "totalAmount": data["repayAmount"],
                "amount": principal if principal not in (None, "") else data["repayAmount"],
                "interest": data.get("repayInterest"),
                "type": data.get("repayType", data.get("type")),
            }
        return data

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: object) -> object:
        return camel_type(value)


class InterestRecord(WireModel):
    interest_id: str
    symbol: str | None = None
    interest_coin: str | None = None
    loan_coin: str | None = None
    amount: Amount = either("amount", "interestAmount")
    interest_rate: OptAmount = either_opt("interestRate", "dailyInterestRate")
    type: str | None = either_opt("type", "interstType", "interestType")
    c_time: OptMs = None


class LiquidationRecord(WireModel):
    """A forced liquidation. The document spells the fee ``LiqFee``; ``liqFee`` is accepted."""

    liq_id: str
    symbol: str | None = None
    liq_start_time: OptMs = None
    liq_end_time: OptMs = None
    liq_risk: OptAmount = either_opt("liqRisk", "liqRiskRatio")
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

"""Decimal amounts: parsing from the wire and formatting for it. Never a float."""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

WIRE_DECIMALS = 8
_QUANT = Decimal(1).scaleb(-WIRE_DECIMALS)  # 0.00000001
ZERO = Decimal(0)


class AmountError(ValueError):
    """A value that is not a usable decimal amount."""


def to_decimal(value: object, *, field: str = "amount") -> Decimal:
    """Parse a wire value (str, int or Decimal) into a finite Decimal.

    Floats are refused: they cannot carry an exact amount.
    """
    if isinstance(value, (bool, float)):
        raise AmountError(f"{field}: {value!r} is not a decimal string (floats are refused)")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if text == "":
            raise AmountError(f"{field}: empty string is not an amount")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise AmountError(f"{field}: {value!r} is not a decimal number") from None
    else:
        raise AmountError(f"{field}: {type(value).__name__} is not a decimal amount")
    if not result.is_finite():
        raise AmountError(f"{field}: {value!r} is not finite")
    return result


def quantize_down(value: Decimal, decimals: int = WIRE_DECIMALS) -> Decimal:
    """Round toward zero to ``decimals`` places (never ask for more than we hold)."""
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_DOWN)


def to_wire(value: Decimal, decimals: int = WIRE_DECIMALS) -> str:
    """Format a Decimal as the exchange expects: plain notation, at most 8 decimals.

    Rounds toward zero and strips trailing zeros (``Decimal("1.50000000")`` → ``"1.5"``).
    """
    if not isinstance(value, Decimal):
        raise AmountError(f"to_wire expects a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise AmountError(f"{value!r} is not finite")
    q = quantize_down(value, decimals)
    text = format(q, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def fmt8(value: Decimal) -> str:
    """Format with exactly 8 decimals, as the exchange's responses do (``"1.00000000"``)."""
    return format(quantize_down(value), "f")


def for_people(value: Decimal, decimals: int = 4) -> str:
    """A Decimal for people (alerts, logs, skip reasons): at most ``decimals`` decimals, no
    trailing zeros, never exponent form (``0E-8`` reads ``0``); ``infinite`` for an infinite
    figure (the risk rate of a scope whose debt exceeds its assets)."""
    if not value.is_finite():
        return "NaN" if value.is_nan() else ("-infinite" if value < 0 else "infinite")
    text = format(value.quantize(Decimal(1).scaleb(-decimals)).normalize(), "f")
    return "0" if text in ("-0", "0") else text

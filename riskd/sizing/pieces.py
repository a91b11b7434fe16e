"""An order larger than the symbol's ``maxTradeAmount``, as up to ten orders in one batch call.

Bitget refuses a single order over ``maxTradeAmount``; its batch endpoints take up to 20
orders of one symbol and count 10 of them as one request ("10 orders per currency pair will
be counted as one request"). So a protective sale or buy-back that needs more than one
order's worth goes out as :data:`MAX_PIECES` orders at most, in one call, weighing one
request in the order budget: the whole amount leaves at once instead of one order per
re-poll. Pure: amounts in, amounts out.

The pieces are even (``amount / n`` each, rounded down to the exchange's decimals), not
``largest`` and a remainder: a small last piece could fall under the minimum order size.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from riskd.amounts import quantize_down

#: Orders in one batch call: ten count as one request in the exchange's window.
MAX_PIECES = 10


def piece_count(amount: Decimal, largest: Decimal) -> int:
    """How many orders of at most ``largest`` carry ``amount`` (at least 1)."""
    if largest <= 0 or amount <= largest:
        return 1
    return int((amount / largest).to_integral_value(rounding=ROUND_CEILING))


def split_even(amount: Decimal, largest: Decimal, decimals: int) -> tuple[Decimal, ...]:
    """``amount`` as ``piece_count`` even orders, each rounded down to ``decimals`` (their
    sum may fall short of ``amount`` by the rounding, never exceed it or ``largest``)."""
    n = piece_count(amount, largest)
    if n == 1:
        return (amount,)
    piece = quantize_down(amount / n, decimals)
    return tuple(piece for _ in range(n)) if piece > 0 else (amount,)


def piece_oid(first: str, index: int) -> str:
    """The clientOid of piece ``index`` (0-based) of an order whose own would be ``first``:
    ``first`` cut to 38 characters, a dash and the index (≤ 40 characters, Bitget's limit)."""
    if not 0 <= index < MAX_PIECES:
        raise ValueError(f"piece index {index} outside 0..{MAX_PIECES - 1}")
    return f"{first[:38]}-{index}"


__all__ = ["MAX_PIECES", "piece_count", "piece_oid", "split_even"]

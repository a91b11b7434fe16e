"""Splitting an order over maxTradeAmount into the even orders of one batch call."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskd.sizing.pieces import MAX_PIECES, piece_count, piece_oid, split_even


def test_an_amount_within_the_limit_is_one_order() -> None:
    """At or under the limit (or with no usable limit) nothing is split."""
    assert split_even(D("0.05"), D("0.05"), 4) == (D("0.05"),)
    assert piece_count(D(3), D(0)) == 1


def test_pieces_are_even_and_rounded_down() -> None:
    """0.23 BTC at 0.05 a piece: five orders of 0.046 (not four of 0.05 and a 0.03 rest)."""
    assert split_even(D("0.23"), D("0.05"), 4) == (D("0.046"),) * 5


@given(
    amount=st.decimals(min_value=D("0.0001"), max_value=D(1000), places=6),
    largest=st.decimals(min_value=D("0.001"), max_value=D(100), places=4),
)
def test_pieces_never_exceed_the_limit_or_the_amount(amount: D, largest: D) -> None:
    """Each piece is at most the limit; together they never exceed the amount."""
    pieces = split_even(amount, largest, 6)
    assert sum(pieces) <= amount
    assert len(pieces) == 1 or all(0 < p <= largest for p in pieces)


def test_piece_client_oids_stay_within_forty_characters() -> None:
    """Each piece's clientOid is the order's own (cut to 38) and a dash with the index."""
    first = "riskd-" + "f" * 32
    oids = [piece_oid(first, k) for k in range(MAX_PIECES)]
    assert len(set(oids)) == MAX_PIECES and all(len(o) <= 40 for o in oids)
    assert all(o.startswith("riskd-") for o in oids)
    with pytest.raises(ValueError, match="piece index"):
        piece_oid(first, MAX_PIECES)

"""The v3 (UTA) endpoint table: §6 of ENDPOINTS-v2.md, in the shared table, served by the sim."""

from __future__ import annotations

from pathlib import Path

import pytest

from riskd.bitget.endpoints import (
    ALL_ENDPOINTS,
    ENDPOINTS_V3,
    LimitScope,
    by_route,
    endpoint,
    endpoints,
    server_time,
)
from riskd.bitget.endpoints_v3 import PREFIX_V3, SERVER_TIME_PATH_V3
from riskd.budget.limit_table import LIMIT_TABLE
from riskd.sim.handlers_v3 import HANDLERS

#: The v3 paths §6 names that riskd declares (loan-data and switch are not declared).
SECTION_6_PATHS = (
    "/api/v3/account/assets",
    "/api/v3/account/repay",
    "/api/v3/account/repayable-coins",
    "/payment-coins",
    "/api/v3/trade/place-order",
    "/api/v3/market/position-tier",
    "/api/v3/account/settings",
)


@pytest.fixture
def section_6(reference_dir: Path) -> str:
    """§6 of ENDPOINTS-v2.md from tests/reference, else from ../shared/reference."""
    for candidate in (
        reference_dir / "ENDPOINTS-v2.md",
        reference_dir.parents[2] / "shared" / "reference" / "ENDPOINTS-v2.md",
    ):
        if candidate.is_file():
            return candidate.read_text().split("## 6.")[1].split("## 7.")[0]
    pytest.skip("ENDPOINTS-v2.md not found in tests/reference or ../shared/reference")


def test_every_section_6_path_riskd_needs_is_declared(section_6: str) -> None:
    """Each §6 path riskd uses is in §6 and in the table as a v3 endpoint."""
    for path in SECTION_6_PATHS:
        assert path in section_6, path
        full = path if path.startswith("/api/") else f"{PREFIX_V3}/account{path}"
        method = "POST" if path.endswith(("/repay", "/place-order")) else "GET"
        ep = by_route(method, full)
        assert ep is not None and ep.api == "v3", full


def test_documented_limits_are_the_tables(section_6: str) -> None:
    """§6 documents assets at 20/s UID and repay at 5/s UID; the table says the same."""
    assert "(20/s UID)" in section_6 and "(5/s UID;" in section_6
    assets, repay = endpoint("uta_assets", api="v3"), endpoint("uta_repay", api="v3")
    assert (assets.limit, assets.scope) == (20, LimitScope.UID)
    assert (repay.limit, repay.scope) == (5, LimitScope.UID)


def test_v3_entries_join_the_shared_table_with_unique_keys_and_paths() -> None:
    """v3 is in ALL_ENDPOINTS, every key is ``v3:…`` and no path collides with v1/v2."""
    assert set(ENDPOINTS_V3) <= set(ALL_ENDPOINTS)
    assert all(e.api == "v3" and e.key == f"v3:{e.name}" for e in ENDPOINTS_V3)
    assert all(e.path.startswith(PREFIX_V3 + "/") for e in ENDPOINTS_V3)
    assert len({e.path for e in ALL_ENDPOINTS}) == len(ALL_ENDPOINTS)
    assert endpoints("v3") == ENDPOINTS_V3
    assert server_time("v3").path == SERVER_TIME_PATH_V3


def test_money_and_order_moves_are_protective_mutating_posts() -> None:
    """Repay, place and cancel are protective, mutating POSTs; the reads are neither."""
    moves = {e.name for e in ENDPOINTS_V3 if e.protective}
    assert moves == {"uta_repay", "uta_place_order", "uta_cancel_order"}
    for e in ENDPOINTS_V3:
        assert e.mutating == e.protective
        assert (e.method == "POST") == e.protective, e.name


def test_order_body_has_no_loan_type_and_requires_category_and_qty() -> None:
    """A MARGIN order carries category, symbol, qty, side, orderType (no loanType, §6)."""
    place = endpoint("uta_place_order", api="v3")
    required = {p.name for p in place.params if p.required}
    assert required == {"category", "symbol", "qty", "side", "orderType"}
    assert place.param("loanType") is None and place.param("clientOid") is not None


def test_open_orders_page_on_the_replys_cursor() -> None:
    """Open orders page with ``cursor`` inside ``{list, cursor}``."""
    ep = endpoint("uta_open_orders", api="v3")
    assert (ep.paging, ep.items_key) == ("cursor", "list")


def test_the_budget_and_the_simulator_know_every_v3_endpoint() -> None:
    """Each v3 entry has a budget rule and a simulator handler."""
    for e in ENDPOINTS_V3:
        assert e.key in LIMIT_TABLE, e.key
        assert e.name in HANDLERS, e.name

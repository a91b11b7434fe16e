"""Typed methods for the Unified Trading Account (API v3) endpoints riskd uses.

:class:`UtaMethods` is a mixin over :class:`~riskd.bitget.client_core.ClientCore`: it works in
a client of any classic version (``api="v2"``) because it names the v3 table entries
(:mod:`riskd.bitget.endpoints_v3`) directly instead of looking names up in the client's own
table. Signing, clock offset, the rate gate, retries (never for the mutating repay, place and
cancel) and error mapping are the core's, unchanged: v3 signs like v2.

Answers in unexpected shapes are refused with :class:`~riskd.bitget.errors.MalformedResponseError`
naming the endpoint (with its path) and the field, as the v2 methods do. Orders always carry a
``clientOid`` (generated when not given) so that every order riskd sends can be found again.

Mode detection: :meth:`UtaMethods.uta_account_mode` reads the settings endpoint; a classic
account answers ``40084`` there (:mod:`riskd.bitget.codes_v3`), which is read as ``"classic"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from riskd.bitget.client_core import ClientCore
from riskd.bitget.client_params import new_client_oid
from riskd.bitget.codes_v3 import AccountMode, account_mode_of
from riskd.bitget.endpoint_types import Endpoint
from riskd.bitget.endpoints_v3 import (
    MARGIN_CATEGORY,
    UTA_ASSETS,
    UTA_CANCEL_ORDER,
    UTA_OPEN_ORDERS,
    UTA_ORDER_INFO,
    UTA_PAYMENT_COINS,
    UTA_PLACE_ORDER,
    UTA_POSITION_TIER,
    UTA_REPAY,
    UTA_REPAYABLE_COINS,
    UTA_SETTINGS,
)
from riskd.bitget.errors import MalformedResponseError, RequestParamError, RiskdExchangeError
from riskd.bitget.models_orders import CLIENT_OID_MAX
from riskd.bitget.models_uta import (
    UtaAssets,
    UtaCoinAmount,
    UtaOrder,
    UtaOrderResult,
    UtaRepayResult,
    UtaSettings,
    UtaTier,
    coin_list_items,
    order_info_payload,
    order_list_payload,
)

M = TypeVar("M", bound=BaseModel)

#: Open orders: rows per page asked for, and the most pages read in one call.
OPEN_ORDERS_PAGE = 100
OPEN_ORDERS_MAX_PAGES = 20
#: Codes read as "no such order" from order info (v2's; v3's own code is unconfirmed).
ORDER_NOT_FOUND = frozenset({"43001", "40109"})


def _summary(exc: ValidationError) -> str:
    parts = [
        f"{'.'.join(str(x) for x in e['loc']) or 'data'}: {e['msg']}" for e in exc.errors()[:3]
    ]
    more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return "; ".join(parts) + more


class UtaMethods(ClientCore):
    """Account figures, repay, MARGIN orders and cancels of a Unified Trading Account."""

    # ------------------------------------------------------------------ plumbing

    def _uta_malformed(self, ep: Endpoint, detail: str) -> MalformedResponseError:
        return MalformedResponseError(
            f"data does not match the document: {detail}",
            endpoint=f"{ep.name} ({ep.method} {ep.path})",
            outcome_unknown=ep.mutating,
        )

    async def _uta_data(self, ep: Endpoint, params: Mapping[str, object]) -> Any:
        sent = {k: v for k, v in params.items() if v is not None}
        return (await self.request(ep, sent)).get("data")

    def _uta_model(self, ep: Endpoint, model: type[M], data: object) -> M:
        if not isinstance(data, Mapping):
            got = "null" if data is None else type(data).__name__
            raise self._uta_malformed(ep, f"data: expected an object, got {got}")
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise self._uta_malformed(ep, _summary(exc)) from None

    def _uta_rows(self, ep: Endpoint, model: type[M], rows: Sequence[object]) -> tuple[M, ...]:
        try:
            return tuple(model.model_validate(row) for row in rows)
        except ValidationError as exc:
            raise self._uta_malformed(ep, _summary(exc)) from None

    # ------------------------------------------------------------------ account

    async def uta_assets(self) -> UtaAssets:
        """The account-wide margin figures (``mgnRatio``, ``mmr``, ``imr``, ``effEquity``,
        ``accountEquity``) and every coin's equity, available balance and debt."""
        return self._uta_model(UTA_ASSETS, UtaAssets, await self._uta_data(UTA_ASSETS, {}))

    async def uta_settings(self) -> UtaSettings:
        """The account settings (mode fields optional: the sources disagree)."""
        data = await self._uta_data(UTA_SETTINGS, {})
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        return self._uta_model(UTA_SETTINGS, UtaSettings, data)

    async def uta_account_mode(self) -> AccountMode:
        """``"unified"`` when the settings endpoint answers, ``"classic"`` when it refuses
        with 40084; any other error is raised."""
        try:
            await self.uta_settings()
        except RiskdExchangeError as exc:
            mode = account_mode_of(exc.code)
            if mode is None:
                raise
            return mode
        return "unified"

    async def _coin_list(self, ep: Endpoint) -> tuple[UtaCoinAmount, ...]:
        data = await self._uta_data(ep, {})
        try:
            rows = coin_list_items(data)
        except ValueError as exc:
            raise self._uta_malformed(ep, str(exc)) from None
        return self._uta_rows(ep, UtaCoinAmount, rows)

    async def uta_repayable_coins(self) -> tuple[UtaCoinAmount, ...]:
        """The coins with debt that can be repaid now."""
        return await self._coin_list(UTA_REPAYABLE_COINS)

    async def uta_payment_coins(self) -> tuple[UtaCoinAmount, ...]:
        """The coins that can pay a repay."""
        return await self._coin_list(UTA_PAYMENT_COINS)

    async def uta_repay(
        self, *, repayable_coins: Sequence[str], payment_coins: Sequence[str]
    ) -> UtaRepayResult:
        """Repay the debt of ``repayable_coins`` with ``payment_coins``. UTA has no client id
        for it: after a timeout (``outcome_unknown``) re-read the assets. Mutating: never
        retried."""
        if not repayable_coins or not payment_coins:
            raise RequestParamError(
                "uta_repay: repayable_coins and payment_coins must not be empty"
            )
        params = {
            "repayableCoinList": list(repayable_coins),
            "paymentCoinList": list(payment_coins),
        }
        data = await self._uta_data(UTA_REPAY, params)
        return self._uta_model(UTA_REPAY, UtaRepayResult, data)

    # ------------------------------------------------------------------ orders

    async def uta_place_margin_order(
        self,
        *,
        symbol: str,
        side: Literal["buy", "sell"],
        order_type: Literal["limit", "market"],
        qty: Decimal,
        price: Decimal | None = None,
        time_in_force: Literal["gtc", "post_only", "fok", "ioc"] | None = None,
        client_oid: str | None = None,
    ) -> UtaOrderResult:
        """Place a spot-margin (``category=MARGIN``) order; ``qty`` in the base coin (⚠ for a
        market buy, see :mod:`riskd.bitget.endpoints_v3`). The answer's ``client_oid`` is the
        one sent (generated when not given). Mutating: never retried."""
        if order_type == "limit" and price is None:
            raise RequestParamError("uta_place_margin_order: a limit order needs a price")
        oid = client_oid or new_client_oid()
        if len(oid) > CLIENT_OID_MAX:
            raise RequestParamError(
                f"uta_place_margin_order: clientOid longer than {CLIENT_OID_MAX} characters"
            )
        params: dict[str, object | None] = {
            "category": MARGIN_CATEGORY,
            "symbol": symbol,
            "qty": qty,
            "price": price,
            "side": side,
            "orderType": order_type,
            "timeInForce": time_in_force,
            "clientOid": oid,
        }
        data = await self._uta_data(UTA_PLACE_ORDER, params)
        result = self._uta_model(UTA_PLACE_ORDER, UtaOrderResult, data)
        return result if result.client_oid else result.model_copy(update={"client_oid": oid})

    async def uta_cancel_order(
        self,
        *,
        order_id: str | None = None,
        client_oid: str | None = None,
        symbol: str | None = None,
    ) -> UtaOrderResult:
        """Cancel one order by ``order_id`` or ``client_oid``. Mutating: never retried."""
        if order_id is None and client_oid is None:
            raise RequestParamError("uta_cancel_order: give order_id or client_oid")
        params = {
            "orderId": order_id,
            "clientOid": client_oid,
            "category": MARGIN_CATEGORY if symbol is not None else None,
            "symbol": symbol,
        }
        data = await self._uta_data(UTA_CANCEL_ORDER, params)
        return self._uta_model(UTA_CANCEL_ORDER, UtaOrderResult, data)

    async def uta_open_orders(
        self, *, symbol: str | None = None, page_size: int = OPEN_ORDERS_PAGE
    ) -> tuple[UtaOrder, ...]:
        """Every open MARGIN order (of ``symbol``, or all), ``page_size`` a page, following
        the reply's ``cursor`` for at most :data:`OPEN_ORDERS_MAX_PAGES` pages."""
        out: list[UtaOrder] = []
        cursor: str | None = None
        for _ in range(OPEN_ORDERS_MAX_PAGES):
            params = {
                "category": MARGIN_CATEGORY,
                "symbol": symbol,
                "limit": page_size,
                "cursor": cursor,
            }
            data = await self._uta_data(UTA_OPEN_ORDERS, params)
            try:
                rows, next_cursor = order_list_payload(data)
            except ValueError as exc:
                raise self._uta_malformed(UTA_OPEN_ORDERS, str(exc)) from None
            out.extend(self._uta_rows(UTA_OPEN_ORDERS, UtaOrder, rows))
            if len(rows) < page_size or next_cursor is None or next_cursor == cursor:
                break
            cursor = next_cursor
        return tuple(out)

    async def uta_order_info(
        self, *, client_oid: str | None = None, order_id: str | None = None
    ) -> UtaOrder | None:
        """One order (open or done) by ``client_oid`` or ``order_id``; ``None`` when the
        exchange knows no such order (code 43001 / 40109, or an empty answer). Any other
        failure is raised: the order's fate is then unknown, not "absent"."""
        if order_id is None and client_oid is None:
            raise RequestParamError("uta_order_info: give order_id or client_oid")
        params = {"orderId": order_id, "clientOid": client_oid}
        try:
            data = await self._uta_data(UTA_ORDER_INFO, params)
        except RiskdExchangeError as exc:
            if exc.code in ORDER_NOT_FOUND:
                return None
            raise
        try:
            row = order_info_payload(data)
        except ValueError as exc:
            raise self._uta_malformed(UTA_ORDER_INFO, str(exc)) from None
        if row is None:
            return None
        return self._uta_rows(UTA_ORDER_INFO, UtaOrder, [row])[0]

    # ------------------------------------------------------------------ public

    async def uta_position_tiers(
        self, *, symbol: str | None = None, coin: str | None = None
    ) -> tuple[UtaTier, ...]:
        """The MARGIN position tiers (maintenance margin rate per tier) of a symbol or coin."""
        params = {"category": MARGIN_CATEGORY, "symbol": symbol, "coin": coin}
        data = await self._uta_data(UTA_POSITION_TIER, params)
        if data is None:
            return ()
        if not isinstance(data, list):
            raise self._uta_malformed(
                UTA_POSITION_TIER, f"data: expected a list, got {type(data).__name__}"
            )
        return self._uta_rows(UTA_POSITION_TIER, UtaTier, data)

"""The rate-budget slot of a protective call, taken before the call is sized.

An order that waited for its turn in the 5/s order limit must not go out sized on the prices
from before its wait. :class:`OrderSlots` asks the account's gate for the slot of the call an
action is about to make (``reserve``, :class:`riskd.bitget.gate.SlotGate`) inside a
:func:`~riskd.bitget.gate.slot_hold`; the runner then sizes the call on the freshest data and
journals its intent, and the call itself passes the gate at once. Kinds with no single call
(``cancelOrders``: reads, then batches) reserve nothing. The slot is asked for at the scope's
:func:`nearness` to liquidation (each leg at its own, after the legs before).

A Unified Trading Account (API ``v3``, one book) reserves its order's slot for a ``reduce``
(the repay of what the order bought follows it, in its own slot) and its repay's for a
``repay`` or the account-wide repay a flashRepay stands for.
"""

from __future__ import annotations

import logging
import math

from riskd.bitget.endpoint_types import Api
from riskd.bitget.endpoints import Endpoint, endpoint
from riskd.bitget.gate import SlotGate, current_priority
from riskd.budget.errors import BudgetExhausted
from riskd.clock import Clock
from riskd.risk.derived import MissingData, min_distance_to_liquidation
from riskd.risk.snapshot import CROSS, ScopeSnapshot

log = logging.getLogger(__name__)

#: Action kind → the endpoint (per margin mode) of its one call.
CALLS = {"reduce": "place_order", "repay": "repay", "flashRepay": "flash_repay"}
#: The same for a Unified Trading Account (API v3): one book, no margin mode in the name.
UTA_CALLS = {"reduce": "uta_place_order", "repay": "uta_repay", "flashRepay": "uta_repay"}


def nearness(snap: ScopeSnapshot | None) -> float:
    """How far ``snap``'s scope is from liquidation, for ordering only: the smallest adverse
    price move that liquidates it; where that cannot be computed (tier data missing), the
    room left below the liquidation ratio; inf with no data."""
    if snap is None:
        return math.inf
    try:
        return float(min_distance_to_liquidation(snap))
    except (MissingData, ArithmeticError):
        room = snap.liquidation_risk_ratio - snap.risk_rate
        return float(room) if room > 0 else 0.0


class OrderSlots:
    """Reserves an action's call slot in one account's rate budget."""

    def __init__(self, gate: SlotGate, api: Api, clock: Clock) -> None:
        self._gate = gate
        self._api = api
        self._clock = clock

    def endpoint_for(self, kind: str, scope: str) -> Endpoint | None:
        """The endpoint an action of ``kind`` on ``scope`` calls (None: not one call)."""
        if self._api == "v3":
            name = UTA_CALLS.get(kind)
            return None if name is None else endpoint(name, "v3")
        call = CALLS.get(kind)
        if call is None:
            return None
        margin = "cross" if scope == CROSS else "isolated"
        return endpoint(f"{margin}_{call}", self._api)

    async def reserve(self, kind: str, scope: str) -> float:
        """Wait for the slot (at the current priority and nearness); the seconds waited.
        When the budget would not give one in time the call waits for it itself, as before."""
        ep = self.endpoint_for(kind, scope)
        if ep is None:
            return 0.0
        started = self._clock.now()
        try:
            await self._gate.reserve(ep, current_priority())
        except BudgetExhausted as exc:
            log.warning("no slot reserved for %s on %s: %s", kind, scope, exc)
        return self._clock.now() - started

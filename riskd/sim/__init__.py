"""The simulated Bitget margin exchange: ASGI app, ledger, market, scenarios, faults."""

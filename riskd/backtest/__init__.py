"""``riskd backtest``: replay rules over candle history (see docs/backtest.md)."""

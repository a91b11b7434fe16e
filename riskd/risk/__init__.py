"""Pure risk core: account snapshots and risk-rate math. No I/O, no clock."""

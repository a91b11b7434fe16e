"""The I/O shell: wiring, poller, executors (live/dry-run), journal, reconciliation."""

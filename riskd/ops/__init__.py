"""Operations: systemd notify, structured logs, metrics and health.

- :mod:`riskd.ops.sdnotify` — ``SystemdNotifier`` (READY, WATCHDOG, RELOADING, STOPPING, STATUS).
- :mod:`riskd.ops.logging` — ``configure_logging``, ``log_for`` (redacting structlog pipeline).
- :mod:`riskd.ops.metrics` — ``Metrics`` (Prometheus series in a private registry).
- :mod:`riskd.ops.health` — ``HealthState`` (has the scheduler ticked recently?).
- :mod:`riskd.ops.server` — ``start_ops_server`` (``/metrics`` and ``/healthz`` via uvicorn).
- :mod:`riskd.ops.fake_notify` — ``FakeNotifySocket``, a stand-in systemd socket for tests.
"""

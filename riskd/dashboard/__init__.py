"""The local dashboard: risk gauges, a live timeline, the journal, rule states and the
request budget in a browser, served by the ops server under ``/dashboard``
(docs/dashboard.md). Read-only unless a write token is configured (pause and resume).

Modules: :mod:`~riskd.dashboard.app` (``make_dashboard``, the routes),
:mod:`~riskd.dashboard.settings` (the ``[dashboard]`` table, imported by every command, so
this package imports nothing eagerly), :mod:`~riskd.dashboard.stream` (SSE),
:mod:`~riskd.dashboard.state` (the journal's view), :mod:`~riskd.dashboard.wiring`.
"""

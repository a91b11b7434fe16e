"""Routing: which routes (and through them which channels) an alert goes to. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from riskd.notify.alert import Alert
from riskd.notify.settings import NotifySettings


@dataclass(frozen=True, slots=True)
class Routed:
    """Where one alert goes: route names in settings order; ``fallback`` if none took it."""

    routes: tuple[str, ...]
    via_fallback: bool = False


class Router:
    """Matches alerts to routes by severity and tags (see :class:`RouteSettings`)."""

    def __init__(self, settings: NotifySettings) -> None:
        self._routes = settings.routes
        self._fallback = settings.fallback

    @property
    def fallback(self) -> str | None:
        return self._fallback

    def route(self, alert: Alert) -> Routed:
        """Routes that take ``alert``; the fallback route when none does; else nothing."""
        names = tuple(r.name for r in self._routes if r.takes(alert.severity, alert.tags))
        if names:
            return Routed(names)
        if self._fallback is not None:
            return Routed((self._fallback,), via_fallback=True)
        return Routed(())

"""The rate limits the budget enforces, derived from the endpoint table — never re-declared.

Every endpoint of :mod:`riskd.bitget.endpoints`, v1 and v2, has its own limit (``limit``
requests per ``window_s`` seconds) counted per IP or per UID (``scope``). A limit is named by
the endpoint's :attr:`~riskd.bitget.endpoints.Endpoint.key`, unique across versions
(``cross_assets`` for v1, ``v2:cross_assets`` for v2): a v2 call counts against the v2 limit,
never against its v1 counterpart's, which shares its logical ``name``. Unsigned public
endpoints also share one more limit, :data:`PUBLIC_GLOBAL_LIMIT` per
:data:`PUBLIC_GLOBAL_WINDOW_S` seconds per IP; it is the rule named :data:`PUBLIC_GLOBAL`.

A :class:`LimitKey` is one rule counted for one identity: the IP group name (default
``"local"``) for IP-scoped rules, the account identity (UID or account name, never a secret)
for UID-scoped ones.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from riskd.bitget.endpoints import (
    ALL_ENDPOINTS,
    PUBLIC_GLOBAL_LIMIT,
    PUBLIC_GLOBAL_WINDOW_S,
    Endpoint,
    LimitScope,
)

#: Name of the rule shared by every unsigned public endpoint.
PUBLIC_GLOBAL = "public_global"

#: Identities (IP group names, account identities) become parts of storage keys.
IDENTITY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$")


@dataclass(frozen=True, slots=True)
class LimitRule:
    """A documented limit: ``limit`` requests per ``window_s`` seconds, counted per ``scope``."""

    name: str
    limit: int
    window_s: int
    scope: LimitScope

    @property
    def rate_per_s(self) -> float:
        return self.limit / self.window_s

    def describe(self) -> str:
        return f"{self.scope.value} limit {self.limit}/{self.window_s}s"


@dataclass(frozen=True, slots=True)
class LimitKey:
    """One rule counted for one identity (IP group or account)."""

    rule: LimitRule
    identity: str

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def scope(self) -> LimitScope:
        return self.rule.scope

    @property
    def label(self) -> str:
        """``cross_repay/UID/main`` — used in status, metrics and storage keys."""
        return f"{self.rule.name}/{self.rule.scope.value}/{self.identity}"

    def describe(self) -> str:
        who = "IP group" if self.rule.scope is LimitScope.IP else "account"
        return f"{self.rule.name} ({self.rule.describe()}, {who} {self.identity!r})"


PUBLIC_GLOBAL_RULE = LimitRule(
    PUBLIC_GLOBAL, PUBLIC_GLOBAL_LIMIT, PUBLIC_GLOBAL_WINDOW_S, LimitScope.IP
)


def endpoint_rule(ep: Endpoint) -> LimitRule:
    """The endpoint's own limit, read from its table entry (named by its version-unique key)."""
    return LimitRule(ep.key, ep.limit, ep.window_s, ep.scope)


def rules_for(ep: Endpoint) -> tuple[LimitRule, ...]:
    """Every limit a call of ``ep`` counts against: its own, plus the public global rule."""
    own = endpoint_rule(ep)
    return (own, PUBLIC_GLOBAL_RULE) if ep.public else (own,)


#: Endpoint key (``cross_assets``, ``v2:cross_assets``) → the rules its calls count against,
#: for both versions of the table.
LIMIT_TABLE: Mapping[str, tuple[LimitRule, ...]] = MappingProxyType(
    {ep.key: rules_for(ep) for ep in ALL_ENDPOINTS}
)
_BY_KEY: Mapping[str, Endpoint] = MappingProxyType({ep.key: ep for ep in ALL_ENDPOINTS})


def endpoint_by_key(key: str) -> Endpoint:
    """The endpoint whose :attr:`Endpoint.key` is ``key`` (a v1 name is its own key);
    ``KeyError`` naming it otherwise."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(
            f"no endpoint named {key!r} (v1 names are plain, v2 ones start with 'v2:')"
        ) from None


def check_identity(value: str, what: str) -> str:
    """Return ``value`` if it can name a limit key; a ValueError naming ``what`` otherwise."""
    if not isinstance(value, str) or not IDENTITY.match(value):
        raise ValueError(
            f"{what} {value!r} cannot key a rate limit: use 1–64 letters, digits or '_.:@-', "
            "starting with a letter or digit"
        )
    return value


def keys_for(ep: Endpoint, *, ip_group: str, account: str) -> tuple[LimitKey, ...]:
    """The limit keys a call of ``ep`` by ``account`` counts against."""
    return tuple(
        LimitKey(rule, ip_group if rule.scope is LimitScope.IP else account)
        for rule in rules_for(ep)
    )


def api_key_identity(api_key: str) -> str:
    """A stable, non-secret account identity derived from an API key (for UID limits when
    the account's UID is not configured): ``key-`` and 16 hex digits of its SHA-256."""
    return "key-" + hashlib.sha256(api_key.encode()).hexdigest()[:16]
